"""The recipient registry of a pack: who may receive what, for which purpose, under which agreement.

A recipient of ``datamap.yaml`` (CPE-III.1.c, CORP-3.1-3.3, decision 0030) may
carry, beside its description, country and contact::

    recipients:
      smtp_relay:
        description: The SMTP relay that carries our e-mail.
        country: CN
        role: processor            # group_entity | processor | business_partner |
                                   # independent_controller | authority | public
        channel: email             # it carries the outbox's e-mail (email | sms | push);
                                   # several may, at most one per country (decision 0035)
        agreement:                 # needed by every role but authority and public
          type: data_processing    # data_processing | confidentiality | intra_group | data_sharing
          reference: DPA-2026-014
          signed: 2026-01-05
          expires: 2028-01-04      # optional: an agreement without an end
        shares:                    # per purpose, the minimal set of elements (CORP-3.1)
          notification.delivery:
            elements: [outbox.email, outbox.params]
            reason: …              # a group entity's recorded necessity (CORP-3.2)
            ground: minimal_necessary   # business partners only (decision 0020) …
            necessity: after_sales_maintenance   # … and only for these two needs

Several processors may carry one channel, at most one per ``country`` (one
without a country at most): the sharing gate hands a subject's message to the
one in the subject's home country, else to the one in the pack's
``transfers.home``, else to the first declared (decision 0035).
An element is a data-map element (``table.column``) or, for a JSON column, one
key of it (``outbox.params.code``); the sharing gate checks the names
against the schema when it is built.  A recipient without ``role`` is only a
name the disclosure register may cite: no flow reaches it.
:func:`read_recipients` raises :class:`ConfigurationError` at the offending line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack_lines import at, entry, strings, text

SECTION = "recipients"
SECTION_FILE = "datamap.yaml"


class Role(StrEnum):
    """What a recipient is to the operator."""

    GROUP_ENTITY = "group_entity"
    PROCESSOR = "processor"
    BUSINESS_PARTNER = "business_partner"
    INDEPENDENT_CONTROLLER = "independent_controller"
    AUTHORITY = "authority"
    PUBLIC = "public"


#: Roles that sign no agreement: an authority acts under law, the public cannot sign.
UNSIGNED_ROLES = frozenset({Role.AUTHORITY, Role.PUBLIC})


class AgreementType(StrEnum):
    """The kind of agreement a recipient operates under."""

    DATA_PROCESSING = "data_processing"
    CONFIDENTIALITY = "confidentiality"
    INTRA_GROUP = "intra_group"
    DATA_SHARING = "data_sharing"


class Necessity(StrEnum):
    """The only needs for which a business partner gets data without consent (CORP-3.3)."""

    AFTER_SALES = "after_sales_maintenance"
    TRANSPORT = "transport_of_goods"


#: The outbox channels a processor may carry.
CHANNELS = ("email", "sms", "push")


@dataclass(frozen=True, slots=True)
class Agreement:
    """The agreement a recipient operates under; active from ``signed`` to ``expires`` inclusive."""

    type: AgreementType
    reference: str
    signed: date
    expires: date | None = None

    def active_on(self, day: date) -> bool:
        """Whether the agreement is in force on ``day``."""
        return self.signed <= day and (self.expires is None or day <= self.expires)


@dataclass(frozen=True, slots=True)
class Share:
    """What a recipient may receive for one purpose: the minimal set and its justification."""

    purpose: str
    elements: frozenset[str]
    #: A group entity's recorded necessity (CORP-3.2); empty when none is recorded.
    reason: str = ""
    #: ``minimal_necessary`` lets a business partner receive without consent (decision 0020).
    minimal_necessary: bool = False
    necessity: Necessity | None = None


@dataclass(frozen=True, slots=True)
class RecipientPolicy:
    """One registered recipient: role, agreement, outbox channel, and shares per purpose."""

    key: str
    role: Role
    country: str = ""
    agreement: Agreement | None = None
    channel: str = ""
    shares: Mapping[str, Share] = field(default_factory=dict)


def _day(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(text(value, where))
    except ValueError:
        raise ConfigurationError(f"policy pack: {where} must be a date (YYYY-MM-DD)") from None


def _agreement(spec: Any, where: str) -> Agreement | None:
    if spec is None:
        return None
    values = entry(spec, where)
    with at(SECTION_FILE, values, "type"):
        try:
            kind = AgreementType(text(values.get("type"), f"{where}.type"))
        except ValueError:
            raise ConfigurationError(
                f"policy pack: {where}.type must be one of {', '.join(AgreementType)}"
            ) from None
    reference = text(values.get("reference"), f"{where}.reference")
    if not reference:
        with at(SECTION_FILE, values, "reference"):
            raise ConfigurationError(f"policy pack: {where} has no reference")
    with at(SECTION_FILE, values, "signed"):
        signed = _day(values.get("signed"), f"{where}.signed")
    expires = None
    if values.get("expires") is not None:
        with at(SECTION_FILE, values, "expires"):
            expires = _day(values.get("expires"), f"{where}.expires")
            if expires < signed:
                raise ConfigurationError(f"policy pack: {where} expires before it was signed")
    return Agreement(kind, reference, signed, expires)


def _share(key: str, role: Role, purpose: str, spec: Any) -> Share:
    where = f"recipients.{key}.shares.{purpose}"
    values = entry(spec, where)
    with at(SECTION_FILE, values, "elements"):
        elements = frozenset(strings(values.get("elements"), f"{where}.elements"))
        if not elements:
            raise ConfigurationError(f"policy pack: {where} lists no elements")
    ground = text(values.get("ground"), f"{where}.ground") or "consent"
    necessity: Necessity | None = None
    with at(SECTION_FILE, values, "ground"):
        if ground not in ("consent", "minimal_necessary"):
            raise ConfigurationError(
                f"policy pack: {where}.ground must be consent or minimal_necessary"
            )
        if ground == "minimal_necessary":
            if role is not Role.BUSINESS_PARTNER:
                raise ConfigurationError(
                    f"policy pack: {where}: only a business partner shares on minimal_necessary"
                )
            try:
                necessity = Necessity(text(values.get("necessity"), f"{where}.necessity"))
            except ValueError:
                raise ConfigurationError(
                    f"policy pack: {where}: minimal_necessary is allowed only for "
                    f"necessity {' or '.join(Necessity)} (CORP-3.3)"
                ) from None
    return Share(
        purpose,
        elements,
        reason=text(values.get("reason"), f"{where}.reason"),
        minimal_necessary=ground == "minimal_necessary",
        necessity=necessity,
    )


def _recipient(key: str, spec: dict[str, Any], purposes: Mapping[str, object]) -> RecipientPolicy:
    with at(SECTION_FILE, spec, "role"):
        try:
            role = Role(text(spec.get("role"), f"recipients.{key}.role"))
        except ValueError:
            raise ConfigurationError(
                f"policy pack: recipients.{key}.role must be one of {', '.join(Role)}"
            ) from None
    with at(SECTION_FILE, spec, "agreement"):
        agreement = _agreement(spec.get("agreement"), f"recipients.{key}.agreement")
    with at(SECTION_FILE, spec, "channel"):
        channel = text(spec.get("channel"), f"recipients.{key}.channel")
        if channel and (channel not in CHANNELS or role is not Role.PROCESSOR):
            raise ConfigurationError(
                f"policy pack: recipients.{key}.channel must be one of {', '.join(CHANNELS)}, "
                "on a processor"
            )
    shares: dict[str, Share] = {}
    section = entry(spec.get("shares"), f"recipients.{key}.shares")
    for purpose, value in section.items():
        with at(SECTION_FILE, section, purpose):
            if purpose not in purposes:
                raise ConfigurationError(
                    f"policy pack: recipients.{key}.shares names undeclared purpose {purpose!r}"
                )
            shares[purpose] = _share(key, role, purpose, value)
    return RecipientPolicy(
        key,
        role,
        country=text(spec.get("country"), f"recipients.{key}.country"),
        agreement=agreement,
        channel=channel,
        shares=MappingProxyType(shares),
    )


def read_recipients(
    raw: Mapping[str, Any], purposes: Mapping[str, object]
) -> Mapping[str, RecipientPolicy]:
    """The registered recipients of ``raw`` (those with a ``role``), validated."""
    section = raw.get(SECTION) or {}
    if not isinstance(section, dict):
        return MappingProxyType({})  # the destinations reader reports the shape
    found: dict[str, RecipientPolicy] = {}
    channels: dict[tuple[str, str], str] = {}
    for key, value in section.items():
        if not isinstance(value, dict) or value.get("role") is None:
            continue
        with at(SECTION_FILE, section, key):
            policy = _recipient(str(key), value, purposes)
            if policy.channel:
                carried = (policy.channel, policy.country)
                if carried in channels:
                    where = f"in {policy.country}" if policy.country else "without a country"
                    raise ConfigurationError(
                        f"policy pack: recipients {channels[carried]!r} and {key!r} "
                        f"both carry channel {policy.channel!r} {where}"
                    )
                channels[carried] = str(key)
            found[str(key)] = policy
    return MappingProxyType(found)
