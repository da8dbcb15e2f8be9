"""The record of processing as JSON, CSV and Markdown.

* JSON — :meth:`Ropa.as_dict`, indented, keys in declaration order; ``format``
  and ``version`` say which shape it has.
* CSV — one row per (processing activity, element) pair (:data:`CSV_COLUMNS`), so a
  spreadsheet filtered on ``purpose`` is the Art. 30 entry of that activity;
  controller, DPO and general measures repeat on every row so each row stands
  alone.  Several values in one cell are joined with ``"; "``.
* Markdown — the controller, the general measures, one section per activity,
  the collection points (CORP-1.1), the policy's purposes with their data
  categories (CORP-1.2) and a table of every element.  (The JSON document holds
  both registers too; the CSV, one row per activity and element, does not.)

Each renderer returns text ending in a newline and never reads the database.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

from doorstep.privacy.datamap.pack import Contact
from doorstep.privacy.datamap.ropa import Activity, ElementRecord, Place, Ropa
from doorstep.privacy.datamap.ropa_registers import Term
from doorstep.privacy.datamap.wording import LEGAL_BASIS_ARTICLE, md_table
from doorstep.vocabulary.declarations import LegalBasis

FORMATS = ("csv", "json", "markdown")

CSV_COLUMNS = (
    "purpose",
    "purpose_description",
    "data_use",
    "products",
    "element",
    "element_description",
    "data_category",
    "data_category_name",
    "data_subject",
    "legal_basis",
    "retention_rule",
    "erasure_time_limit",
    "storage_region",
    "recipients",
    "third_country_transfers",
    "security_measures",
    "clauses",
    "controller",
    "controller_contact",
    "dpo_contact",
    "export",
    "export_reason",
)

_SEP = "; "


def to_json(ropa: Ropa) -> str:
    """The record as an indented JSON document."""
    return json.dumps(ropa.as_dict(), indent=2, ensure_ascii=False) + "\n"


def _contact(contact: Contact | None) -> str:
    if contact is None:
        return "not designated"
    return ", ".join(part for part in (contact.name, contact.email, contact.address) if part)


def _transfer(place: Place) -> str:
    where = f" ({place.country})" if place.country else ""
    return f"{place.kind} {place.key}{where}: {place.transfer}"


def _csv_row(activity: Activity, element: ElementRecord, ropa: Ropa) -> dict[str, str]:
    places = [element.region, *element.recipients]
    measures = [*ropa.security_measures]
    if element.encrypted:
        measures.append("encrypted with the data subject's own key")
    controller = ropa.controller
    return {
        "purpose": activity.purpose,
        "purpose_description": activity.description,
        "data_use": activity.data_use.key,
        "products": _SEP.join(activity.products),
        "element": element.element,
        "element_description": element.description,
        "data_category": element.data_category.key,
        "data_category_name": element.data_category.name,
        "data_subject": element.data_subject.key,
        "legal_basis": element.legal_basis,
        "retention_rule": element.retention.rule,
        "erasure_time_limit": element.retention.time_limit,
        "storage_region": element.region.key,
        "recipients": _SEP.join(place.key for place in element.recipients),
        "third_country_transfers": _SEP.join(_transfer(p) for p in places if p.transfer),
        "security_measures": _SEP.join(measures),
        "clauses": _SEP.join(element.clauses),
        "controller": controller.name,
        "controller_contact": _contact(
            Contact(controller.name, controller.email, controller.address)
        ),
        "dpo_contact": _contact(controller.dpo),
        "export": element.export,
        "export_reason": element.export_reason,
    }


def to_csv(ropa: Ropa) -> str:
    """One row per (activity, element) pair, columns :data:`CSV_COLUMNS`, ``\\n`` line ends."""
    by_name = {element.element: element for element in ropa.elements}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for activity in ropa.activities:
        for name in activity.elements:
            writer.writerow(_csv_row(activity, by_name[name], ropa))
    return out.getvalue()


def _terms(terms: Iterable[Term]) -> str:
    return ", ".join(f"{term.name} (`{term.key}`)" for term in terms) or "none"


def _places(places: Iterable[Place]) -> str:
    return "; ".join(f"`{place.key}` — {place.description}" for place in places)


def _activity_lines(activity: Activity) -> list[str]:
    limits = [f"`{limit.rule}` — {limit.time_limit}" for limit in activity.retention]
    bases = [LEGAL_BASIS_ARTICLE[LegalBasis(basis)] for basis in activity.legal_bases]
    return [
        f"### {activity.title} (`{activity.purpose}`)",
        "",
        f"- **Purpose:** {activity.description}",
        f"- **Data use:** {activity.data_use.name} (`{activity.data_use.key}`)",
        f"- **Products:** {', '.join(activity.products) or 'all'}",
        f"- **Legal basis:** {'; '.join(bases)}",
        f"- **Categories of data subjects:** {_terms(activity.data_subjects)}",
        f"- **Categories of personal data:** {_terms(activity.data_categories)}",
        "- **Recipients:** " + (_places(activity.recipients) or "none outside the controller"),
        f"- **Storage regions:** {_places(activity.regions)}",
        "- **Transfers to third countries:** "
        + ("; ".join(_transfer(place) for place in activity.transfers) or "none"),
        f"- **Time limits for erasure:** {'; '.join(limits)}",
        f"- **Security measures:** {'; '.join(activity.security_measures) or 'none stated'}",
        f"- **Policy clauses:** {', '.join(activity.clauses) or 'none'}",
        f"- **Elements:** {', '.join(f'`{name}`' for name in activity.elements)}",
        "",
    ]


def _register_lines(ropa: Ropa) -> list[str]:
    """The collection points and the policy's purposes, when the pack declares them."""
    lines: list[str] = []
    if ropa.collection_points:
        lines += ["## Collection points", ""]
        lines += md_table(
            ("Point", "Kind", "Purposes", "Notice", "Records"),
            [
                (
                    f"`{point.key}` — {point.description}",
                    point.kind,
                    ", ".join(point.purposes),
                    "; ".join(p for p in (point.notice_section, point.notice_path) if p),
                    ", ".join(f"`{table}`" for table in point.records)
                    or (f"system `{point.system}`" if point.system else "—"),
                )
                for point in ropa.collection_points
            ],
        )
        lines.append("")
    if ropa.policy_purposes:
        lines += ["## The policy's purposes", ""]
        lines += md_table(
            ("#", "Purpose", "Kept by", "Consent", "Categories of personal data"),
            [
                (
                    str(item.number),
                    f"`{item.key}` — {item.quote}",
                    ", ".join(item.maps_to),
                    "required" if item.requires_consent else "—",
                    _terms(item.data_categories),
                )
                for item in ropa.policy_purposes
            ],
        )
        lines.append("")
    return lines


