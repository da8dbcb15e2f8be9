"""The pack's collection points: every way personal data is collected, with purpose and notice.

A pack declares in ``datamap.yaml`` (CORP-1.1, decision 0036)::

    collection_points:
      hotline:
        kind: hotline
        description: A call to the privacy hotline, recorded by the privacy desk.
        purposes: [privacy.rights, customer.support]
        notice: {section: CORP 1. Collection and Use, path: /policy}
        records: [inquiries]

* ``kind`` — the channel (:class:`PointKind`): ``app``, ``web``, ``email``,
  ``hotline``, ``brand_activity``, ``cookie``, ``device``, ``third_party``,
  ``import`` or ``connected_system``;
* ``purposes`` — the pack purposes the data collected there is for (at least one);
* ``notice`` — where the person is told: a ``section`` of the policy and/or the
  ``path`` (``/…``) or ``https://`` address of the page that says it (at least one);
* ``records`` — the tables of Doorstep's schema whose rows are collected there;
  each such row carries the point's key in its ``source`` column
  (:mod:`.record_sources`); ``doorstep pack check`` checks the tables;
* ``system`` — for ``connected_system``: the key of the system in ``systems.yaml``
  (checked here when the pack has that file; ``doorstep pack check`` also reports
  a system the pack lacks).

:func:`read_collection_points` refuses a point without purpose, notice or
description, an unknown purpose, kind or system, with ``datamap.yaml:LINE``.  The
section is optional for a pack that does not adopt CORP-1.1; a pack whose
``clauses.yaml`` has (or maps to) CORP-1.1 must declare it, and then every
connected system must be some point's, but for one whose data is acquired from
others (its ``source:``, CORP-1.17): that data is not collected from the person.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack_lines import at
from doorstep.privacy.datamap.pack_lines import entry as _entry
from doorstep.privacy.datamap.pack_lines import strings as _strings
from doorstep.privacy.datamap.pack_lines import text as _text
from doorstep.privacy.datamap.system_entries import SystemsMap

#: The section of ``datamap.yaml``, and the clause that makes it required.
SECTION = "collection_points"
CLAUSE = "CORP-1.1"
_FILE = "datamap.yaml"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class PointKind(StrEnum):
    """The channel through which a collection point receives personal data."""

    APP = "app"
    WEB = "web"
    EMAIL = "email"
    HOTLINE = "hotline"
    BRAND_ACTIVITY = "brand_activity"
    COOKIE = "cookie"
    DEVICE = "device"
    THIRD_PARTY = "third_party"
    IMPORT = "import"
    CONNECTED_SYSTEM = "connected_system"


#: Kinds whose records staff enter on the person's behalf (``doorstep requests inquiries record``).
STAFF_KINDS = frozenset({PointKind.HOTLINE, PointKind.BRAND_ACTIVITY})


@dataclass(frozen=True, slots=True)
class Notice:
    """Where the person is told about the collection: a policy section, a page, or both."""

    section: str = ""
    path: str = ""

    def __str__(self) -> str:
        return "; ".join(part for part in (self.section, self.path) if part)


@dataclass(frozen=True, slots=True)
class CollectionPoint:
    """One registered way personal data is collected."""

    key: str
    kind: PointKind
    description: str
    purposes: tuple[str, ...]
    notice: Notice
    #: Tables of Doorstep's schema whose rows are collected here (their ``source`` names the key).
    records: tuple[str, ...] = ()
    #: The connected system (``systems.yaml``) that holds what is collected, for that kind.
    system: str = ""
    clauses: tuple[str, ...] = ()


def _fail(message: str) -> ConfigurationError:
    return ConfigurationError(f"policy pack: {message}")


def _notice(key: str, spec: dict[str, Any]) -> Notice:
    with at(_FILE, spec, "notice"):
        raw = _entry(spec.get("notice"), f"collection point {key!r} notice")
        notice = Notice(
            _text(raw.get("section"), f"collection point {key!r} notice.section"),
            _text(raw.get("path"), f"collection point {key!r} notice.path"),
        )
        if not notice.section and not notice.path:
            raise _fail(
                f"collection point {key!r} has no notice: name the policy section "
                "(notice.section) or the page (notice.path) that tells the person"
            )
        if notice.path and not notice.path.startswith(("/", "https://")):
            raise _fail(f"collection point {key!r} notice.path must start with / or https://")
    return notice


def _point(
    key: str, value: Any, purposes: Mapping[str, object], systems: SystemsMap
) -> CollectionPoint:
    where = f"collection point {key!r}"
    spec = _entry(value, where)
    with at(_FILE, spec, "kind"):
        try:
            kind = PointKind(str(spec.get("kind")))
        except ValueError:
            raise _fail(f"{where} has unknown kind {spec.get('kind')!r}") from None
    description = _text(spec.get("description"), f"{where} description")
    if not description:
        raise _fail(f"{where} has no description")
    with at(_FILE, spec, "purposes"):
        uses = _strings(spec.get("purposes"), f"{where} purposes")
        if not uses:
            raise _fail(f"{where} names no purpose")
        for purpose in uses:
            if purpose not in purposes:
                raise _fail(f"{where} names unknown purpose {purpose!r}")
    notice = _notice(key, spec)
    with at(_FILE, spec, "records"):
        records = _strings(spec.get("records"), f"{where} records")
        for table in records:
            if not _NAME.match(table):
                raise _fail(f"{where} records {table!r}, which is not a table name")
    with at(_FILE, spec, "system"):
        system = _text(spec.get("system"), f"{where} system")
        if kind is PointKind.CONNECTED_SYSTEM and not system:
            raise _fail(f"{where} names no connected system (system:)")
        if system and systems.systems and system not in systems.systems:
            raise _fail(f"{where} names unknown connected system {system!r}")
        if system and kind is not PointKind.CONNECTED_SYSTEM:
            raise _fail(f"{where} names a system but is of kind {kind.value!r}")
    clauses = _strings(spec.get("clauses"), f"{where} clauses")
    return CollectionPoint(key, kind, description, uses, notice, records, system, clauses)


def read_collection_points(
    raw: dict[str, Any],
    purposes: Mapping[str, object],
    systems: SystemsMap,
    *,
    required: bool,
) -> dict[str, CollectionPoint]:
    """The ``collection_points:`` of ``raw`` (datamap.yaml); every problem raises with its line.

    ``required``: the pack adopts CORP-1.1, so the section must exist and cover
    every connected system that collects from the person.
    """
    if raw.get(SECTION) is None:
        if required:
            raise _fail(
                f"{_FILE}: the pack adopts {CLAUSE} but declares no '{SECTION}:' "
                "(every way personal data is collected, with purpose and notice)"
            )
        return {}
    with at(_FILE, raw, SECTION):
        section = _entry(raw.get(SECTION), SECTION)
        if required and not section:
            raise _fail(f"the pack adopts {CLAUSE} but '{SECTION}' is empty")
    points: dict[str, CollectionPoint] = {}
    for key, value in section.items():
        with at(_FILE, section, key):
            if not _NAME.match(str(key)):
                raise _fail(
                    f"collection point {key!r}: a key is lower-case letters, digits and '_'"
                )
            points[str(key)] = _point(str(key), value, purposes, systems)
    if required:
        covered = {point.system for point in points.values()}
        missing = [
            key
            for key, system in systems.systems.items()
            if key not in covered and system.source is None
        ]
        if missing:
            with at(_FILE, raw, SECTION):
                raise _fail(
                    f"connected system(s) {', '.join(missing)} collect personal data but no "
                    f"collection point names them ({CLAUSE})"
                )
    return points
