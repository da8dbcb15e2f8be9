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
from datetime import date
from pathlib import Path
from typing import Annotated, Protocol

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
from doorstep.privacy.sharing.gate import SharingGate
from doorstep.privacy.transfers.gate import TransferGate

#: ``(session, subject_id) -> ids of the devices still bound to the subject's account``.
BoundDevicesHook = Callable[[Session, uuid.UUID], Sequence[str]]


def no_bound_devices(session: Session, subject_id: uuid.UUID, /) -> Sequence[str]:
    """The hook while no devices area is installed: no device is ever bound."""
    return ()


#: ``(session, subject_id) -> a message id on the removal of their settings from routers``.
RouterRemovalsHook = Callable[[Session, uuid.UUID], str | None]


def no_router_removals(session: Session, subject_id: uuid.UUID, /) -> str | None:
    """The hook while no devices area is installed: no settings were removed from a router."""
    return None


#: ``(folder) -> every problem of the policy pack there, as doorstep pack check prints them``.
PackCheckHook = Callable[[Path], Sequence[str]]


def load_check(path: Path, /) -> Sequence[str]:
    """The hook while no pack check is installed: the pack and its consent terms must load."""
    from doorstep.core.errors import ConfigurationError
    from doorstep.privacy.consent.terms import load_terms
    from doorstep.privacy.datamap.pack import load_pack

    try:
        load_terms(load_pack(path))
    except ConfigurationError as exc:
        return [exc.detail]
    return ()


@dataclass(frozen=True, slots=True)
class PublishedReport:
    """A published report an answer to a question can carry (a security impact assessment).

    ``control_id`` and ``version`` say which report it is (audited with the answer);
    the rest is what the e-mail says: the report's name, the day it was made, the
    risk found, its public summary and where the full report is.
    """

    control_id: uuid.UUID
    name: str
    version: int
    assessed_on: date
    risk: str
    summary: str
    evidence: str

    def params(self) -> dict[str, str]:
        """The report as message parameters (``name``, ``version``, ``assessed_on``, ``risk``,
        ``summary``, ``evidence``)."""
        return {
            "name": self.name,
            "version": str(self.version),
            "assessed_on": self.assessed_on.isoformat(),
            "risk": self.risk,
            "summary": self.summary,
            "evidence": self.evidence,
        }


#: ``(session, control_id, version or None for the newest) -> that published report``;
#: a draft or an unknown report is refused (ConflictError ``not_published``, NotFoundError).
PublishedReportHook = Callable[[Session, uuid.UUID, int | None], PublishedReport]


def no_published_reports(
    session: Session, control_id: uuid.UUID, version: int | None, /
) -> PublishedReport:
    """The hook while no controls register is installed: no report is ever published."""
    from doorstep.core.errors import NotFoundError

    raise NotFoundError("no such assessment")


class ConsentWithdrawnHook(Protocol):
    """A subject withdrew consent to ``purpose`` or objected to it: tell the systems.

    ``cause`` is ``withdrawal`` or ``objection``; ``origin_id`` the ledger event or the
    restriction; ``actor`` who decided.  Called in the decision's transaction; answers
    the ids of the connected systems' tasks it made (the connectors area's).
    """

    def __call__(
        self,
        session: Session,
        subject_id: uuid.UUID,
        purpose: str,
        *,
        cause: str,
        origin_id: uuid.UUID,
        actor: str,
    ) -> Sequence[uuid.UUID]:
        """The ids of the tasks made (empty when no live system relies on the purpose)."""
        ...


def no_systems_told(
    session: Session,
    subject_id: uuid.UUID,
    purpose: str,
    *,
    cause: str,
    origin_id: uuid.UUID,
    actor: str,
) -> Sequence[uuid.UUID]:
    """The hook while no connectors area is installed: no connected system is told."""
    return ()


#: ``(session, staff_id, action) -> the staff actor``, or a refusal raised (audited): whether
#: a staff member may perform a staff action (``run_diagnostics``) that an area below the
#: staff area asks about (the devices area may not import it).
StaffActionHook = Callable[[Session, uuid.UUID, str], str]


def no_staff_actions(session: Session, staff_id: uuid.UUID, action: str, /) -> str:
    """The hook while no staff area is installed: every staff action is refused."""
    from doorstep.core.errors import PermissionDeniedError

    raise PermissionDeniedError(f"{action} refused: no staff area", action=action)


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
    #: The sharing gate: the pack's recipient registry, checked on every outbound flow.
    sharing: SharingGate
    #: The transfer gate: every flow across a border (mechanism, de-identification, notice).
    transfers: TransferGate
    #: Devices still bound to an account (the devices area registers its own).
    bound_devices: BoundDevicesHook = no_bound_devices
    #: Where removing a subject's settings from their routers stands (decision 0042).
    router_removals: RouterRemovalsHook = no_router_removals
    #: Checks a proposed policy pack against the whole schema (the composition's pack check).
    check_pack: PackCheckHook = load_check
    #: A published security impact assessment, to attach to an answer (the controls register's).
    published_report: PublishedReportHook = no_published_reports
    #: Tells the connected systems of a withdrawn consent or an objection (the connectors').
    consent_withdrawn: ConsentWithdrawnHook = no_systems_told
    #: Whether a staff member may perform a staff action (the staff area's access control).
    staff_action: StaffActionHook = no_staff_actions


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
