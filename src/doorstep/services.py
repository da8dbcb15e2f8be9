"""The services one process shares, and how handlers, jobs and commands reach them.

Areas are plain modules; the composition root (:mod:`doorstep.wiring`) builds one
:class:`Services` per process from its :class:`~doorstep.core.runtime.Runtime`
and hands it out.  This module is what the areas see of it: the shape of the
shared services, the FastAPI dependencies, and :func:`services_for` for jobs and
commands.  It sits below the areas that serve people (accounts, devices, staff,
requests) and above the services it holds (keys, the purpose gate, notification
adapters), so no area ever imports the composition root.

For HTTP handlers::

    @router.post("/things")
    def create(services: ServicesDep, session: SessionDep) -> ...:
        ...  # session is in a transaction committed before the response is sent

An area adds a field here and one line to :func:`doorstep.wiring.build_services`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from doorstep.audit.entries import audited_transaction
from doorstep.core.memo import by_identity
from doorstep.core.runtime import Runtime
from doorstep.keys.services import KeyService
from doorstep.notify.adapters import Mailer, PushSender, SmsSender
from doorstep.privacy.consent.terms import ConsentTerms
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.purposes import PurposeGate

#: ``(session, subject_id) -> ids of the devices still bound to the subject's account``.
BoundDevicesHook = Callable[[Session, uuid.UUID], Sequence[str]]


def no_bound_devices(session: Session, subject_id: uuid.UUID, /) -> Sequence[str]:
    """The hook while no devices area is installed: no device is ever bound."""
    return ()


@dataclass
class Services:
    """What handlers, jobs and commands share within one process.

    ``pack`` and ``terms`` are the policy pack in force (the ``policy_pack`` setting)
    and its consent terms, loaded once by the composition root: everything that
    names the controller, a purpose, a period or the policy reads them from here
    (or is handed them by its caller), never from the reference pack.
    """

    runtime: Runtime
    keys: KeyService
    gate: PurposeGate
    mailer: Mailer
    sms: SmsSender
    push: PushSender
    pack: PolicyPack
    terms: ConsentTerms
    #: Devices still bound to an account (the devices area registers its own).
    bound_devices: BoundDevicesHook = no_bound_devices


Builder = Callable[[Runtime], Services]
_builders: list[Builder] = []


def install_builder(builder: Builder) -> None:
    """Let :func:`services_for` build with ``builder`` (the composition root calls this once)."""
    _builders[:] = [builder]


@by_identity
def services_for(runtime: Runtime) -> Services:
    """The services of ``runtime``, built once per runtime (jobs reuse them, DEK cache included).

    RuntimeError when no composition root installed its builder (import
    :mod:`doorstep.wiring` first).
    """
    if not _builders:
        raise RuntimeError("no services builder is installed: import doorstep.wiring first")
    return _builders[0](runtime)


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
