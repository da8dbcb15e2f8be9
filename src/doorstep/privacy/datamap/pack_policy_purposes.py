"""The policy's own list of purposes, each mapped to the pack's finer purposes (CORP-1.2).

The corporate policy lists fourteen purposes ("We may collect your personal
information for the following purposes:"); the pack's purposes are finer.  A
pack declares the policy's list in ``datamap.yaml`` (decision 0036)::

    policy_purposes:
      text: corporate-privacy-policy.txt
      purposes:
        - id: order_fulfilment
          quote: Fulfill a purchase order.
          maps_to: [order.fulfilment, order.payment]
        …
        - id: other_approved
          quote: Other purposes approved by you.
          maps_to: [cloud.backup]
          requires_consent: true

A list, so that its order — the policy's numbering — survives any tool that
rewrites the file with sorted keys.  Each entry quotes the policy (an exact
substring of ``text``, a file of the pack, whitespace aside, in the policy's
order; ``doorstep pack check`` reports a ``text`` the pack lacks) and names the
pack purposes it is kept by.  Its data categories are not typed here: they
follow from the elements of those purposes (:mod:`.ropa_registers`).
:func:`read_policy_purposes` refuses, with ``datamap.yaml:LINE``, an entry mapped
to no pack purpose or to an unknown one, a quote the text lacks, and, when the
pack adopts CORP-1.2 (its ``clauses.yaml`` has or maps to the id), a list that is
not exactly :data:`CORPORATE_PURPOSES` (count, ids and order) or whose
``other_approved`` does not require consent.  ``doorstep pack check`` adds the
checks that need the schema: each entry has data categories, and what
``requires_consent`` maps to rests on consent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack_lines import at
from doorstep.privacy.datamap.pack_lines import entry as _entry
from doorstep.privacy.datamap.pack_lines import strings as _strings
from doorstep.privacy.datamap.pack_lines import text as _text

SECTION = "policy_purposes"
CLAUSE = "CORP-1.2"
#: The corporate policy's purposes, as it numbers them (section 1, the bulleted list).
CORPORATE_PURPOSES = (
    "order_fulfilment",
    "account",
    "device_registration",
    "requested_services",
    "subscriptions",
    "after_sales",
    "customer_service",
    "security_notices",
    "service_analytics",
    "user_experience",
    "error_reports",
    "anti_fraud",
    "legal_compliance",
    "other_approved",
)
#: The entry that may only be used with the person's consent.
OTHER_APPROVED = "other_approved"
_FILE = "datamap.yaml"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class PolicyPurpose:
    """One purpose as the policy states it, and the pack purposes that keep it."""

    key: str
    number: int
    quote: str
    maps_to: tuple[str, ...]
    requires_consent: bool = False


@dataclass(frozen=True, slots=True)
class PolicyPurposes:
    """The policy's purpose list: the text it is quoted from, and its entries in order."""

    text: str
    purposes: Mapping[str, PolicyPurpose]


def _fail(message: str) -> ConfigurationError:
    return ConfigurationError(f"policy pack: {message}")


def _flat(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip()


def _policy_text(path: Path, spec: dict[str, Any]) -> tuple[str, str]:
    """The file name and its text (whitespace folded); no text when it is no file of the
    pack (``doorstep pack check`` reports that, as it does the scope's texts)."""
    with at(_FILE, spec, "text"):
        name = _text(spec.get("text"), f"{SECTION}.text")
        source = path / name
        if not name or "/" in name or not source.is_file():
            return name, ""
        return name, _flat(source.read_text(encoding="utf-8"))


def _entry_of(
    key: str, spec: dict[str, Any], number: int, purposes: Mapping[str, object], text: str
) -> tuple[PolicyPurpose, int]:
    where = f"policy purpose {key!r}"
    with at(_FILE, spec, "quote"):
        quote = _text(spec.get("quote"), f"{where} quote")
        if not quote:
            raise _fail(f"{where} has no quote of the policy")
        found = text.find(_flat(quote)) if text else 0
        if found < 0:
            raise _fail(f"{where}: the quote is not in the policy text")
    with at(_FILE, spec, "maps_to"):
        maps_to = _strings(spec.get("maps_to"), f"{where} maps_to")
        if not maps_to:
            raise _fail(f"{where} is mapped to none of the pack's purposes")
        for purpose in maps_to:
            if purpose not in purposes:
                raise _fail(f"{where} maps to unknown purpose {purpose!r}")
    with at(_FILE, spec, "requires_consent"):
        consent = spec.get("requires_consent", False)
        if not isinstance(consent, bool):
            raise _fail(f"{where} requires_consent must be true or false")
    return PolicyPurpose(key, number, quote, maps_to, consent), found


def read_policy_purposes(
    raw: dict[str, Any], path: Path, purposes: Mapping[str, object], *, required: bool
) -> PolicyPurposes | None:
    """The ``policy_purposes:`` of ``raw`` (None when absent and not ``required``).

    ``required``: the pack adopts CORP-1.2, so the list must be the corporate
    policy's fourteen, in order, with ``other_approved`` requiring consent.
    """
    if raw.get(SECTION) is None:
        if required:
            raise _fail(
                f"{_FILE}: the pack adopts {CLAUSE} but declares no '{SECTION}:' "
                "(the policy's purposes, each mapped to the pack's)"
            )
        return None
    with at(_FILE, raw, SECTION):
        spec = _entry(raw.get(SECTION), SECTION)
    name, text = _policy_text(path, spec)
    if required and not name:
        with at(_FILE, raw, SECTION):
            raise _fail(f"the pack adopts {CLAUSE}: '{SECTION}.text' must name the policy quoted")
    with at(_FILE, spec, "purposes"):
        section = spec.get("purposes")
        if not isinstance(section, list) or not section:
            raise _fail(f"{SECTION}.purposes must be a list of the policy's purposes")
        entries = [_entry(value, f"{SECTION}.purposes entry") for value in section]
        keys = tuple(_text(entry.get("id"), f"{SECTION}.purposes id") for entry in entries)
        if required and keys != CORPORATE_PURPOSES:
            raise _fail(
                f"the pack adopts {CLAUSE}: '{SECTION}' must list exactly the policy's "
                f"{len(CORPORATE_PURPOSES)} purposes in its order "
                f"({', '.join(CORPORATE_PURPOSES)}); it lists {len(keys)}"
            )
    found: dict[str, PolicyPurpose] = {}
    last = -1
    for number, (key, value) in enumerate(zip(keys, entries, strict=True), start=1):
        with at(_FILE, value, "id"):
            if not _NAME.match(key) or key in found:
                raise _fail(f"policy purpose {key!r}: an id is unique, lower-case letters, '_'")
            item, offset = _entry_of(key, value, number, purposes, text)
            if text and offset < last:
                raise _fail(f"policy purpose {key!r} is out of the policy's order")
            if required and key == OTHER_APPROVED and not item.requires_consent:
                raise _fail(
                    f"policy purpose {key!r} must declare 'requires_consent: true' ({CLAUSE})"
                )
            last = offset
            found[str(key)] = item
    return PolicyPurposes(name, found)
