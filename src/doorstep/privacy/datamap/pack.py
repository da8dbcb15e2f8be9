"""The policy pack's data-map vocabulary: purposes, retention rules, regions, recipients.

A pack is a folder with a ``datamap.yaml``; Doorstep ships ``policy_pack/default``.
:func:`load_pack` parses and validates it and raises :class:`ConfigurationError`
naming the offending key with its file and line (``datamap.yaml:42: …``), so a bad
pack stops start-up with a clear message; :func:`read_pack` returns the clause ids
it cites that the catalogue lacks instead, for ``doorstep pack check``.

Besides the vocabulary columns name, a pack says who answers for the processing
and where it applies, for the generated record of processing and notices:

* ``controller:`` — name, e-mail, postal address and the DPO's contact (Art. 30(1)(a));
* ``security_measures:`` — the general description of security measures (Art. 30(1)(g));
* ``products:`` — the products a notice is written for (``router``, ``gateway``)
  and the data subjects it speaks to; a purpose lists the products it applies
  to in ``products:``, or applies to all;
* ``incidents:`` — jurisdictions, their supervisory authorities and the hours to
  notify them and the subjects (never more than decision 0018's 72);
* a region or recipient with ``transfer:`` is in a third country; the value names
  the safeguard (Art. 46), and ``country:`` where it is; a recipient's
  ``contact:`` (an e-mail address) receives erasure and correction notices;
* ``controls:`` — the controls register's intervals and claims (:mod:`.pack_controls`);
* ``usp_paths:`` — per purpose, the TR-181 path prefixes the USP controller may
  name on a device (:mod:`.pack_usp_paths`);
* ``bulk_parameters:`` — the non-personal parameters a fleet action may set on many
  devices at once (:mod:`.pack_bulk_parameters`);
* ``diagnostics:`` — which diagnostic results are stored, under which rule
  (:mod:`.pack_diagnostics`);
* a recipient's ``role:``, ``agreement:``, ``channel:`` and ``shares:`` — the
  recipient registry the sharing gate enforces (:mod:`.pack_recipients`);
* ``collection_points:`` — every way personal data is collected, with purpose
  and notice (:mod:`.pack_collection`, CORP-1.1), and ``policy_purposes:`` — the
  policy's own purpose list mapped to the pack's (:mod:`.pack_policy_purposes`,
  CORP-1.2); each required only of a pack that adopts its clause.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.clause_map import mapped_clause_ids
from doorstep.privacy.datamap.incident_rules import IncidentRules, incident_rules
from doorstep.privacy.datamap.pack_bulk_parameters import BulkParameters, read_bulk_parameters
from doorstep.privacy.datamap.pack_collection import CLAUSE as POINTS_CLAUSE
from doorstep.privacy.datamap.pack_collection import CollectionPoint, read_collection_points
from doorstep.privacy.datamap.pack_controls import ControlsPolicy, read_controls
from doorstep.privacy.datamap.pack_deidentify import read_deidentification
from doorstep.privacy.datamap.pack_diagnostics import DiagnosticsPolicy, read_diagnostics
from doorstep.privacy.datamap.pack_entries import (
    Contact,
    Controller,
    Destination,
    Product,
    Purpose,
    RetentionRule,
    Trigger,
    parse_period,
)
from doorstep.privacy.datamap.pack_lines import PREFIX, at, line_of, load_yaml, located
from doorstep.privacy.datamap.pack_lines import contact as _contact
from doorstep.privacy.datamap.pack_lines import entry as _entry
from doorstep.privacy.datamap.pack_lines import strings as _strings
from doorstep.privacy.datamap.pack_lines import text as _text
from doorstep.privacy.datamap.pack_policy_purposes import CLAUSE as PURPOSES_CLAUSE
from doorstep.privacy.datamap.pack_policy_purposes import PolicyPurposes, read_policy_purposes
from doorstep.privacy.datamap.pack_recipients import RecipientPolicy, read_recipients
from doorstep.privacy.datamap.pack_usp_paths import read_usp_paths
from doorstep.privacy.datamap.systems import SYSTEMS_FILE, SystemsMap, read_systems
from doorstep.privacy.datamap.taxonomy import data_subjects, data_uses
from doorstep.privacy.deidentify import Profile

__all__ = [
    "DATAMAP_FILE",
    "DEFAULT_PACK",
    "Contact",
    "Controller",
    "Destination",
    "PolicyPack",
    "Product",
    "Purpose",
    "RetentionRule",
    "Trigger",
    "default_pack",
    "load_pack",
    "parse_period",
    "read_pack",
]

DEFAULT_PACK = Path(__file__).resolve().parents[2] / "policy_pack" / "default"
#: The pack's vocabulary file; errors name it with the line (``datamap.yaml:42: …``).
DATAMAP_FILE = "datamap.yaml"


@dataclass(frozen=True, slots=True)
class PolicyPack:
    """The parsed vocabulary of one pack.

    ``regions`` and ``recipients`` map keys to descriptions (what declarations
    are checked against); ``region_details`` and ``recipient_details`` carry the
    same entries with their country and transfer safeguard.
    """

    path: Path
    purposes: dict[str, Purpose]
    retention: dict[str, RetentionRule]
    regions: dict[str, str]
    recipients: dict[str, str]
    controller: Controller | None = None
    products: dict[str, Product] = field(default_factory=dict)
    security_measures: tuple[str, ...] = ()
    region_details: dict[str, Destination] = field(default_factory=dict)
    recipient_details: dict[str, Destination] = field(default_factory=dict)
    #: Ids of the pack's clauses.yaml; empty when the pack has none (then ids go unchecked).
    clause_ids: frozenset[str] = frozenset()
    #: Reference-pack ids the pack's clauses name in ``maps_to`` (:mod:`.clause_map`).
    mapped_clause_ids: frozenset[str] = frozenset()
    #: Jurisdictions, authorities and notification clocks of incidents (:mod:`.incident_rules`).
    incidents: IncidentRules = field(default_factory=IncidentRules)
    #: The controls register's intervals and the notice's claims (:mod:`.pack_controls`).
    controls: ControlsPolicy = field(default_factory=ControlsPolicy)
    #: TR-181 path prefixes each purpose may reach on a device (:mod:`.pack_usp_paths`).
    usp_paths: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: What a bulk action may set on many devices (:mod:`.pack_bulk_parameters`).
    bulk_parameters: BulkParameters = field(default_factory=BulkParameters)
    #: Which diagnostic results are stored, under which rule (:mod:`.pack_diagnostics`).
    diagnostics: DiagnosticsPolicy = field(default_factory=DiagnosticsPolicy)
    #: The recipient registry: role, agreement and minimal sets (:mod:`.pack_recipients`).
    sharing: Mapping[str, RecipientPolicy] = field(default_factory=dict)
    #: The operator's other systems holding personal data (``systems.yaml``, :mod:`.systems`).
    systems: SystemsMap = field(default_factory=SystemsMap)
    #: De-identification profiles per destination of logs (:mod:`.pack_deidentify`).
    deidentification: Mapping[str, Profile] = field(default_factory=dict)
    #: Every way personal data is collected, with purpose and notice (:mod:`.pack_collection`).
    collection_points: Mapping[str, CollectionPoint] = field(default_factory=dict)
    #: The policy's purpose list mapped to the pack's (:mod:`.pack_policy_purposes`); None: none.
    policy_purposes: PolicyPurposes | None = None

    @property
    def known_clause_ids(self) -> frozenset[str]:
        """The ids a column declaration may cite: the pack's own and those it maps to."""
        return self.clause_ids | self.mapped_clause_ids


