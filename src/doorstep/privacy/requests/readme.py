"""The README of an export: what each field is, why we hold it, who gets it, for how long.

Each table's section also says what the export shows of each element — its
value, a sentence in its place (and why), or nothing (and why) — and lists the
context fields (ids, times, actions) that are not personal data themselves.

A table's section depends only on the schema and the pack, so it is written
once per (schema, pack) and reused by every export; only the list of tables
with rows changes from one subject to the next.
"""

from __future__ import annotations

import sqlalchemy as sa

from doorstep.core.memo import by_identity
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.requests.export_fields import fields, omitted_columns
from doorstep.vocabulary.declarations import NotPersonal, PersonalData
from doorstep.vocabulary.export_decisions import ExportAs, ExportDecision

_HEAD = (
    "# Your data\n\n"
    "`data.json` holds every item of personal data we keep about you, by table; "
    "`csv/` holds the same, one file per table; `schema.json` describes `data.json`.\n\n"
    "Passwords, tokens, one-time codes and their hashes are never included: where one is "
    'set, a sentence says so ("A password is set, last changed on 2025-03-01."). Rows also '
    "carry the ids and times that tie them together (an event's time and action, a request's "
    "reference, a device's id); those are marked *context*.\n"
)

_SHOWN = {
    ExportAs.VALUE: "the value",
    ExportAs.DESCRIPTION: "a sentence saying whether it is set, never the value",
}


def _purposes(pack: PolicyPack, keys: tuple[str, ...]) -> str:
    return "; ".join(
        f"{key} ({pack.purposes[key].description})" if key in pack.purposes else key for key in keys
    )


def _retention(pack: PolicyPack, key: str) -> str:
    rule = pack.retention.get(key)
    return " ".join(rule.description.split()) if rule else key


def _shown(decision: ExportDecision) -> str:
    text = _SHOWN.get(decision.how, "not included")
    return f"{text} ({decision.reason})" if decision.reason else text


def _element(name: str, declaration: PersonalData, pack: PolicyPack) -> list[str]:
    recipients = ", ".join(declaration.recipients) or "nobody outside the operator"
    return [
        f"- **{name}** — {declaration.description or declaration.category}",
        f"  - in this export: {_shown(declaration.export)}",
        f"  - category: {declaration.category}",
        f"  - purposes: {_purposes(pack, declaration.purposes)}",
        f"  - legal basis: {declaration.legal_basis.value}",
        f"  - recipients: {recipients}",
        f"  - retention: {_retention(pack, declaration.retention)}",
    ]


@by_identity
def section(metadata: sa.MetaData, pack: PolicyPack, name: str) -> str:
    """The README section of table ``name`` (cached per schema and pack)."""
    table = metadata.tables[name]
    lines = [f"## {name}", ""]
    for field in fields(table):
        declaration = field.declaration
        if isinstance(declaration, PersonalData):
            lines += _element(field.name, declaration, pack)
        elif isinstance(declaration, NotPersonal):
            lines.append(f"- **{field.name}** — context (not personal data): {declaration.reason}")
    for column, declaration in omitted_columns(table):
        lines += _element(column, declaration, pack)
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
