"""The erasure plan: which of a subject's tables are kept, emptied or deleted (see :mod:`.erasure`).

:func:`plan` reads every personal column's retention rule and the subject's
legal holds and says, per table, whether its rows go, its erased columns are set
to NULL, or it is kept as evidence; tables the database empties by cascade are
left to it.  Pure: it reads the schema and the pack, never the database.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from doorstep.privacy.datamap.pack import PolicyPack, Trigger
from doorstep.privacy.holds.elements import Held, keeps_key
from doorstep.privacy.requests.linkage import (
    Direct,
    Through,
    Unlinkable,
    link_of,
    personal_columns,
    personal_tables,
)

KEPT_TRIGGERS = frozenset({Trigger.REQUEST_CLOSED, Trigger.DEVICE_OFFLINE})
KEPT_RULES = frozenset({"audit_trail"})
#: Nothing held: the plan of a subject without a standing legal hold.
NOTHING = Held()


@dataclass(frozen=True, slots=True)
class TableStep:
    """What erasure does to a table.

    ``delete``, ``anonymise`` (``columns`` to NULL), ``keep``, ``cascade`` (the
    foreign keys do it), ``held`` (kept for a legal hold, or because a held row
    hangs on it) or ``unlinkable``.
    """

    table: str
    action: str
    columns: tuple[str, ...] = ()


def _kept(pack: PolicyPack, rule: str) -> bool:
    found = pack.retention.get(rule)
    return rule in KEPT_RULES or (found is not None and found.trigger in KEPT_TRIGGERS)


def _cascades(table: sa.Table) -> bool:
    """Whether deleting the ``subjects`` row reaches this table through the foreign keys."""
    for column in table.columns:
        for fk in column.foreign_keys:
            if fk.ondelete not in ("CASCADE", "SET NULL"):
                continue
            target = fk.column.table
            if target.name == "subjects" or _cascades(target):
                return True
    return False


def _cascade_parents(table: sa.Table) -> set[str]:
    """Tables whose deletion would reach ``table``'s rows through cascading foreign keys."""
    found: set[str] = set()
    for column in table.columns:
        for fk in column.foreign_keys:
            if fk.ondelete in ("CASCADE", "SET NULL"):
                parent = fk.column.table
                found |= {str(parent.name)} | _cascade_parents(parent)
    return found


def _link_columns(table: sa.Table) -> frozenset[str]:
    """The columns that tie a row to its subject: a partial erasure never empties them."""
    link = link_of(table)
    return frozenset({link.column}) if isinstance(link, Direct | Through) else frozenset()


def _held_step(table: sa.Table, erased: tuple[str, ...], held: Held) -> TableStep:
    """A table with held columns: the rest of its personal columns go where they may be NULL
    (a NOT NULL column stays with the row the hold keeps).  A table with CHECK constraints
    keeps the whole row: emptying part of it could break a rule of its own (an open
    account has a password)."""
    spared = held.columns(str(table.name)) | _link_columns(table)
    rest = tuple(name for name in erased if name not in spared and table.c[name].nullable)
    checked = any(isinstance(rule, sa.CheckConstraint) for rule in table.constraints)
    if rest and not checked:
        return TableStep(str(table.name), "anonymise", rest)
    return TableStep(str(table.name), "held")


def plan(metadata: sa.MetaData, pack: PolicyPack, held: Held = NOTHING) -> list[TableStep]:
    """The erasure plan for every linked personal table (``subjects`` itself last).

    With ``held`` (a subject's standing legal holds) the ``subjects`` row stays, so
    nothing cascades: every table is deleted or anonymised by the plan itself,
    except what the holds keep (see the module docstring).
    """
    tables = personal_tables(metadata)
    anchored: set[str] = {"subject_keys"} if keeps_key(metadata, held) else set()
    for table in tables:
        if held.touches(str(table.name)):
            anchored |= _cascade_parents(table)
    steps = []
    for table in tables:
        name = str(table.name)
        if name == "subjects":
            continue
        erased = tuple(c.name for c, d in personal_columns(table) if not _kept(pack, d.retention))
        if isinstance(link_of(table), Unlinkable):
            steps.append(TableStep(name, "unlinkable"))
        elif not erased:
            steps.append(TableStep(name, "keep"))
        elif held and (held.table(name) or name in anchored):
            steps.append(TableStep(name, "held"))
        elif held.columns(name):
            steps.append(_held_step(table, erased, held))
        elif not held and _cascades(table):
            steps.append(TableStep(name, "cascade", erased))
        elif len(erased) == len(personal_columns(table)):
            steps.append(TableStep(name, "delete"))
        else:
            steps.append(TableStep(name, "anonymise", erased))
    return steps
