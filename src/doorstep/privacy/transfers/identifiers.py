"""The last check before a de-identified payload leaves: no direct identifier is left in it.

The transfer gate has the payload de-identified first where the pack says so
(:mod:`doorstep.privacy.deidentify`, handed to the gate), then looks at every
value once more with :func:`direct_identifiers`.  A value that still looks like
an e-mail address, a MAC, an IP address, a phone number or a UUID (account and
device ids) stops the transfer: the check fails closed, so a de-identifier that
missed something, or none at all, never lets an identifier through (CPE-VIII.3).
It names the payload's fields, never their values.

Serial numbers have no shape of their own; they are caught by name: a field
whose name says it holds one (``serial``) must carry a pseudonym
(``serial_number-p1-<16 hex digits>``, as the de-identifier writes them).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping

_PATTERNS = {
    "email": re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"),
    "mac": re.compile(r"\b(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}\b"),
    "phone": re.compile(r"(?<![\w+])\+\d[\d \-]{6,17}\d"),
    "uuid": re.compile(r"\b[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\b"),
}
_IP_CANDIDATE = re.compile(r"[0-9A-Fa-f:.]{3,45}")
_SERIAL_FIELD = re.compile(r"(?i)serial")
_PSEUDONYM = re.compile(r"^[a-z][a-z_]*-p[0-9]+-[0-9a-f]{16}$")


def _has_ip(value: str) -> bool:
    for candidate in _IP_CANDIDATE.findall(value):
        if "." not in candidate and candidate.count(":") < 2:
            continue
        try:
            ipaddress.ip_address(candidate.strip(".:"))
        except ValueError:
            continue
        return True
    return False


def kinds_in(value: str) -> set[str]:
    """The kinds of direct identifier ``value`` seems to hold."""
    found = {kind for kind, pattern in _PATTERNS.items() if pattern.search(value)}
    if _has_ip(value):
        found.add("ip")
    return found


def direct_identifiers(payload: Mapping[str, object]) -> dict[str, set[str]]:
    """Fields of ``payload`` (by name) that still hold a direct identifier, with its kinds.

    Values are read as text; a field named like a serial number must hold a pseudonym.
    """
    found: dict[str, set[str]] = {}
    for name, value in payload.items():
        text = "" if value is None else str(value)
        kinds = kinds_in(text)
        if _SERIAL_FIELD.search(name) and text and not _PSEUDONYM.fullmatch(text):
            kinds.add("serial")
        if kinds:
            found[name] = kinds
    return found
