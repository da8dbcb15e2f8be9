"""The README of an export: what each field is, why we hold it, who gets it, for how long.

A table's section depends only on the schema and the pack, so it is written
once per (schema, pack) and reused by every export; only the list of tables
with rows changes from one subject to the next.
"""

from __future__ import annotations

import sqlalchemy as sa

from doorstep.core.memo import by_identity
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.requests.linkage import personal_columns

_HEAD = (
    "# Your data\n\n"
    "`data.json` holds every item of personal data we keep about you, by table; "
    "`csv/` holds the same, one file per table; `schema.json` describes `data.json`.\n"
)


def _purposes(pack: PolicyPack, keys: tuple[str, ...]) -> str:
    return "; ".join(
        f"{key} ({pack.purposes[key].description})" if key in pack.purposes else key for key in keys
    )


def _retention(pack: PolicyPack, key: str) -> str:
    rule = pack.retention.get(key)
    return " ".join(rule.description.split()) if rule else key


@by_identity
def section(metadata: sa.MetaData, pack: PolicyPack, name: str) -> str:
    """The README section of table ``name`` (cached per schema and pack)."""
    lines = [f"## {name}", ""]
    for column, declaration in personal_columns(metadata.tables[name]):
        recipients = ", ".join(declaration.recipients) or "nobody outside the operator"
        lines += [
            f"- **{column.name}** — {declaration.description or declaration.category}",
            f"  - category: {declaration.category}",
            f"  - purposes: {_purposes(pack, declaration.purposes)}",
            f"  - legal basis: {declaration.legal_basis.value}",
            f"  - recipients: {recipients}",
            f"  - retention: {_retention(pack, declaration.retention)}",
        ]
    return "\n".join(lines) + "\n"


def readme(
    metadata: sa.MetaData, pack: PolicyPack, tables: list[str], left_out: dict[str, str]
) -> str:
    """Markdown naming every exported field with its purpose, basis, recipients and retention."""
    parts = [_HEAD, *(section(metadata, pack, name) for name in tables)]
    if left_out:
        parts.append(
            "## Not included\n\n"
            + "\n".join(f"- **{name}**: {reason}" for name, reason in sorted(left_out.items()))
            + "\n"
        )
    return "\n".join(parts)
