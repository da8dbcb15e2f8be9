"""Check that what goes into the trail is ids and names, never personal data.

Names (action, actor, purpose, element, outcome, detail keys) and string detail
values must be short identifiers of ``[A-Za-z0-9_.:-]``, the same alphabet job
arguments use (:mod:`doorstep.jobs.enqueue`): it leaves no room for an e-mail
address (``@``), a phone number in international form (``+``), a name with a
space, or free text.  What the alphabet still lets through and still looks like
personal data, a MAC or an IPv4 address, is refused by the patterns of
:func:`doorstep.core.logging.scrub`.  Validated strings are cached: a process
sees few distinct actions and actors, so validation costs a dict lookup.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from functools import lru_cache

from doorstep.audit.exceptions import UnsafeAuditValueError
from doorstep.core.logging import scrub

_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
MAX_DETAILS = 32

DetailValue = str | int | bool | None


@lru_cache(maxsize=8192)
def _name_problem(value: str) -> str | None:
    if not _NAME.fullmatch(value):
        return "must be an id or name of [A-Za-z0-9_.:-], 1 to 128 characters"
    if scrub(value) != value:
        return "looks like personal data (a MAC or IP address); record ids only"
    return None


def check_name(field: str, value: object) -> str:
    """Return ``value`` if it is a safe name, else raise :class:`UnsafeAuditValueError`."""
    if not isinstance(value, str):
        raise UnsafeAuditValueError(field, "must be a string")
    problem = _name_problem(value)
    if problem is not None:
        raise UnsafeAuditValueError(field, problem)
    return value


def check_optional_name(field: str, value: object) -> str | None:
    """Like :func:`check_name`, letting ``None`` through."""
    return None if value is None else check_name(field, value)


def check_subject(value: object) -> str | None:
    """The subject id as a string; only a :class:`uuid.UUID` (or None) is accepted."""
    if value is None:
        return None
    if not isinstance(value, uuid.UUID):
        raise UnsafeAuditValueError("subject_id", "must be a uuid.UUID")
    return str(value)


def details_json(details: Mapping[str, object] | None) -> str:
    """Validate ``details`` and return them as a JSON object (keys sorted).

    Values may be ``None``, booleans, ints, UUIDs (stored as strings) or safe
    names; anything else (floats, nested structures, free text) is refused.
    """
    if not details:
        return "{}"
    if len(details) > MAX_DETAILS:
        raise UnsafeAuditValueError("details", f"holds more than {MAX_DETAILS} entries")
    clean: dict[str, DetailValue] = {}
    for key, value in details.items():
        check_name("details key", key)
        where = f"details[{key}]"
        if value is None or isinstance(value, bool | int):
            clean[key] = value
        elif isinstance(value, uuid.UUID):
            clean[key] = str(value)
        elif isinstance(value, str):
            clean[key] = check_name(where, value)
        else:
            raise UnsafeAuditValueError(where, "must be an id: None, bool, int, UUID or name")
    return json.dumps(clean, sort_keys=True, separators=(",", ":"))
