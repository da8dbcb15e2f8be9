"""USP Endpoint IDs: ``authority-scheme ":" [authority-id] ":" instance-id`` (TR-369 1.4).

:func:`parse_endpoint_id` checks the syntax and the rules of each scheme and
returns an :class:`EndpointId`; ``str()`` gives the exact text back.

* ``instance-id``: only ``A-Z a-z 0-9 - . _`` and ``%HH`` escapes, 1-50 characters.
* ``oui`` 6, 7 or 9 hex digits; ``cid`` 6 hex digits; ``pen`` a decimal number.
* ``self``, ``user``, ``proto``, ``doc``: authority of 0-6 characters.
* ``os``, ``ops``, ``uuid``, ``imei``, ``fqdn``: empty authority, and an instance of
  the form ``<OUI>-<SerialNumber>``, ``<OUI>-<ProductClass>-<SerialNumber>``, an RFC
  4122 UUID, a 15-digit IMEI, or a domain name.
* ``proto`` and ``doc`` are for prototypes and documentation only
  (:attr:`EndpointId.production` is false for them).

We accept hex digits in either case: the spec examples use upper case, and a
Controller that refused ``os::0a1b2c-…`` would only lock a real device out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

from doorstep.usp.exceptions import InvalidEndpointIdError

URN_PREFIX = "urn:bbf:usp:id:"
"""Prefix of an Endpoint ID written in a certificate's subjectAltName."""

MAX_INSTANCE_LENGTH = 50

_INSTANCE = re.compile(r"(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})+")
_SHORT_AUTHORITY = re.compile(r"(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2}){0,6}")
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_FQDN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
_OUI6 = re.compile(r"[0-9A-Fa-f]{6}")

_AUTHORITY_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "oui": (re.compile(r"[0-9A-Fa-f]{6}|[0-9A-Fa-f]{7}|[0-9A-Fa-f]{9}"), "6, 7 or 9 hex digits"),
    "cid": (re.compile(r"[0-9A-Fa-f]{6}"), "6 hex digits"),
    "pen": (re.compile(r"[0-9]{1,10}"), "a decimal enterprise number"),
    "self": (_SHORT_AUTHORITY, "at most 6 characters"),
    "user": (_SHORT_AUTHORITY, "at most 6 characters"),
    "proto": (_SHORT_AUTHORITY, "at most 6 characters"),
    "doc": (_SHORT_AUTHORITY, "at most 6 characters"),
    "os": (re.compile(""), "empty"),
    "ops": (re.compile(""), "empty"),
    "uuid": (re.compile(""), "empty"),
    "imei": (re.compile(""), "empty"),
    "fqdn": (re.compile(""), "empty"),
}
SCHEMES = frozenset(_AUTHORITY_RULES)
"""Every authority scheme TR-369 1.4 defines."""

NON_PRODUCTION_SCHEMES = frozenset({"proto", "doc"})


@dataclass(frozen=True, slots=True)
class EndpointId:
    """A parsed, valid Endpoint ID.  Build one with :func:`parse_endpoint_id`."""

    scheme: str
    authority: str
    instance: str

    def __str__(self) -> str:
        return f"{self.scheme}:{self.authority}:{self.instance}"

    @property
    def production(self) -> bool:
        """False for ``proto`` and ``doc`` IDs, which must not be used in production."""
        return self.scheme not in NON_PRODUCTION_SCHEMES

    @property
    def urn(self) -> str:
        """The form used in certificates: ``urn:bbf:usp:id:<endpoint-id>``."""
        return URN_PREFIX + str(self)

    @property
    def oui(self) -> str | None:
        """The OUI of an ``os``/``ops`` ID (upper case), or the authority of an ``oui`` ID."""
        if self.scheme in {"os", "ops"}:
            return self.instance[:6].upper()
        if self.scheme == "oui":
            return self.authority.upper()
        return None

    @property
    def product_class(self) -> str | None:
        """The ProductClass of an ``ops`` ID, percent-decoded."""
        if self.scheme != "ops":
            return None
        return _unescape(self.instance[7:].split("-", 1)[0])

    @property
    def serial_number(self) -> str | None:
        """The SerialNumber of an ``os``/``ops`` ID, percent-decoded."""
        if self.scheme == "os":
            return _unescape(self.instance[7:])
        if self.scheme == "ops":
            return _unescape(self.instance[7:].split("-", 1)[1])
        return None