def to_markdown(ropa: Ropa) -> str:
    """The record as a Markdown document for people to read."""
    controller = ropa.controller
    lines = [
        "# Record of processing activities",
        "",
        "Generated by `doorstep datamap ropa` from the data map and the policy pack "
        "(GDPR Art. 30(1)); do not edit by hand.",
        "",
        "## Controller",
        "",
        *md_table(
            ("Item", "Value"),
            [
                ("Controller", controller.name),
                ("E-mail", controller.email),
                ("Address", controller.address),
                ("Data protection officer", _contact(controller.dpo)),
            ],
        ),
        "",
        "## Security measures (general description)",
        "",
        *([f"- {measure}" for measure in ropa.security_measures] or ["- none stated"]),
        "",
        "## Processing activities",
        "",
    ]
    for activity in ropa.activities:
        lines.extend(_activity_lines(activity))
    lines.extend(_register_lines(ropa))
    lines.extend(["## Elements", ""])
    lines.extend(
        md_table(
            (
                "Element",
                "Category",
                "Subject",
                "Purposes",
                "Legal basis",
                "Erasure",
                "Region",
                "Recipients",
                "Encrypted",
                "In exports",
            ),
            [
                (
                    f"`{e.element}`",
                    f"`{e.data_category.key}`",
                    e.data_subject.key,
                    ", ".join(e.purposes),
                    e.legal_basis,
                    e.retention.time_limit,
                    e.region.key,
                    ", ".join(r.key for r in e.recipients) or "—",
                    "yes" if e.encrypted else "no",
                    e.export if e.export == "value" else f"{e.export}: {e.export_reason}",
                )
                for e in ropa.elements
            ],
        )
    )
    return "\n".join(lines) + "\n"


def render(ropa: Ropa, fmt: str) -> str:
    """``ropa`` in ``fmt`` (one of :data:`FORMATS`); ``ValueError`` for any other."""
    renderers = {"csv": to_csv, "json": to_json, "markdown": to_markdown}
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    return renderers[fmt](ropa)
