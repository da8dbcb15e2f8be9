"""``doorstep datamap …``: check the data map and generate what is made from it.

Commands (but for ``scope``, none of them touches the database — they read the
models' metadata and the policy pack, so an auditor can run them from a checkout):

* ``check`` — validate every declaration against the pack; list the elements;
* ``ropa`` — the record of processing activities (GDPR Art. 30) as JSON, CSV or Markdown;
* ``export --format fides`` — a fideslang dataset + system manifest (YAML);
* ``notice --product P`` — the "what we collect and why" section for a product.
* ``purposes`` — the policy's purposes (CORP-1.2), each with the pack purposes
  that keep it and the data categories that follow from their elements;
* ``collection-points`` — every way personal data is collected (CORP-1.1), with
  kind, purposes, notice and where its records go.
* ``scope SERVICE…`` — which policy of the pack applies to a service (CPE-0.1, CORP-0.2);
  the one command that writes: each answer is recorded in the audit trail, so it
  needs the database.

``--pack DIR`` picks the policy pack; without it, the pack in force (the
``policy_pack`` setting, ``DOORSTEP_POLICY_PACK``; the shipped reference pack by
default).  ``--output FILE`` writes there instead of stdout.

Exit codes: 0 done; 1 the data map is invalid (the problems are listed, one per
line); 2 bad usage — unknown format or product, a broken pack, a pack without
the section a document needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from doorstep.core.errors import ConfigurationError

if TYPE_CHECKING:
    import sqlalchemy as sa

    from doorstep.privacy.datamap.pack import PolicyPack

app = typer.Typer(
    help="The data map: check declarations; generate the record of processing, "
    "the Fides export and the privacy notice's 'what we collect' section.",
    no_args_is_help=True,
)

PackOption = Annotated[
    Path | None,
    typer.Option(
        "--pack",
        help="Policy pack folder (holds datamap.yaml); default: the pack in force "
        "(DOORSTEP_POLICY_PACK).",
        show_default=False,
    ),
]
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write to this file instead of stdout."),
]


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"doorstep: {message}", err=True)
    raise typer.Exit(code)


def _pack(pack_dir: Path | None) -> PolicyPack:
    """The pack at ``pack_dir`` (the one in force for None); exit 2 if it is broken."""
    from doorstep.core.commands import load_cli_settings
    from doorstep.privacy.datamap.chosen import chosen_pack
    from doorstep.privacy.datamap.pack import load_pack

    try:
        if pack_dir is None:
            return chosen_pack(load_cli_settings())
        return load_pack(pack_dir)
    except ConfigurationError as exc:
        _fail(exc.detail, 2)


def _metadata(pack: PolicyPack) -> sa.MetaData:
    """The schema's metadata once every declaration fits ``pack``; else exit 1 listing why."""
    from doorstep.core.models import schema_metadata
    from doorstep.privacy.datamap.registry import collect, problems

    metadata = schema_metadata()

    found = problems(collect(metadata), pack)
    if found:
        typer.echo("doorstep: the data map is invalid:", err=True)
        for problem in found:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(1)
    return metadata


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror}", 1)
    typer.echo(f"doorstep: wrote {output}", err=True)


def _choice(value: str, choices: tuple[str, ...], option: str) -> str:
    if value not in choices:
        _fail(f"unknown {option} {value!r}; choose one of: {', '.join(choices)}", 2)
    return value


@app.command()
def check(pack: PackOption = None) -> None:
    """Validate every column's declaration against the pack and list the elements."""
    from doorstep.privacy.datamap.registry import collect
    from doorstep.vocabulary.declarations import PersonalData

    metadata = _metadata(_pack(pack))
    items = collect(metadata)
    width = max((len(item.element) for item in items), default=0)
    personal = 0
    for item in items:
        declaration = item.declaration
        if isinstance(declaration, PersonalData):
            personal += 1
            typer.echo(
                f"{item.element:<{width}}  personal      {declaration.category}  "
                f"subject={declaration.subject}  "
                f"purposes={','.join(sorted(declaration.purposes))}  "
                f"basis={declaration.legal_basis.value}  retention={declaration.retention}  "
                f"export={declaration.export.how.value}"
            )
        elif declaration is not None:
            exported = "  (exported as context)" if declaration.exported else ""
            typer.echo(f"{item.element:<{width}}  not personal  {declaration.reason}{exported}")
    typer.echo(
        f"data map valid: {len(items)} columns in {len(metadata.tables)} tables, "
        f"{personal} personal elements"
    )


