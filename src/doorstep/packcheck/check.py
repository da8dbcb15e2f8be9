"""Every problem of a policy pack, with the file and line it is at.

:func:`check_pack` reads the pack in a folder and the whole schema's
declarations and returns every :class:`~doorstep.packcheck.texts.Problem`:

* what :func:`~doorstep.privacy.datamap.pack.read_pack` refuses — a value of the
  wrong shape, an unknown data use, product or trigger (the first one found in
  ``datamap.yaml``: the file is not read further) — and every clause id a
  purpose or retention rule cites that ``clauses.yaml`` lacks;
* a column whose declaration names a purpose, retention rule, region, recipient
  or clause the pack lacks (the data map registry's problems, placed at the
  section of ``datamap.yaml`` that lacks the key; a column without declaration),
  and a retention binding that no longer fits the pack's rules;
* a retention rule bound to no table: no column declares it, no binding or
  external job executes it (rules whose trigger is ``not_stored`` describe data
  never stored, and are exempt);
* every problem of the ``incidents:`` section (a clock longer than decision
  0018's 72 hours, an unknown home jurisdiction, a calling code twice);
* every problem of the ``scope:`` section (:mod:`doorstep.privacy.datamap.scope`);
* the collection points and the policy's purposes against the schema, the
  connected systems and the consent terms (:mod:`.registers`, CORP-1.1, CORP-1.2);
* the file-level checks of :mod:`.texts`: consent terms, references to
  purposes, clause quotes; then whatever else the consent-terms loader refuses.

:func:`require_valid_pack` is the start-up form: it raises
:class:`ConfigurationError` with the same lines.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from doorstep.core.errors import ConfigurationError
from doorstep.packcheck.registers import register_problems
from doorstep.packcheck.texts import (
    CLAUSES_FILE,
    CONSENT_FILE,
    Problem,
    clause_ids,
    consent_problems,
    quote_problems,
    read_file,
    reference_problems,
    yaml_problem,
)
from doorstep.privacy.datamap.incident_rules import problems as incident_problems
from doorstep.privacy.datamap.pack import DATAMAP_FILE, PolicyPack, Trigger, read_pack
from doorstep.privacy.datamap.pack_lines import PREFIX, line_of
from doorstep.privacy.datamap.scope import read_scope

#: A registry problem naming a key the pack lacks: element, kind of key, key.
_UNKNOWN = re.compile(
    r"^(?P<element>[\w.]+): unknown (?P<kind>purpose|retention rule|region|recipient|clause) "
    r"'(?P<key>[^']*)'$"
)
#: Where each kind of key is declared: (file, top-level section).
_SECTIONS = {
    "purpose": (DATAMAP_FILE, "purposes"),
    "retention rule": (DATAMAP_FILE, "retention"),
    "region": (DATAMAP_FILE, "regions"),
    "recipient": (DATAMAP_FILE, "recipients"),
    "clause": (CLAUSES_FILE, "clauses"),
}
_RULE = re.compile(r"rule '(?P<key>[^']*)'")


def _schema_problems(
    pack: PolicyPack, metadata: sa.MetaData, raws: dict[str, Any]
) -> list[Problem]:
    """The data map's and the retention bindings' problems, placed in the pack where they can be."""
    from doorstep.privacy.datamap.registry import collect, problems
    from doorstep.privacy.retention.registry import problems as retention_problems

    found: list[Problem] = []
    for message in problems(collect(metadata), pack):
        match = _UNKNOWN.match(message)
        if match is None:
            found.append(Problem("", None, message))
            continue
        file, section = _SECTIONS[match["kind"]]
        raw = raws.get(file)
        has_section = isinstance(raw, dict) and section in raw
        found.append(
            Problem(file, line_of(raw, section), message)
            if has_section
            else Problem("", None, message)
        )
    datamap = raws.get(DATAMAP_FILE)
    retention = datamap.get("retention") if isinstance(datamap, dict) else None
    for message in retention_problems(metadata, pack):
        match = _RULE.search(message)
        key = match["key"] if match else None
        line = line_of(retention, key) if key in pack.retention else line_of(datamap, "retention")
        found.append(Problem(DATAMAP_FILE, line, message) if line else Problem("", None, message))
    return found


def unbound_rules(pack: PolicyPack, metadata: sa.MetaData, datamap: Any) -> list[Problem]:
    """Retention rules of ``pack`` that no column declares and nothing executes."""
    from doorstep.privacy.retention.bindings import EXTERNAL
    from doorstep.privacy.retention.registry import collect
    from doorstep.vocabulary.declarations import INFO_KEY, PersonalData

    used = set(EXTERNAL) | {bound.binding.rule for bound in collect(metadata)}
    used |= pack.systems.retention_rules()  # connected systems' elements (systems.yaml)
    for table in metadata.tables.values():
        for column in table.columns:
            declaration = column.info.get(INFO_KEY)
            if isinstance(declaration, PersonalData):
                used.add(declaration.retention)
    section = datamap.get("retention") if isinstance(datamap, dict) else None
    return [
        Problem(
            DATAMAP_FILE,
            line_of(section, key),
            f"retention rule {key!r} is bound to no table: no column declares it and no "
            "retention binding executes it",
        )
        for key, rule in pack.retention.items()
        if key not in used and rule.trigger is not Trigger.NOT_STORED
    ]


def _terms_problems(pack: PolicyPack, consent: Any) -> list[Problem]:
    """What the consent-terms loader refuses, placed at the term it names."""
    from doorstep.privacy.consent.terms import TERMS_FILE, load_terms

    try:
        load_terms(pack)
    except ConfigurationError as exc:
        text = exc.detail.removeprefix(PREFIX).removeprefix(f"{TERMS_FILE}: ")
        match = re.search(r"purpose '(?P<key>[^']*)'", text)
        terms = consent.get("purposes") if isinstance(consent, dict) else None
        line = line_of(terms, match["key"]) if match else None
        return [Problem(CONSENT_FILE, line, text.removeprefix(f"{TERMS_FILE} "))]
    return []


def _ordered(found: list[Problem]) -> list[Problem]:
    """Located problems by file and line, then the schema's in the order found; no repeats."""
    unique = list(dict.fromkeys(found))
    located = sorted(
        (item for item in unique if item.file),
        key=lambda item: (item.file, item.line or 0),
    )
    return located + [item for item in unique if not item.file]


