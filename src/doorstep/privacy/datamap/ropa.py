"""The record of processing activities (GDPR Art. 30), built from the data map.

:func:`build_ropa` joins every personal element's declaration with the policy
pack and returns a :class:`Ropa`: the controller and its DPO, the general
security measures, one :class:`Activity` per purpose (Art. 30 is kept per
processing activity) and one :class:`ElementRecord` per element.  Everything is
sorted, so the same schema and pack give byte-identical documents;
:mod:`.ropa_formats` renders it as JSON, CSV or Markdown.

It reads model metadata and the pack only — never the database — so an
auditor can generate it from a checkout.

Art. 30(1) point by point:

* (a) controller and DPO contact — ``controller:`` of the pack;
* (b) purposes — :attr:`Activity.purpose` and its description;
* (c) categories of data subjects and of personal data — fideslang keys and names;
* (d) categories of recipients — the pack's recipients the elements name;
* (e) transfers to third countries — regions and recipients marked ``transfer:``;
* (f) time limits for erasure — the elements' retention rules;
* (g) security measures — the pack's ``security_measures:`` plus per-element
  encryption with the subject's own key.

Each element also records what access and portability exports show of it
(``export``: value, description or omitted, with ``export_reason``; see
:mod:`doorstep.vocabulary.export_decisions`).

The operator's connected systems (the pack's ``systems.yaml``,
:mod:`.systems`) are covered like Doorstep's own tables: each of their
elements is an :class:`ElementRecord` whose ``system`` names the system
(``table`` is then the system's table or the system key), flagged
``sensitive`` (CORP-1.20) or ``tokenised`` (CORP-1.21), and joins the
activities of its purposes.

Beside the activities the record carries the pack's collection points (CORP-1.1)
and the policy's own purposes with the data categories that follow from their
pack purposes' elements (CORP-1.2), :mod:`.ropa_registers`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack import Controller, Destination, PolicyPack
from doorstep.privacy.datamap.registry import collect, validate_datamap
from doorstep.privacy.datamap.ropa_registers import (
    CollectionPointRecord,
    PolicyPurposeRecord,
    Term,
    categories_by_purpose,
    collection_point_records,
    policy_purpose_records,
)
from doorstep.privacy.datamap.systems import ConnectedSystem, SystemElement
from doorstep.privacy.datamap.taxonomy import category_name, subject_name, use_name
from doorstep.privacy.datamap.wording import iso_period, purpose_title, time_limit
from doorstep.vocabulary.declarations import ColumnDeclaration, PersonalData

FORMAT = "doorstep.ropa"
#: Bumped when a key of the JSON document is renamed or removed (adding one is compatible).
FORMAT_VERSION = 1

ENCRYPTION_MEASURE = (
    "Encrypted at rest with the data subject's own data key; destroying the key "
    "makes every copy unreadable (crypto-shredding)"
)


@dataclass(frozen=True, slots=True)
class Place:
    """A storage region or a recipient; ``transfer`` names the safeguard of a third country."""

    kind: str
    key: str
    description: str
    country: str
    transfer: str


@dataclass(frozen=True, slots=True)
class Limit:
    """A retention rule as a time limit for erasure."""

    rule: str
    trigger: str
    period: str
    time_limit: str
    description: str


@dataclass(frozen=True, slots=True)
class ElementRecord:
    """One personal-data element (a column) with everything its declaration says."""

    element: str
    table: str
    column: str
    description: str
    data_category: Term
    data_subject: Term
    purposes: tuple[str, ...]
    legal_basis: str
    retention: Limit
    region: Place
    recipients: tuple[Place, ...]
    encrypted: bool
    products: tuple[str, ...]
    clauses: tuple[str, ...]
    export: str
    export_reason: str
    #: The connected system holding the element (empty for Doorstep's own schema).
    system: str = ""
    sensitive: bool = False
    tokenised: bool = False
    #: Where acquired data came from (CORP-1.17): origin, basis and acquisition date.
    source: str = ""


@dataclass(frozen=True, slots=True)
class Activity:
    """One processing activity: a purpose and every element processed for it."""

    purpose: str
    title: str
    description: str
    data_use: Term
    products: tuple[str, ...]
    legal_bases: tuple[str, ...]
    data_subjects: tuple[Term, ...]
    data_categories: tuple[Term, ...]
    recipients: tuple[Place, ...]
    regions: tuple[Place, ...]
    transfers: tuple[Place, ...]
    retention: tuple[Limit, ...]
    security_measures: tuple[str, ...]
    clauses: tuple[str, ...]
    elements: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Ropa:
    """The whole record: controller, general measures, activities and elements."""

    controller: Controller
    security_measures: tuple[str, ...]
    products: tuple[Term, ...]
    activities: tuple[Activity, ...]
    elements: tuple[ElementRecord, ...]
    #: Every way personal data is collected, with purpose and notice (CORP-1.1).
    collection_points: tuple[CollectionPointRecord, ...] = ()
    #: The policy's purposes with the data categories that follow (CORP-1.2).
    policy_purposes: tuple[PolicyPurposeRecord, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The JSON document: ``format`` and ``version`` first, then the record."""
        return {"format": FORMAT, "version": FORMAT_VERSION, **asdict(self)}


def _place(kind: str, item: Destination) -> Place:
    return Place(kind, item.key, item.description, item.country, item.transfer)


def _products(declaration: PersonalData, pack: PolicyPack) -> tuple[str, ...]:
    """The products any of the element's purposes applies to."""
    return tuple(
        product
        for product in sorted(pack.products)
        if any(pack.purposes[purpose].applies_to(product) for purpose in declaration.purposes)
    )


