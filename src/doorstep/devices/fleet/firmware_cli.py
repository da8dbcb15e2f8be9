"""``doorstep firmware …``: firmware images and the update of one device (decision 0038).

* ``add --version V --model M [--model M2] [--min-version A] [--max-version B]
  [--notes TEXT] (--file PATH | --url URL --sha256 HEX --size BYTES)`` — upload an
  image (stored under the data dir, SHA-256 computed, served at ``/firmware/<id>``)
  or register one at the operator's URL (kept as given);
* ``list``, ``show ID``, ``remove ID`` (refused while an open operation or a rollout
  uses it);
* ``update DEVICE_ID --image ID [--wait]`` — queue the update of one device; with
  ``--wait``, follow it until it ends (exit 1 when it failed).

``--by`` names who acts (``staff:<uuid>`` or ``system:cli``, audited).  Bad input
exits 2 and nothing is stored; an unknown id or a refusal exits 1.  Output names ids,
versions, states and the device's error codes, never a device identifier.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from doorstep.core.commands import cli_runtime, fail, load_cli_settings
from doorstep.devices.fleet.cli_common import By, actor_of, in_transaction, parse_id, table

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from doorstep.core.runtime import Runtime
    from doorstep.devices.fleet.operations import DeviceOperation

app = typer.Typer(
    help="Firmware images: add (upload or register), list, show, remove; update one device.",
    no_args_is_help=True,
)
Id = Annotated[str, typer.Argument(help="The image's id.")]


@app.command()
def add(  # noqa: PLR0917 - Typer maps options to parameters
    version: Annotated[str, typer.Option(help="The SoftwareVersion the image installs.")],
    model: Annotated[list[str], typer.Option(help="A ModelName it is for (repeatable).")],
    file: Annotated[Path | None, typer.Option(help="Upload this file.")] = None,
    url: Annotated[str | None, typer.Option(help="Or register this download URL.")] = None,
    sha256: Annotated[str | None, typer.Option(help="The registered file's SHA-256.")] = None,
    size: Annotated[int | None, typer.Option(help="The registered file's size (bytes).")] = None,
    min_version: Annotated[str | None, typer.Option(help="Lowest current version.")] = None,
    max_version: Annotated[str | None, typer.Option(help="Highest current version.")] = None,
    notes: Annotated[str, typer.Option(help="Release notes.")] = "",
    by: By = "system:cli",
) -> None:
    """Upload an image file, or register an image by URL, SHA-256 and size."""
    from doorstep.devices.fleet.images import ImageSpec, register_image, upload_image

    actor = actor_of(by)
    if (file is None) == (url is None):
        fail("give either --file or --url", 2)
    if url is not None and (sha256 is None or size is None):
        fail("--url needs --sha256 and --size", 2)
    if file is not None and not file.is_file():
        fail("--file must be a readable file", 2)
    spec = ImageSpec(version, model, min_version, max_version, notes)

    def work(session: Session, runtime: Runtime) -> tuple[str, str]:
        if file is not None:
            with file.open("rb") as source:
                image = upload_image(
                    session,
                    spec,
                    source,
                    settings=runtime.settings,
                    actor=actor,
                    clock=runtime.clock,
                )
        else:
            assert url is not None and sha256 is not None and size is not None
            image = register_image(
                session, spec, url=url, sha256=sha256, size=size, actor=actor, clock=runtime.clock
            )
        return str(image.id), image.sha256

    image_id, digest = in_transaction(work)
    typer.echo(f"firmware: image {image_id} added (sha256 {digest})")


@app.command("list")
def list_images() -> None:
    """The images, newest first."""
    from doorstep.devices.fleet.images import list_images as newest

    def work(session: Session, _runtime: Runtime) -> list[list[str]]:
        return [
            [
                str(i.id),
                i.version,
                ",".join(i.models),
                str(i.size),
                "uploaded" if i.file_name else "url",
                i.created_at.date().isoformat(),
            ]
            for i in newest(session)
        ]

    rows = in_transaction(work)
    header = ["id", "version", "models", "bytes", "source", "added"]
    for line in table(header, rows):
        typer.echo(line)


@app.command()
def show(image_id: Id) -> None:
    """One image: version, models, range, size, SHA-256, where devices download it."""
    from doorstep.devices.fleet.images import describe, download_url, get_image

    wanted = parse_id(image_id, "image id")

    def work(session: Session, runtime: Runtime) -> list[str]:
        image = get_image(session, wanted)
        shown = describe([image])[0]
        shown["download_url"] = download_url(runtime.settings, image)
        return [f"{key}: {value}" for key, value in shown.items()]

    for line in in_transaction(work):
        typer.echo(line)


@app.command()
def remove(image_id: Id, by: By = "system:cli") -> None:
    """Delete an image (refused while an open operation or a rollout uses it)."""
    from doorstep.core.errors import DoorstepError
    from doorstep.devices.fleet.images import discard_file, remove_image

    actor, wanted = actor_of(by), parse_id(image_id, "image id")
    with cli_runtime(load_cli_settings(), "doorstep-fleet") as runtime:
        try:
            with runtime.sessions.begin() as session:
                file_name = remove_image(session, wanted, actor=actor)
        except DoorstepError as exc:
            fail(exc.detail, 1)
        discard_file(runtime.settings, file_name)
    typer.echo(f"firmware: image {wanted} removed")


@app.command()
def update(
    device_id: Annotated[str, typer.Argument(help="The device's inventory id.")],
    image: Annotated[str, typer.Option(help="The image's id.")],
    wait: Annotated[bool, typer.Option(help="Follow the update until it ends.")] = False,
    timeout: Annotated[int, typer.Option(min=1, help="Seconds --wait follows it.")] = 3600,
    by: By = "system:cli",
) -> None:
    """Queue the firmware update of one device (a controller process runs it)."""
    from doorstep.devices.fleet.single import get_operation, request_update, wait_until_done

    actor = actor_of(by)
    device, wanted = parse_id(device_id, "device id"), parse_id(image, "image id")

    def work(session: Session, runtime: Runtime) -> uuid.UUID:
        op = request_update(session, device, wanted, actor=actor, clock=runtime.clock)
        return op.id

    op_id = in_transaction(work)
    typer.echo(f"firmware: update {op_id} queued")
    if not wait:
        return
    with cli_runtime(load_cli_settings(), "doorstep-fleet") as runtime:

        def read() -> DeviceOperation:
            with runtime.sessions() as session:
                return get_operation(session, op_id)

        op = wait_until_done(read, timeout=timeout)
    detail = " ".join(
        f"{key}={value}"
        for key, value in (
            ("reason", op.reason),
            ("usp_code", op.usp_code),
            ("version", (op.result or {}).get("version")),
        )
        if value is not None
    )
    typer.echo(f"firmware: update {op_id} {op.state.value} {detail}".rstrip())
    if op.state.value != "succeeded":
        raise typer.Exit(1)
