"""The checks of the collection points and the policy's purposes that need the schema.

The reader (:mod:`doorstep.privacy.datamap.pack_collection`,
:mod:`~doorstep.privacy.datamap.pack_policy_purposes`) checks each section on its
own; :func:`register_problems` checks them against the schema, the connected
systems and the consent terms (decision 0036), each problem at its line of
``datamap.yaml``:

* **collection points** (CORP-1.1), when the pack has a registry: a point's
  ``records`` names a table of the schema that has a ``source`` column; every
  point the code writes into such a column (its declaration,
  :mod:`doorstep.privacy.datamap.record_sources`) is registered for that table;
  a ``connected_system`` point names a system of ``systems.yaml``;
* **the policy's purposes** (CORP-1.2): ``text`` is a file of the pack; every
  entry has data categories, i.e. some element (a column or a connected system's
  element) is processed for one of its pack purposes; an entry that requires
  consent maps only to consent-based purposes — the consent terms list them, or
  every element processed for them rests on consent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from doorstep.core.errors import ConfigurationError
from doorstep.packcheck.texts import Problem
from doorstep.privacy.datamap.pack import DATAMAP_FILE, PolicyPack
from doorstep.privacy.datamap.pack_collection import SECTION as POINTS
from doorstep.privacy.datamap.pack_lines import line_of
from doorstep.privacy.datamap.pack_policy_purposes import SECTION as PURPOSES
from doorstep.privacy.datamap.record_sources import SOURCE, source_tables
from doorstep.privacy.datamap.registry import personal_elements
from doorstep.privacy.datamap.ropa_registers import schema_categories
from doorstep.vocabulary.declarations import LegalBasis


def _section(raw: Any, name: str) -> Any:
    return raw.get(name) if isinstance(raw, dict) else None


def _point_problems(pack: PolicyPack, metadata: sa.MetaData, raw: Any) -> Iterator[Problem]:
    section = _section(raw, POINTS)
    collected = source_tables(metadata)
    for key, point in pack.collection_points.items():
        spec = section.get(key) if isinstance(section, dict) else None
        where = line_of(spec, "records") or line_of(section, key)
        for table in point.records:
            if table not in metadata.tables:
                yield Problem(
                    DATAMAP_FILE,
                    where,
                    f"collection point {key!r} records {table!r}, which is no table of the schema",
                )
            elif table not in collected:
                yield Problem(
                    DATAMAP_FILE,
                    where,
                    f"collection point {key!r} records {table!r}, which has no {SOURCE!r} column",
                )
        if point.system and point.system not in pack.systems.systems:
            yield Problem(
                DATAMAP_FILE,
                line_of(spec, "system") or line_of(section, key),
                f"collection point {key!r} names unknown connected system {point.system!r}",
            )
    for table, points in collected.items():
        for key in points:
            registered = pack.collection_points.get(key)
            if registered is None or table not in registered.records:
                yield Problem(
                    DATAMAP_FILE,
                    line_of(section, key) or line_of(raw, POINTS),
                    f"{table}.{SOURCE}: the code collects rows at {key!r}, which no collection "
                    f"point registers for {table!r} (CORP-1.1)",
                )


def _consent_based(pack: PolicyPack, metadata: sa.MetaData) -> frozenset[str] | None:
    """The pack's consent-based purposes (None when its consent terms cannot be read)."""
    from doorstep.privacy.consent.terms import load_terms

    try:
        listed = load_terms(pack).consent_purposes
    except ConfigurationError:
        return None  # reported with consent.yaml's problems
    bases: dict[str, set[LegalBasis]] = {}
    for _, declaration in personal_elements(metadata):
        for purpose in declaration.purposes:
            bases.setdefault(purpose, set()).add(declaration.legal_basis)
    for _, item in pack.systems.elements():
        for purpose in item.purposes:
            bases.setdefault(purpose, set()).add(item.legal_basis)
    return listed | {key for key, found in bases.items() if found == {LegalBasis.CONSENT}}


def _purpose_problems(pack: PolicyPack, metadata: sa.MetaData, raw: Any) -> Iterator[Problem]:
    listed = pack.policy_purposes
    if listed is None:
        return
    spec = _section(raw, PURPOSES)
    listed_entries = _section(spec, "purposes")
    entries = {
        str(entry.get("id")): entry
        for entry in (listed_entries if isinstance(listed_entries, list) else ())
        if isinstance(entry, dict)
    }
    if listed.text and not (pack.path / listed.text).is_file():
        yield Problem(
            DATAMAP_FILE,
            line_of(spec, "text"),
            f"{PURPOSES}.text {listed.text!r} is not a file of the pack",
        )
    categories = schema_categories(metadata, pack)
    consent = _consent_based(pack, metadata)
    for key, item in listed.purposes.items():
        entry = entries.get(key)
        where = line_of(entry, "maps_to") or line_of(entry)
        if not any(categories.get(purpose) for purpose in item.maps_to):
            yield Problem(
                DATAMAP_FILE,
                where,
                f"policy purpose {key!r} has no data category: no element is processed for "
                f"{', '.join(item.maps_to)} (CORP-1.2)",
            )
        if item.requires_consent and consent is not None:
            loose = [purpose for purpose in item.maps_to if purpose not in consent]
            if loose:
                yield Problem(
                    DATAMAP_FILE,
                    where,
                    f"policy purpose {key!r} requires consent, but {', '.join(loose)} "
                    "does not rest on consent (CORP-1.2)",
                )


def register_problems(pack: PolicyPack, metadata: sa.MetaData, raw: Any) -> list[Problem]:
    """Every problem of the pack's collection points and policy purposes (``raw``: datamap.yaml)."""
    found = list(_purpose_problems(pack, metadata, raw))
    if pack.collection_points:
        found += _point_problems(pack, metadata, raw)
    return found