def _clause_ids(path: Path) -> frozenset[str]:
    """The clause ids of ``path/clauses.yaml`` (empty set if the pack has no catalogue)."""
    source = path / "clauses.yaml"
    if not source.exists():
        return frozenset()
    raw = load_yaml(source) or {}
    return frozenset(str(item["id"]) for item in raw.get("clauses") or ())


def _section(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name) or {}
    if not isinstance(value, dict):
        with at(DATAMAP_FILE, raw, name):
            raise ConfigurationError(f"policy pack: '{name}' must be a mapping")
    return value


def _controller(raw: dict[str, Any]) -> Controller | None:
    spec = raw.get("controller")
    if spec is None:
        return None
    values = _contact(spec, "controller", required=("name", "email", "address"))
    dpo = spec.get("dpo")
    return Controller(
        name=values["name"],
        email=values["email"],
        address=values["address"],
        dpo=None
        if dpo is None
        else Contact(**_contact(dpo, "controller.dpo", required=("name", "email"))),
    )


def _products(raw: dict[str, Any]) -> dict[str, Product]:
    products: dict[str, Product] = {}
    section = _section(raw, "products")
    for key, value in section.items():
        with at(DATAMAP_FILE, section, key):
            spec = _entry(value, f"product {key!r}")
            name = _text(spec.get("name"), f"product {key!r} name") or str(key)
            subjects = _strings(spec.get("subjects"), f"product {key!r} subjects") or ("customer",)
            for subject in subjects:
                if subject not in data_subjects():
                    raise ConfigurationError(
                        f"policy pack: product {key!r} names unknown data subject {subject!r}"
                    )
            description = _text(spec.get("description"), f"product {key!r} description")
            products[key] = Product(key, name, description, subjects)
    return products


