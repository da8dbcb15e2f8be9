"""The fleet filter: which registered devices a list, a group or a bulk action is about.

A :class:`DeviceFilter` is what a group saves and what the fleet list and a bulk action
apply: ``model`` (exact), ``firmware`` (exact) or a version range (``firmware_min``
inclusive, ``firmware_below`` exclusive), ``product_type`` (router or gateway),
``online`` (true or false) and ``tags`` (the device carries every one of them).  Every
criterion is optional; the empty filter is the whole fleet (every device with a
registration record).

Contract:

* :meth:`DeviceFilter.parse` takes the JSON form (a group's saved filter, a CLI
  option, a form) and refuses, with :class:`~doorstep.core.errors.InvalidInputError`
  naming each field and rule, unknown keys, empty or over-long texts, control
  characters, a tag that is not one (:func:`.tags.valid_tag`), more than :data:`MAX_TAGS` tags, an
  exact firmware together with a range, a range bound with no digit, and an empty
  range.  :meth:`DeviceFilter.to_json` gives the same form back (what is stored).
* **Version order** compares the numbers in a version one by one (``1.9 < 1.10``,
  ``V2.0.1 > 2.0``; letters are ignored; a version without a number is in no range).
  PostgreSQL computes it with the immutable SQL function
  ``doorstep_version_key(text) -> numeric[]`` (migration 0035); :func:`version_key` is
  the same rule in Python.  Every number counts (``2.0-rc1`` is ``2.0.1``).
* :meth:`DeviceFilter.conditions` are SQL conditions on ``device_registrations``
  (and ``device_tags`` through ``EXISTS``).  The indexes of migration 0035
  (:data:`INDEXES`: model and firmware, each with the device id) and the tags' primary
  key give the matching rows in id order, which keyset pages need; a version range is
  checked on the rows they give.

A filter holds model names, version strings and operator tags: nothing about a person.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from doorstep.core.errors import InvalidInputError
from doorstep.devices.fleet.tags import DeviceTag, valid_tag
from doorstep.devices.models import DeviceRegistration, ProductType

#: At most this many tags in one filter.
MAX_TAGS = 10
#: Longest model name or version string a filter accepts.
MAX_TEXT = 100
#: The SQL function that orders versions (created by migration 0035).
VERSION_KEY = "doorstep_version_key"

_NOT_ANONYMISED = sa.text("anonymised_at IS NULL")
_REG = DeviceRegistration
#: The fleet list's indexes (migration 0035): each serves its filter in device order.
INDEXES = (
    sa.Index(
        "ix_device_registrations_fleet_model",
        _REG.model,
        _REG.device_id,
        postgresql_where=_NOT_ANONYMISED,
    ),
    sa.Index(
        "ix_device_registrations_fleet_firmware",
        _REG.firmware_version,
        _REG.device_id,
        postgresql_where=_NOT_ANONYMISED,
    ),
)

_KEYS = ("model", "firmware", "firmware_min", "firmware_below", "product_type", "online", "tags")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NUMBERS = re.compile(r"[0-9]+")


def version_key(version: str) -> tuple[int, ...] | None:
    """The numbers of ``version`` in order (what ``doorstep_version_key`` compares);
    None for a version without a number, which no range matches."""
    return tuple(int(number) for number in _NUMBERS.findall(version)) or None


@dataclass(frozen=True, slots=True)
class DeviceFilter:
    """Criteria on the registration record and the tags; None (or no tags) means any."""

    model: str | None = None
    firmware: str | None = None
    firmware_min: str | None = None
    firmware_below: str | None = None
    product_type: ProductType | None = None
    online: bool | None = None
    tags: tuple[str, ...] = ()

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> DeviceFilter:
        """The filter described by ``raw`` (its JSON form); InvalidInputError naming each fault."""
        errors: list[dict[str, str]] = []
        if not isinstance(raw, Mapping):
            raise InvalidInputError.of("filter", "object", "a filter is a JSON object")
        errors.extend({"field": str(key), "rule": "unknown"} for key in raw if key not in _KEYS)
        texts = {
            key: _text(raw.get(key), key, errors)
            for key in ("model", "firmware", "firmware_min", "firmware_below")
        }
        product = _product(raw.get("product_type"), errors)
        online = raw.get("online")
        if online is not None and not isinstance(online, bool):
            errors.append({"field": "online", "rule": "boolean"})
            online = None
        tags = _tags(raw.get("tags"), errors)
        _check_range(texts, errors)
        if errors:
            fields = ", ".join(sorted({error["field"] for error in errors}))
            raise InvalidInputError(f"the device filter is not valid ({fields})", errors=errors)
        return cls(
            model=texts["model"],
            firmware=texts["firmware"],
            firmware_min=texts["firmware_min"],
            firmware_below=texts["firmware_below"],
            product_type=product,
            online=online,
            tags=tags,
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON form (only the criteria set), as groups and bulk actions store it."""
        found: dict[str, Any] = {}
        for key in ("model", "firmware", "firmware_min", "firmware_below"):
            value = getattr(self, key)
            if value is not None:
                found[key] = value
        if self.product_type is not None:
            found["product_type"] = self.product_type.value
        if self.online is not None:
            found["online"] = self.online
        if self.tags:
            found["tags"] = list(self.tags)
        return found

    @property
    def empty(self) -> bool:
        """Whether the filter is the whole fleet."""
        return not self.to_json()

    def describe(self) -> str:
        """A short text of the criteria, e.g. ``model=X firmware>=1.0 tags=a,b``."""
        parts = []
        if self.model is not None:
            parts.append(f"model={self.model}")
        if self.firmware is not None:
            parts.append(f"firmware={self.firmware}")
        if self.firmware_min is not None:
            parts.append(f"firmware>={self.firmware_min}")
        if self.firmware_below is not None:
            parts.append(f"firmware<{self.firmware_below}")
        if self.product_type is not None:
            parts.append(f"product_type={self.product_type.value}")
        if self.online is not None:
            parts.append("online" if self.online else "offline")
        if self.tags:
            parts.append("tags=" + ",".join(self.tags))
        return " ".join(parts) or "all devices"

    @property
    def ranged(self) -> bool:
        """Whether the filter has a version range."""
        return self.firmware_min is not None or self.firmware_below is not None

    def in_range(self, version: str) -> bool:
        """Whether ``version`` is in the filter's version range (True without one)."""
        key = version_key(version)
        low = version_key(self.firmware_min) if self.firmware_min else None
        high = version_key(self.firmware_below) if self.firmware_below else None
        if key is None:
            return not self.ranged
        return (low is None or key >= low) and (high is None or key < high)

    def conditions(self, versions: Sequence[str] | None = None) -> list[sa.ColumnElement[bool]]:
        """SQL conditions on ``device_registrations`` selecting the filter's devices.

        ``versions``, when given, are the versions in the filter's range (resolved from
        the versions present, :func:`.groups.fleet_conditions`): the range becomes
        ``firmware_version IN (…)``, which costs no regular expression per row.
        """
        reg = DeviceRegistration
        found: list[sa.ColumnElement[bool]] = []
        if self.model is not None:
            found.append(reg.model == self.model)
        if self.firmware is not None:
            found.append(reg.firmware_version == self.firmware)
        key = sa.func.doorstep_version_key(reg.firmware_version)
        if versions is not None and self.ranged:
            found.append(reg.firmware_version.in_(list(versions)) if versions else sa.false())
        else:
            if self.firmware_min is not None:
                found.append(key >= sa.func.doorstep_version_key(self.firmware_min))
            if self.firmware_below is not None:
                found.append(key < sa.func.doorstep_version_key(self.firmware_below))
        if self.product_type is not None:
            found.append(reg.product_type == self.product_type)
        if self.online is not None:
            found.append(reg.online.is_(self.online))
        found.extend(
            sa.exists().where(DeviceTag.device_id == reg.device_id, DeviceTag.tag == tag)
            for tag in self.tags
        )
        return found