def parse_endpoint_id(text: str) -> EndpointId:
    """Parse and validate ``text``; raise :class:`InvalidEndpointIdError` naming the rule."""
    if not isinstance(text, str):
        raise InvalidEndpointIdError("not a string")
    parts = text.split(":", 2)
    if len(parts) != 3:
        raise InvalidEndpointIdError("missing ':' separators")
    scheme, authority, instance = parts
    rule = _AUTHORITY_RULES.get(scheme)
    if rule is None:
        raise InvalidEndpointIdError("unknown authority scheme")
    pattern, expected = rule
    if not pattern.fullmatch(authority):
        raise InvalidEndpointIdError(f"authority-id of '{scheme}' must be {expected}")
    if len(instance) > MAX_INSTANCE_LENGTH:
        raise InvalidEndpointIdError("instance-id longer than 50 characters")
    if not _INSTANCE.fullmatch(instance):
        raise InvalidEndpointIdError(
            "instance-id empty or with a character outside A-Za-z0-9-._%HH"
        )
    _check_instance(scheme, instance)
    return EndpointId(scheme, authority, instance)


def parse_urn(text: str) -> EndpointId:
    """Parse the certificate form ``urn:bbf:usp:id:<endpoint-id>``."""
    if not isinstance(text, str) or not text.startswith(URN_PREFIX):
        raise InvalidEndpointIdError("not a urn:bbf:usp:id: URN")
    return parse_endpoint_id(text[len(URN_PREFIX) :])


@lru_cache(maxsize=4096)
def is_valid_endpoint_id(text: str) -> bool:
    """Whether ``text`` is a valid Endpoint ID.

    Cached: every Record names two IDs and a fleet repeats the same few thousand; we
    accept a bounded cache of ID strings (no other data) for a fifth of decode time.
    """
    try:
        parse_endpoint_id(text)
    except InvalidEndpointIdError:
        return False
    return True


def os_endpoint_id(oui: str, serial_number: str) -> EndpointId:
    """The ``os::<OUI>-<SerialNumber>`` ID a device derives from its DeviceInfo.

    Both parts are percent-encoded the way OB-USP-Agent does it (everything but
    ``A-Z a-z 0-9 - . _``), so the result equals the ID the agent chose.
    """
    return parse_endpoint_id(f"os::{_escape(oui)}-{_escape(serial_number)}")


def _check_instance(scheme: str, instance: str) -> None:
    if scheme == "os":
        if not (_OUI6.fullmatch(instance[:6]) and instance[6:7] == "-" and len(instance) > 7):
            raise InvalidEndpointIdError("os instance-id must be <OUI>-<SerialNumber>")
    elif scheme == "ops":
        rest = instance[7:]
        if not (_OUI6.fullmatch(instance[:6]) and instance[6:7] == "-" and "-" in rest[1:-1]):
            raise InvalidEndpointIdError(
                "ops instance-id must be <OUI>-<ProductClass>-<SerialNumber>"
            )
    elif scheme == "uuid":
        if not _UUID.fullmatch(instance):
            raise InvalidEndpointIdError("uuid instance-id must be an RFC 4122 UUID")
    elif scheme == "imei":
        if not (len(instance) == 15 and instance.isascii() and instance.isdigit()):
            raise InvalidEndpointIdError("imei instance-id must be 15 digits")
    elif scheme == "fqdn" and not _FQDN.fullmatch(instance):
        raise InvalidEndpointIdError("fqdn instance-id must be a domain name")


_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._")


def _escape(text: str) -> str:
    return "".join(
        ch if ch in _SAFE else "".join(f"%{byte:02X}" for byte in ch.encode("utf-8")) for ch in text
    )


def _unescape(text: str) -> str:
    return unquote(text, errors="replace")