def _destinations(raw: dict[str, Any], name: str) -> dict[str, Destination]:
    found: dict[str, Destination] = {}
    section = _section(raw, name)
    for key, value in section.items():
        with at(DATAMAP_FILE, section, key):
            spec = _entry(value, f"{name} entry {key!r}")
            found[key] = Destination(
                key,
                _text(spec.get("description"), f"{name}.{key}.description"),
                _text(spec.get("country"), f"{name}.{key}.country"),
                _text(spec.get("transfer"), f"{name}.{key}.transfer"),
                _text(spec.get("contact"), f"{name}.{key}.contact"),
            )
    return found


def _purposes(raw: dict[str, Any], products: dict[str, Product]) -> dict[str, Purpose]:
    purposes: dict[str, Purpose] = {}
    section = _section(raw, "purposes")
    for key, value in section.items():
        with at(DATAMAP_FILE, section, key):
            spec = _entry(value, f"purpose {key!r}")
            use = spec.get("data_use")
            if use not in data_uses():
                with at(DATAMAP_FILE, spec, "data_use"):
                    raise ConfigurationError(
                        f"policy pack: purpose {key!r} has unknown data_use {use!r}"
                    )
            with at(DATAMAP_FILE, spec, "products"):
                applies = _strings(spec.get("products"), f"purpose {key!r} products")
                for product in applies:
                    if product not in products:
                        raise ConfigurationError(
                            f"policy pack: purpose {key!r} names unknown product {product!r}"
                        )
            clauses = _strings(spec.get("clauses"), f"purpose {key!r} clauses")
            purposes[key] = Purpose(key, use, spec.get("description", ""), clauses, applies)
    return purposes


def _retention(raw: dict[str, Any]) -> dict[str, RetentionRule]:
    retention: dict[str, RetentionRule] = {}
    section = _section(raw, "retention")
    for key, value in section.items():
        with at(DATAMAP_FILE, section, key):
            spec = _entry(value, f"retention rule {key!r}")
            with at(DATAMAP_FILE, spec, "trigger"):
                try:
                    trigger = Trigger(str(spec.get("trigger")))
                except ValueError:
                    raise ConfigurationError(
                        f"policy pack: retention rule {key!r} has unknown trigger "
                        f"{spec.get('trigger')!r}"
                    ) from None
            with at(DATAMAP_FILE, spec, "period"):
                try:
                    period = parse_period(str(spec.get("period", "")))
                except ConfigurationError as exc:
                    raise ConfigurationError(
                        f"policy pack: retention rule {key!r}: {exc.detail}"
                    ) from None
            clauses = _strings(spec.get("clauses"), f"retention rule {key!r} clauses")
            description = spec.get("description", "")
            retention[key] = RetentionRule(key, trigger, period, description, clauses)
    return retention