@app.command()
def ropa(
    fmt: Annotated[str, typer.Option("--format", "-f", help="json, csv or markdown.")] = "markdown",
    output: OutputOption = None,
    pack: PackOption = None,
) -> None:
    """The record of processing activities (GDPR Art. 30), per purpose and per element."""
    from doorstep.privacy.datamap.ropa import build_ropa
    from doorstep.privacy.datamap.ropa_formats import FORMATS, render

    _choice(fmt, FORMATS, "--format")
    loaded = _pack(pack)
    metadata = _metadata(loaded)
    try:
        record = build_ropa(metadata, loaded)
    except ConfigurationError as exc:
        _fail(exc.detail, 2)
    _emit(render(record, fmt), output)


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", "-f", help="fides (YAML manifest).")] = "fides",
    output: OutputOption = None,
    pack: PackOption = None,
) -> None:
    """Export the data map for another tool: a fideslang dataset and system (YAML)."""
    from doorstep.privacy.datamap.fides import fides_yaml

    _choice(fmt, ("fides",), "--format")
    loaded = _pack(pack)
    metadata = _metadata(loaded)
    try:
        text = fides_yaml(metadata, loaded)
    except ConfigurationError as exc:
        _fail(exc.detail, 2)
    _emit(text, output)


@app.command()
def notice(
    product: Annotated[
        str, typer.Option("--product", "-p", help="A product of the pack: router, gateway …")
    ],
    output: OutputOption = None,
    pack: PackOption = None,
) -> None:
    """The privacy notice's "what we collect and why" section for one product (Markdown)."""
    from doorstep.privacy.datamap.notice import check_product, notice_markdown

    loaded = _pack(pack)
    try:
        check_product(loaded, product)
    except ConfigurationError as exc:
        _fail(exc.detail, 2)
    metadata = _metadata(loaded)
    try:
        text = notice_markdown(metadata, loaded, product)
    except ConfigurationError as exc:
        _fail(exc.detail, 2)
    _emit(text, output)


@app.command()
def purposes(pack: PackOption = None) -> None:
    """The policy's purposes, each with the pack purposes and data categories that follow."""
    from doorstep.privacy.datamap.ropa_registers import policy_purpose_categories

    loaded = _pack(pack)
    if loaded.policy_purposes is None:
        _fail("the policy pack declares no 'policy_purposes:'", 2)
    records = policy_purpose_categories(_metadata(loaded), loaded)
    for item in records:
        consent = "  (consent required)" if item.requires_consent else ""
        typer.echo(f"{item.number:>2}. {item.key}: {item.quote}{consent}")
        typer.echo(f"    kept by: {', '.join(item.maps_to)}")
        categories = ", ".join(term.key for term in item.data_categories) or "none"
        typer.echo(f"    data categories: {categories}")
    mapped = {purpose for item in records for purpose in item.maps_to}
    rest = sorted(set(loaded.purposes) - mapped)
    typer.echo(f"{len(records)} policy purposes; pack purposes outside them: {', '.join(rest)}")


@app.command("collection-points")
def collection_points(pack: PackOption = None) -> None:
    """Every registered way personal data is collected, with purpose and notice."""
    loaded = _pack(pack)
    if not loaded.collection_points:
        _fail("the policy pack declares no 'collection_points:'", 2)
    for point in loaded.collection_points.values():
        where = ", ".join(point.records) or (f"system {point.system}" if point.system else "-")
        typer.echo(
            f"{point.key}  kind={point.kind.value}  purposes={','.join(point.purposes)}  "
            f"records={where}  notice={point.notice}"
        )
    typer.echo(f"{len(loaded.collection_points)} collection points")


@app.command()
def scope(
    services: Annotated[
        list[str],
        typer.Argument(
            help="Declared service names (app_api …) or descriptions kind=…,line=…,market=…."
        ),
    ],
) -> None:
    """Which policy of the pack in force applies to each service (recorded in the audit trail)."""
    from doorstep.core.commands import cli_runtime, load_cli_settings
    from doorstep.privacy.datamap.chosen import chosen_pack
    from doorstep.privacy.datamap.scope import parse_service, record_resolution, scope_of

    settings = load_cli_settings()
    try:
        declared = scope_of(chosen_pack(settings).path)
        answers = [declared.resolve(parse_service(service)) for service in services]
    except ConfigurationError as exc:
        _fail(exc.detail, 2)
    except LookupError as exc:
        _fail(str(exc), 1)
    with cli_runtime(settings, "doorstep-datamap") as runtime, runtime.sessions.begin() as session:
        for answer in answers:
            record_resolution(session, answer, actor="system:cli")
    for answer in answers:
        fallback = ", ".join(policy.key for policy in answer.fallbacks) or "none"
        described = ",".join(f"{name}={value}" for name, value in answer.attributes)
        typer.echo(
            f"{answer.service or described}: {answer.policy.key} ({answer.policy.name}); "
            f"fallback: {fallback}"
        )
