"""The README of an export: what each field is, why we hold it, who gets it, for how long."""

from __future__ import annotations

import sqlalchemy as sa

from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.requests.linkage import personal_columns


def _purposes(pack: PolicyPack, keys: tuple[str, ...]) -> str:
    return "; ".join(
        f"{key} ({pack.purposes[key].description})" if key in pack.purposes else key for key in keys
    )


def _retention(pack: PolicyPack, key: str) -> str:
    rule = pack.retention.get(key)
    return " ".join(rule.description.split()) if rule else key


def readme(
    metadata: sa.MetaData, pack: PolicyPack, tables: list[str], left_out: dict[str, str]
) -> str:
    """Markdown naming every exported field with its purpose, basis, recipients and retention."""
    lines = [
        "# Your data",
        "",
        "`data.json` holds every item of personal data we keep about you, by table; "
        "`csv/` holds the same, one file per table; `schema.json` describes `data.json`.",
        "",
    ]
    for name in tables:
        lines += [f"## {name}", ""]
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
        lines.append("")
    if left_out:
        lines += ["## Not included", ""]
        lines += [f"- **{name}**: {reason}" for name, reason in sorted(left_out.items())]
        lines.append("")
    return "\n".join(lines)
