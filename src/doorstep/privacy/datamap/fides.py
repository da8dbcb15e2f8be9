"""The data map as a fideslang manifest that Fides can read.

:func:`fides_manifest` returns ``{"dataset": [...], "system": [...]}``, the shape
``fides push`` and :func:`fideslang.parse.load_manifests_into_taxonomy` take:

* one **dataset** (:data:`DATASET_KEY`): a collection per table, a field per
  column.  Personal columns carry their data category; columns declared not
  personal carry ``system.operations`` (Fides's own convention), so a Fides
  scan of the database finds every column accounted for.  ``fides_meta`` marks
  primary keys and foreign keys (``references``, direction ``from``) so Fides
  can walk from a subject to its rows;
* one **system** (:data:`SYSTEM_KEY`) with a privacy declaration per purpose and
  legal basis: data use, categories, subjects, retention, recipients; plus the
  controller, DPO, security practices and third-country transfers.

Deterministic (sorted; no dates) and database-free, like the record of processing.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import yaml

from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.datamap.ropa import Activity, ElementRecord, Ropa, build_ropa
from doorstep.vocabulary.declarations import INFO_KEY, LegalBasis, NotPersonal, PersonalData

DATASET_KEY = "doorstep_postgres"
SYSTEM_KEY = "doorstep"
NOT_PERSONAL_CATEGORY = "system.operations"

#: fideslang's ``LegalBasisForProcessingEnum`` values.
FIDES_LEGAL_BASIS: dict[LegalBasis, str] = {
    LegalBasis.CONSENT: "Consent",
    LegalBasis.CONTRACT: "Contract",
    LegalBasis.LEGAL_OBLIGATION: "Legal obligations",
    LegalBasis.VITAL_INTERESTS: "Vital interests",
    LegalBasis.PUBLIC_INTEREST: "Public interest",
    LegalBasis.LEGITIMATE_INTERESTS: "Legitimate interests",
}

_DATA_TYPES: dict[type, str] = {str: "string", int: "integer", float: "float", bool: "boolean"}


def _data_type(column: sa.Column[Any]) -> str | None:
    """Fides's data type of a column, where one fits (UUIDs and times travel as strings)."""
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return None
    if python_type in _DATA_TYPES:
        return _DATA_TYPES[python_type]
    if python_type.__name__ in {"UUID", "datetime", "date", "time", "Decimal"}:
        return "string"
    return None


def _field(column: sa.Column[Any]) -> dict[str, Any]:
    declaration = column.info.get(INFO_KEY)
    field: dict[str, Any] = {"name": str(column.name)}
    if isinstance(declaration, PersonalData):
        field["description"] = declaration.description or None
        field["data_categories"] = [declaration.category]
    elif isinstance(declaration, NotPersonal):
        field["description"] = f"Not personal: {declaration.reason}"
        field["data_categories"] = [NOT_PERSONAL_CATEGORY]
    meta: dict[str, Any] = {}
    if column.primary_key:
        meta["primary_key"] = True
    data_type = _data_type(column)
    if data_type:
        meta["data_type"] = data_type
    references = sorted(f"{fk.column.table.name}.{fk.column.name}" for fk in column.foreign_keys)
    if references:
        meta["references"] = [
            {"dataset": DATASET_KEY, "field": target, "direction": "from"} for target in references
        ]
    if meta:
        field["fides_meta"] = meta
    return {key: value for key, value in field.items() if value is not None}


def _dataset(metadata: sa.MetaData) -> dict[str, Any]:
    return {
        "fides_key": DATASET_KEY,
        "name": "Doorstep database",
        "description": "Every table of Doorstep's database, generated from its data map.",
        "collections": [
            {
                "name": str(table.name),
                "fields": [
                    _field(column) for column in sorted(table.columns, key=lambda c: c.name)
                ],
            }
            for table in sorted(metadata.tables.values(), key=lambda t: t.name)
        ],
    }


def _declaration(activity: Activity, basis: str, members: list[ElementRecord]) -> dict[str, Any]:
    """The privacy declaration of ``activity``'s elements processed on ``basis``.

    fideslang allows one legal basis per declaration, so an activity whose
    elements rest on several bases becomes one declaration per basis, named
    ``purpose (basis)``.
    """
    name = activity.purpose if len(activity.legal_bases) == 1 else f"{activity.purpose} ({basis})"
    recipients = sorted(
        {r.key: r for m in members for r in m.recipients}.values(), key=lambda r: r.key
    )
    limits = sorted({f"{m.retention.rule}: {m.retention.time_limit}" for m in members})
    declaration: dict[str, Any] = {
        "name": name,
        "data_use": activity.data_use.key,
        "data_categories": sorted({m.data_category.key for m in members}),
        "data_subjects": sorted({m.data_subject.key for m in members}),
        "dataset_references": [DATASET_KEY],
        "legal_basis_for_processing": FIDES_LEGAL_BASIS[LegalBasis(basis)],
        "flexible_legal_basis_for_processing": False,
        "retention_period": "; ".join(limits),
        "data_shared_with_third_parties": bool(recipients),
    }
    if recipients:
        declaration["third_parties"] = "; ".join(
            f"{r.key}: {r.description}" if r.description else r.key for r in recipients
        )
        declaration["shared_categories"] = sorted(
            {m.data_category.key for m in members if m.recipients}
        )
    return declaration


def _system(ropa: Ropa) -> dict[str, Any]:
    by_name = {element.element: element for element in ropa.elements}
    declarations = []
    for activity in ropa.activities:
        for basis in activity.legal_bases:
            members = [
                by_name[name] for name in activity.elements if by_name[name].legal_basis == basis
            ]
            declarations.append(_declaration(activity, basis, members))
    transfers = sorted(
        {place.transfer for activity in ropa.activities for place in activity.transfers}
    )
    controller = ropa.controller
    dpo = controller.dpo
    system: dict[str, Any] = {
        "fides_key": SYSTEM_KEY,
        "name": "Doorstep",
        "description": "Cloud service for the subscribers' routers and home gateways.",
        "system_type": "Service",
        "legal_name": controller.name,
        "legal_address": controller.address,
        "responsibility": ["Controller"],
        "dpo": ", ".join(p for p in (dpo.name, dpo.email, dpo.address) if p) if dpo else None,
        "data_security_practices": "; ".join(ropa.security_measures) or None,
        "does_international_transfers": bool(transfers),
        "legal_basis_for_transfers": transfers,
        "dataset_references": [DATASET_KEY],
        "privacy_declarations": sorted(declarations, key=lambda item: item["name"]),
    }
    return {key: value for key, value in system.items() if value is not None}


def fides_manifest(metadata: sa.MetaData, pack: PolicyPack) -> dict[str, list[dict[str, Any]]]:
    """The dataset and system manifest of ``metadata`` under ``pack``.

    Raises :class:`ConfigurationError` as :func:`build_ropa` does (invalid data
    map, no controller).
    """
    ropa = build_ropa(metadata, pack)
    return {"dataset": [_dataset(metadata)], "system": [_system(ropa)]}


def fides_yaml(metadata: sa.MetaData, pack: PolicyPack) -> str:
    """:func:`fides_manifest` as YAML, with a header saying it is generated."""
    body = yaml.safe_dump(
        fides_manifest(metadata, pack), sort_keys=False, allow_unicode=True, width=100
    )
    return "# Generated by `doorstep datamap export --format fides`; do not edit by hand.\n" + body
