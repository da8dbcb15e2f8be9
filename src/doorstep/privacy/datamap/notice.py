"""The "what we collect and why" section of the privacy notice, per product.

:func:`notice_markdown` writes, for one product of the pack (``router``,
``gateway``), a section per purpose that applies to it: why (the purpose's
description), on which legal basis (in plain words), and a table of what is
kept — the data category's name and the element's description — with how long
(the retention rule's description) and where.  Then who it is shared with and
whom to ask.

The notice names kinds of data, never table or column names, and it is made
from declarations and the pack only: it cannot contain a personal-data value.
A purpose applies to a product when the pack's purpose lists it under
``products:`` (or lists no products), so an operator's pack can make the two
notices differ; only elements whose data subject is one the product's notice
speaks to (``products.<key>.subjects``, ``customer`` by default) are listed.
"""

from __future__ import annotations

import sqlalchemy as sa

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.datamap.ropa import Activity, ElementRecord, Ropa, build_ropa
from doorstep.privacy.datamap.wording import LEGAL_BASIS_PLAIN, md_table
from doorstep.vocabulary.declarations import LegalBasis


def check_product(pack: PolicyPack, product: str) -> None:
    """Raise :class:`ConfigurationError` unless ``product`` is a product of ``pack``."""
    if product not in pack.products:
        known = ", ".join(sorted(pack.products)) or "none"
        raise ConfigurationError(
            f"unknown product {product!r}; the policy pack defines: {known}", product=product
        )


def _shared_with(members: list[ElementRecord], controller: str) -> str:
    recipients = {r.key: r for m in members for r in m.recipients}
    if not recipients:
        return f"We do not share it with anyone outside {controller}."
    parts = [recipients[key].description or key for key in sorted(recipients)]
    return "We share it with: " + "; ".join(parts) + "."


def _abroad(members: list[ElementRecord]) -> list[str]:
    places = {(p.kind, p.key): p for m in members for p in (m.region, *m.recipients)}
    return [
        f"It may leave your country ({place.country or place.description or place.key}); "
        f"the transfer is protected by: {place.transfer}."
        for _, place in sorted(places.items())
        if place.transfer
    ]


def _section(activity: Activity, members: list[ElementRecord], ropa: Ropa) -> list[str]:
    rows = sorted(
        {
            (
                member.data_category.name,
                member.description,
                member.retention.description or member.retention.time_limit,
            )
            for member in members
        }
    )
    regions = sorted({m.region.description or m.region.key for m in members})
    bases = [LEGAL_BASIS_PLAIN[LegalBasis(basis)] for basis in activity.legal_bases]
    return [
        f"## {activity.title}",
        "",
        f"**Why:** {activity.description}",
        "",
        f"**Legal basis:** {' '.join(bases)}",
        "",
        *md_table(("What we keep", "What it is", "How long we keep it"), rows),
        "",
        f"**Where it is stored:** {'; '.join(regions)}",
        "",
        _shared_with(members, ropa.controller.name),
        *_abroad(members),
        "",
    ]


def notice_markdown(metadata: sa.MetaData, pack: PolicyPack, product: str) -> str:
    """The "what we collect and why" Markdown for ``product``.

    Raises :class:`ConfigurationError` for a product the pack does not define,
    an invalid data map or a pack without a controller.
    """
    check_product(pack, product)
    ropa = build_ropa(metadata, pack)
    by_name = {element.element: element for element in ropa.elements}
    name = pack.products[product].name
    controller = ropa.controller
    lines = [
        f"# What we collect and why — {name}",
        "",
        f"This is what {controller.name} keeps in the cloud service for your "
        f"{name}, and why. It is generated from the service's data map, "
        "so it lists every kind of personal data the service stores.",
        "",
    ]
    subjects = pack.products[product].subjects
    written = 0
    for activity in ropa.activities:
        if not pack.purposes[activity.purpose].applies_to(product):
            continue
        members = [by_name[n] for n in activity.elements]
        members = [m for m in members if m.data_subject.key in subjects]
        if members:
            lines.extend(_section(activity, members, ropa))
            written += 1
    if not written:
        lines.extend(["We keep no personal data for this product.", ""])
    lines.extend(
        [
            "## Questions",
            "",
            f"For any question about your data, write to {controller.email}, "
            f"or by post to {controller.name}, {controller.address}.",
        ]
    )
    dpo = controller.dpo
    if dpo is not None:
        where = ", ".join(part for part in (dpo.email, dpo.address) if part)
        lines.extend(["", f"Our data protection officer: {dpo.name}, {where}."])
    return "\n".join(lines) + "\n"