def _text(value: object, key: str, errors: list[dict[str, str]]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append({"field": key, "rule": "text"})
        return None
    value = value.strip()
    if not value or len(value) > MAX_TEXT:
        errors.append({"field": key, "rule": "length"})
        return None
    if _CONTROL.search(value):
        errors.append({"field": key, "rule": "printable"})
        return None
    return value


def _product(value: object, errors: list[dict[str, str]]) -> ProductType | None:
    if value is None:
        return None
    try:
        return ProductType(str(value))
    except ValueError:
        errors.append({"field": "product_type", "rule": "product_type"})
        return None


def _tags(value: object, errors: list[dict[str, str]]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence):
        errors.append({"field": "tags", "rule": "list"})
        return ()
    if len(value) > MAX_TAGS:
        errors.append({"field": "tags", "rule": "at_most_10"})
        return ()
    if not all(valid_tag(tag) for tag in value):
        errors.append({"field": "tags", "rule": "tag"})
        return ()
    return tuple(sorted(set(value)))


def _check_range(texts: Mapping[str, str | None], errors: list[dict[str, str]]) -> None:
    low, high = texts["firmware_min"], texts["firmware_below"]
    if texts["firmware"] is not None and (low is not None or high is not None):
        errors.append({"field": "firmware", "rule": "exact_or_range"})
    for key, bound in (("firmware_min", low), ("firmware_below", high)):
        if bound is not None and not version_key(bound):
            errors.append({"field": key, "rule": "version"})
    low_key = version_key(low) if low else None
    high_key = version_key(high) if high else None
    if low_key is not None and high_key is not None and low_key >= high_key:
        errors.append({"field": "firmware_below", "rule": "empty_range"})
