"""The composition root: the long-lived services of one process, built from its Runtime.

Areas are plain modules; this is the one place that builds the objects they
share (the key service, the purpose gate, delivery adapters …) and hands them
to HTTP handlers, jobs and commands.  Nothing here is global: the ASGI app keeps
its :class:`Services` in ``app.state.services``.

For HTTP handlers::

    @router.post("/things")
    def create(services: ServicesDep, session: SessionDep) -> ...:
        ...  # session is in a transaction committed when the handler returns

An area adds a field to :class:`Services` and one line to :func:`build_services`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from doorstep.accounts.hooks import BoundDevices, no_bound_devices
from doorstep.accounts.passwords import Passwords
from doorstep.core.memo import by_identity
from doorstep.core.runtime import Runtime
from doorstep.devices.binding import bound_device_ids
from doorstep.keys.keyring import load_keyring
from doorstep.keys.services import KeyService
from doorstep.notify.adapters import Mailer, PushSender, SmsSender, from_settings
from doorstep.privacy.datamap.pack import default_pack
from doorstep.privacy.purposes import PurposeGate, audited_transaction
from doorstep.schema import metadata


@dataclass
class Services:
    """What handlers, jobs and commands share within one process."""

    runtime: Runtime
    keys: KeyService
    gate: PurposeGate
    mailer: Mailer
    sms: SmsSender
    push: PushSender
    #: Devices still bound to an account (the devices area registers its own).
    bound_devices: BoundDevices = field(default=no_bound_devices)
    #: argon2id hasher with the deployment's parameters (None: built from settings).
    passwords: Passwords | None = None


def build_services(runtime: Runtime) -> Services:
    """Build every shared service for ``runtime`` (reads the keyring; no network)."""
    settings = runtime.settings
    keys = KeyService(
        load_keyring(settings, clock=runtime.clock),
        runtime.clock,
        cache_ttl=timedelta(seconds=settings.key_cache_ttl_seconds),
    )
    adapters = from_settings(settings)
    return Services(
        runtime=runtime,
        keys=keys,
        gate=PurposeGate.from_datamap(metadata, default_pack()),
        mailer=adapters.mailer,
        sms=adapters.sms,
        push=adapters.push,
        passwords=Passwords.from_settings(settings),
        bound_devices=bound_device_ids,
    )


@by_identity
def services_for(runtime: Runtime) -> Services:
    """The services of ``runtime``, built once per runtime (jobs reuse them, DEK cache included)."""
    return build_services(runtime)


def services_of(request: Request) -> Services:
    """FastAPI dependency: the app's :class:`Services`."""
    services: Services = request.app.state.services
    return services


def request_session(request: Request) -> Iterator[Session]:
    """FastAPI dependency: a session in one transaction for the request.

    Committed when the handler returns, rolled back when it raises; refusals of
    the purpose gate keep their audit record (see ``audited_transaction``).
    """
    services = services_of(request)
    with audited_transaction(services.runtime.sessions) as session:
        yield session


ServicesDep = Annotated[Services, Depends(services_of)]
# scope="function": the transaction commits before the response is sent, so a client
# never sees success for a change that then fails to commit.
SessionDep = Annotated[Session, Depends(request_session, scope="function")]