def _element(item: ColumnDeclaration, declaration: PersonalData, pack: PolicyPack) -> ElementRecord:
    rule = pack.retention[declaration.retention]
    return ElementRecord(
        element=item.element,
        table=item.table,
        column=item.column,
        description=declaration.description,
        data_category=Term(declaration.category, category_name(declaration.category)),
        data_subject=Term(declaration.subject, subject_name(declaration.subject)),
        purposes=tuple(sorted(declaration.purposes)),
        legal_basis=declaration.legal_basis.value,
        retention=Limit(
            rule.key,
            rule.trigger.value,
            iso_period(rule.period),
            time_limit(rule),
            rule.description,
        ),
        region=_place("region", pack.region_details[declaration.region]),
        recipients=tuple(
            _place("recipient", pack.recipient_details[key])
            for key in sorted(set(declaration.recipients))
        ),
        encrypted=declaration.secret,
        products=_products(declaration, pack),
        clauses=tuple(sorted(set(declaration.clauses))),
        export=declaration.export.how.value,
        export_reason=declaration.export.reason,
    )


def _limit(pack: PolicyPack, key: str) -> Limit:
    rule = pack.retention[key]
    return Limit(
        rule.key, rule.trigger.value, iso_period(rule.period), time_limit(rule), rule.description
    )


def _system_element(
    system: ConnectedSystem, item: SystemElement, pack: PolicyPack
) -> ElementRecord:
    table, _, column = item.key.rpartition(".")
    source = system.source
    return ElementRecord(
        element=f"{system.key}:{item.key}",
        table=f"{system.key}:{table}" if table else system.key,
        column=column,
        description=item.description,
        data_category=Term(item.category, category_name(item.category)),
        data_subject=Term(item.subject, subject_name(item.subject)),
        purposes=tuple(sorted(item.purposes)),
        legal_basis=item.legal_basis.value,
        retention=_limit(pack, item.retention),
        region=_place("region", pack.region_details[next(iter(sorted(pack.region_details)))])
        if pack.region_details
        else Place("region", "", "", "", ""),
        recipients=(),
        encrypted=False,
        products=tuple(
            product
            for product in sorted(pack.products)
            if any(pack.purposes[purpose].applies_to(product) for purpose in item.purposes)
        ),
        clauses=tuple(sorted(set(item.clauses))),
        export="value",
        export_reason="",
        system=system.key,
        sensitive=item.sensitive,
        tokenised=item.tokenised,
        source=f"{source.origin}; {source.basis}; acquired {source.acquired_on}" if source else "",
    )


def _unique(items: list[Any]) -> tuple[Any, ...]:
    """Distinct items sorted by their fields (dataclasses of strings sort as tuples)."""
    return tuple(sorted(set(items), key=lambda item: tuple(asdict(item).values())))


def _activity(purpose: str, members: list[ElementRecord], pack: PolicyPack) -> Activity:
    spec = pack.purposes[purpose]
    encrypted = [member.element for member in members if member.encrypted]
    measures = list(pack.security_measures)
    if encrypted:
        measures.append(f"{ENCRYPTION_MEASURE}: {', '.join(encrypted)}")
    places = [member.region for member in members] + [
        recipient for member in members for recipient in member.recipients
    ]
    return Activity(
        purpose=purpose,
        title=purpose_title(purpose),
        description=spec.description,
        data_use=Term(spec.data_use, use_name(spec.data_use)),
        products=tuple(sorted(spec.products or pack.products)),
        legal_bases=tuple(sorted({member.legal_basis for member in members})),
        data_subjects=_unique([member.data_subject for member in members]),
        data_categories=_unique([member.data_category for member in members]),
        recipients=_unique([r for member in members for r in member.recipients]),
        regions=_unique([member.region for member in members]),
        transfers=_unique([place for place in places if place.transfer]),
        retention=_unique([member.retention for member in members]),
        security_measures=tuple(measures),
        clauses=tuple(
            sorted(set(spec.clauses) | {c for member in members for c in member.clauses})
        ),
        elements=tuple(member.element for member in members),
    )


def build_ropa(metadata: sa.MetaData, pack: PolicyPack) -> Ropa:
    """The record of processing of ``metadata`` under ``pack``.

    Raises :class:`ConfigurationError` when the data map is invalid (see
    :func:`validate_datamap`) or the pack has no ``controller:`` section.
    Purposes no element uses are left out: nothing is processed for them.
    """
    validate_datamap(metadata, pack)
    if pack.controller is None:
        raise ConfigurationError(
            "policy pack: no 'controller:' section; the record of processing needs "
            "the controller's name, e-mail and address (and its DPO's contact)"
        )
    elements = tuple(
        _element(item, item.declaration, pack)
        for item in collect(metadata)
        if isinstance(item.declaration, PersonalData)
    ) + tuple(_system_element(system, item, pack) for system, item in pack.systems.elements())
    by_purpose: dict[str, list[ElementRecord]] = {}
    for record in elements:
        for purpose in record.purposes:
            by_purpose.setdefault(purpose, []).append(record)
    return Ropa(
        controller=pack.controller,
        security_measures=pack.security_measures,
        products=tuple(Term(key, pack.products[key].name) for key in sorted(pack.products)),
        activities=tuple(
            _activity(purpose, by_purpose[purpose], pack) for purpose in sorted(by_purpose)
        ),
        elements=elements,
        collection_points=collection_point_records(pack),
        policy_purposes=policy_purpose_records(
            pack,
            categories_by_purpose((item.purposes, item.data_category.key) for item in elements),
        ),
    )
