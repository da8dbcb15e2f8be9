"""The identifier kinds the de-identifier knows, and the patterns that find them.

Each kind has one or more patterns written in the common subset of Hyperscan's
and Python's regular-expression syntax (bytes, ASCII), so the benchmark can run
the very same patterns through Python's ``re`` as a baseline.  A pack may add
patterns to a kind (serial-number formats of its own devices, for instance);
it may not add kinds.

Patterns end on a word boundary where the identifier ends in a word character,
so Hyperscan (which reports every end offset) reports one match per occurrence
in the common case; the scanner resolves whatever overlaps remain.
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """A kind of identifier; the pseudonym names it (``mac-p1-…``)."""

    SERIAL_NUMBER = "serial_number"
    MAC = "mac"
    IP = "ip"
    EMAIL = "email"
    PHONE = "phone"
    ACCOUNT_ID = "account_id"
    DEVICE_ID = "device_id"


_HEX = "[0-9A-Fa-f]"
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"

#: Built-in patterns per kind.  Account ids are the random UUIDs of subjects
#: (an account id is its subject id); device ids are USP endpoint ids
#: (``oui::``, ``os::``, ``proto::``, ``uuid::``, ``imei::``, ``ops::``, ``self::``).
BUILTIN_PATTERNS: dict[Kind, tuple[str, ...]] = {
    Kind.EMAIL: (r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+\b",),
    Kind.MAC: (
        rf"\b{_HEX}{{2}}(?::{_HEX}{{2}}){{5}}\b",
        rf"\b{_HEX}{{2}}(?:-{_HEX}{{2}}){{5}}\b",
        rf"\b{_HEX}{{4}}\.{_HEX}{{4}}\.{_HEX}{{4}}\b",
    ),
    Kind.IP: (
        rf"\b{_OCTET}(?:\.{_OCTET}){{3}}\b",
        rf"\b{_HEX}{{1,4}}(?::{_HEX}{{1,4}}){{7}}\b",
        rf"\b(?:{_HEX}{{1,4}}:){{1,6}}:{_HEX}{{1,4}}(?::{_HEX}{{1,4}}){{0,5}}\b",
    ),
    Kind.PHONE: (r"\+[1-9](?:[ \-]?[0-9]){6,14}\b",),
    Kind.SERIAL_NUMBER: (
        # GPON ONT serials: a four-letter vendor id and eight hex digits.
        r"\b[A-Z]{4}[0-9A-F]{8}\b",
        # TR-181 Device.DeviceInfo.SerialNumber and the usual log spellings of it.
        r"(?:SerialNumber|serial_number|serialNumber|serial|SN|sn)[=:] ?\"?[A-Za-z0-9\-]{6,32}\b",
    ),
    Kind.ACCOUNT_ID: (rf"\b{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}\b",),
    Kind.DEVICE_ID: (r"(?:oui|os|proto|uuid|imei|imeisv|ops|self)::[A-Za-z0-9._:\-]+\b",),
}

#: Kinds scanned for their end only: tracking where an e-mail address starts costs
#: Hyperscan more than the rest of the scan, so the scanner finds the start itself
#: (the run of local-part characters before the ``@``).  Their patterns must hold an ``@``.
END_ONLY = frozenset({Kind.EMAIL})
#: The characters of an e-mail address's local part (what the scanner walks back over).
LOCAL_PART = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-"

#: Kinds whose matches carry a label before the value (``serial=ABC123``): the label stays.
LABELLED = frozenset({Kind.SERIAL_NUMBER})


def normalised(kind: Kind, value: bytes) -> bytes:
    """The form of ``value`` that is pseudonymised, so spellings of one identifier agree.

    MACs lose separators and case, e-mail addresses and hex ids their case, and
    phone numbers their spaces and hyphens; other kinds are taken as written.
    """
    if kind is Kind.MAC:
        return value.replace(b":", b"").replace(b"-", b"").replace(b".", b"").lower()
    if kind is Kind.PHONE:
        return value.replace(b" ", b"").replace(b"-", b"")
    if kind in (Kind.EMAIL, Kind.ACCOUNT_ID, Kind.IP):
        return value.lower()
    return value