def check_pack(path: Path, metadata: sa.MetaData) -> list[Problem]:
    """Every problem of the pack in ``path`` against the schema ``metadata`` (empty: valid)."""
    raws: dict[str, Any] = {}
    found: list[Problem] = []
    for name in (DATAMAP_FILE, CONSENT_FILE, CLAUSES_FILE):
        raws[name], errors = read_file(path, name)
        if name != DATAMAP_FILE:  # read_pack names the datamap's own
            found.extend(errors)
    pack: PolicyPack | None = None
    try:
        pack, unknown = read_pack(path)
        found.extend(Problem.from_error(item) for item in unknown)
    except ConfigurationError as exc:
        found.append(Problem.from_error(exc.detail))
    except yaml.YAMLError as exc:  # clauses.yaml, read by the loader without lines
        if not any(item.file == CLAUSES_FILE for item in found):
            found.append(yaml_problem(CLAUSES_FILE, exc))
    datamap = raws[DATAMAP_FILE]
    # which policy applies to which service (decision 0026): each problem with its line
    found.extend(Problem.from_error(item) for item in read_scope(path)[1])
    # every period of the incidents section over decision 0018's 72 hours, not just the first
    found.extend(Problem.from_error(item) for item in incident_problems(datamap))
    if pack is not None:
        purposes: set[str] = set(pack.purposes)
    elif isinstance(datamap, dict) and isinstance(datamap.get("purposes"), dict):
        purposes = set(datamap["purposes"])
    else:
        purposes = set()
    ids = clause_ids(raws[CLAUSES_FILE])
    consent = consent_problems(raws[CONSENT_FILE], purposes, ids)
    found.extend(consent)
    for name in (DATAMAP_FILE, CONSENT_FILE):
        found.extend(reference_problems(name, raws[name], purposes))
    found.extend(quote_problems(path, raws[CLAUSES_FILE]))
    if pack is not None:
        found.extend(_schema_problems(pack, metadata, raws))
        found.extend(unbound_rules(pack, metadata, datamap))
        found.extend(register_problems(pack, metadata, datamap))
        if not consent and not any(item.file == CONSENT_FILE for item in found):
            found.extend(_terms_problems(pack, raws[CONSENT_FILE]))
    return _ordered(found)


#: Packs found valid in this process: (folder, its files' sizes and times, schema).
_VALID: set[tuple[object, ...]] = set()


def _fingerprint(path: Path) -> tuple[object, ...]:
    """The folder and the name, size and modification time of each of its files."""
    files = sorted(item for item in path.iterdir() if item.is_file()) if path.is_dir() else []
    return (
        str(path.resolve()),
        *((item.name, item.stat().st_size, item.stat().st_mtime_ns) for item in files),
    )


def require_valid_pack(path: Path, metadata: sa.MetaData) -> None:
    """Raise :class:`ConfigurationError` listing every problem of the pack (start-up), or return.

    The detail is ``policy pack: `` and the problems as ``doorstep pack check``
    prints them, joined with ``; `` (``problems`` lists them).  A pack found valid
    is not checked again in the process until one of its files changes.
    """
    key = (*_fingerprint(path), id(metadata))
    if key in _VALID:
        return
    found = [str(item) for item in check_pack(path, metadata)]
    if found:
        raise ConfigurationError(PREFIX + "; ".join(found), problems=found)
    _VALID.add(key)