def read_pack(path: Path) -> tuple[PolicyPack, list[str]]:
    """Read ``path/datamap.yaml``: the pack, and each clause id it cites that clauses.yaml lacks.

    A value of the wrong shape or an unknown key raises :class:`ConfigurationError`
    (``policy pack: datamap.yaml:LINE: …``, the first one found); the unknown
    clause ids are returned as ``datamap.yaml:LINE: purpose 'p' cites unknown
    clause 'X'``, every one, so ``doorstep pack check`` can list them all.
    """
    source = path / DATAMAP_FILE
    try:
        raw = load_yaml(source) or {}
    except FileNotFoundError:
        raise ConfigurationError(f"policy pack: {source} does not exist") from None
    if not isinstance(raw, dict):
        raise ConfigurationError(f"policy pack: {source} must hold a mapping")
    products = _products(raw)
    region_details = _destinations(raw, "regions")
    recipient_details = _destinations(raw, "recipients")
    purposes = _purposes(raw, products)
    retention = _retention(raw)
    clause_ids = _clause_ids(path)
    with at(DATAMAP_FILE, raw, "controller"):
        controller = _controller(raw)
    with at(DATAMAP_FILE, raw, "security_measures"):
        measures = _strings(raw.get("security_measures"), "security_measures")
    incidents = incident_rules(raw)
    usp_paths = read_usp_paths(raw, purposes)
    bulk_parameters = read_bulk_parameters(raw, purposes, usp_paths)
    with at(DATAMAP_FILE, raw, "diagnostics"):
        diagnostics = read_diagnostics(raw, retention)
    sharing = read_recipients(raw, purposes)
    deidentification = read_deidentification(raw)
    cited: list[tuple[str, str, dict[str, Purpose] | dict[str, RetentionRule]]]
    cited = [("purpose", "purposes", purposes), ("retention rule", "retention", retention)]
    unknown = [
        located(DATAMAP_FILE, line_of(raw[section][key], "clauses") or line_of(raw[section], key))
        + f"{label} {key!r} cites unknown clause {clause!r}"
        for label, section, items in cited
        for key, item in items.items()
        for clause in item.clauses
        if clause_ids and clause not in clause_ids
    ]
    mapped = mapped_clause_ids(path, DEFAULT_PACK)
    controls, claims_cite = read_controls(raw, clause_ids | mapped if clause_ids else frozenset())
    unknown += claims_cite
    systems = read_systems(path, purposes, retention)
    adopted = clause_ids | mapped
    points = read_collection_points(raw, purposes, systems, required=POINTS_CLAUSE in adopted)
    policy_purposes = read_policy_purposes(raw, path, purposes, required=PURPOSES_CLAUSE in adopted)
    unknown += [
        located(DATAMAP_FILE, line_of(raw["collection_points"][key], "clauses"))
        + f"collection point {key!r} cites unknown clause {clause!r}"
        for key, point in points.items()
        for clause in point.clauses
        if clause_ids and clause not in adopted
    ]
    unknown += [
        f"{SYSTEMS_FILE}: system {system.key!r} element {item.key!r} "
        f"cites unknown clause {clause!r}"
        for system, item in systems.elements()
        for clause in item.clauses
        if clause_ids and clause not in clause_ids | mapped
    ]
    return PolicyPack(
        path,
        purposes,
        retention,
        regions={key: item.description for key, item in region_details.items()},
        recipients={key: item.description for key, item in recipient_details.items()},
        controller=controller,
        products=products,
        security_measures=measures,
        region_details=region_details,
        recipient_details=recipient_details,
        clause_ids=clause_ids,
        mapped_clause_ids=mapped,
        controls=controls,
        incidents=incidents,
        usp_paths=usp_paths,
        bulk_parameters=bulk_parameters,
        diagnostics=diagnostics,
        sharing=sharing,
        systems=systems,
        deidentification=deidentification,
        collection_points=points,
        policy_purposes=policy_purposes,
    ), unknown


def load_pack(path: Path = DEFAULT_PACK) -> PolicyPack:
    """Read and validate ``path/datamap.yaml`` (:func:`read_pack`); any problem raises.

    The :class:`ConfigurationError` names the file and line of each problem:
    ``policy pack: datamap.yaml:42: purpose 'x' has unknown data_use 'y'``.
    """
    pack, unknown = read_pack(path)
    if unknown:
        raise ConfigurationError(PREFIX + "; ".join(unknown), problems=unknown)
    return pack


@cache
def default_pack() -> PolicyPack:
    """The reference pack shipped with Doorstep, loaded once: for tests and tools only.

    Production code never calls this: it uses the pack the ``policy_pack`` setting
    chooses, which the composition root hands down (``Services.pack``,
    :func:`doorstep.privacy.datamap.chosen.chosen_pack`).
    """
    return load_pack(DEFAULT_PACK)
