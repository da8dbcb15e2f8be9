"""The registers the record of processing carries beside its activities (decision 0036).

* the **collection points** (CORP-1.1): every way personal data is collected,
  with its kind, purposes, notice and the tables or connected system its
  records go to (:func:`collection_point_records`);
* the **policy's purposes** (CORP-1.2): each purpose as the policy states it,
  the pack purposes that keep it, whether it needs consent, and the data
  categories that follow from those purposes' elements — computed from the
  column declarations and the connected systems' elements, never typed
  (:func:`policy_purpose_categories`, :func:`policy_purpose_records`).

Like the rest of the record they read the schema's metadata and the pack only.
:class:`Term` (a key with its name) lives here so both this module and
:mod:`.ropa` use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.datamap.registry import personal_elements
from doorstep.privacy.datamap.taxonomy import category_name


@dataclass(frozen=True, slots=True)
class Term:
    """A taxonomy or pack key with its human-readable name."""

    key: str
    name: str


@dataclass(frozen=True, slots=True)
class CollectionPointRecord:
    """A collection point as the record shows it."""

    key: str
    kind: str
    description: str
    purposes: tuple[str, ...]
    notice_section: str
    notice_path: str
    #: Doorstep's tables whose rows name the point in ``source``.
    records: tuple[str, ...]
    #: The connected system that holds what is collected there (empty: none).
    system: str


@dataclass(frozen=True, slots=True)
class PolicyPurposeRecord:
    """One of the policy's purposes: its words, the pack purposes and the categories that follow."""

    key: str
    number: int
    quote: str
    maps_to: tuple[str, ...]
    requires_consent: bool
    data_categories: tuple[Term, ...]


def collection_point_records(pack: PolicyPack) -> tuple[CollectionPointRecord, ...]:
    """The pack's collection points, in the pack's order."""
    return tuple(
        CollectionPointRecord(
            key=point.key,
            kind=point.kind.value,
            description=point.description,
            purposes=point.purposes,
            notice_section=point.notice.section,
            notice_path=point.notice.path,
            records=point.records,
            system=point.system,
        )
        for point in pack.collection_points.values()
    )


def categories_by_purpose(
    elements: Iterable[tuple[Iterable[str], str]],
) -> dict[str, frozenset[str]]:
    """Pack purpose -> the categories of the elements (``(purposes, category)``) used for it."""
    found: dict[str, set[str]] = {}
    for purposes, category in elements:
        for purpose in purposes:
            found.setdefault(purpose, set()).add(category)
    return {purpose: frozenset(categories) for purpose, categories in found.items()}


def schema_categories(metadata: sa.MetaData, pack: PolicyPack) -> dict[str, frozenset[str]]:
    """:func:`categories_by_purpose` of the schema's personal elements and the pack's systems'."""
    pairs: list[tuple[Iterable[str], str]] = [
        (declaration.purposes, declaration.category)
        for _, declaration in personal_elements(metadata)
    ]
    pairs += [(item.purposes, item.category) for _, item in pack.systems.elements()]
    return categories_by_purpose(pairs)


def policy_purpose_records(
    pack: PolicyPack, by_purpose: Mapping[str, Iterable[str]]
) -> tuple[PolicyPurposeRecord, ...]:
    """The pack's ``policy_purposes``, each with the categories its pack purposes have."""
    if pack.policy_purposes is None:
        return ()
    return tuple(
        PolicyPurposeRecord(
            key=item.key,
            number=item.number,
            quote=item.quote,
            maps_to=item.maps_to,
            requires_consent=item.requires_consent,
            data_categories=tuple(
                Term(category, category_name(category))
                for category in sorted(
                    {c for purpose in item.maps_to for c in by_purpose.get(purpose, ())}
                )
            ),
        )
        for item in pack.policy_purposes.purposes.values()
    )


def policy_purpose_categories(
    metadata: sa.MetaData, pack: PolicyPack
) -> tuple[PolicyPurposeRecord, ...]:
    """:func:`policy_purpose_records` computed from ``metadata`` and the pack's systems."""
    return policy_purpose_records(pack, schema_categories(metadata, pack))
