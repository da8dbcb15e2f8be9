"""What the requests services need besides a database session, in one object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from doorstep.core.clock import Clock
from doorstep.core.errors import ConfigurationError
from doorstep.core.memo import by_identity
from doorstep.core.settings import Settings
from doorstep.privacy.consent.terms import ConsentTerms
from doorstep.privacy.datamap.chosen import chosen_pack
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.purposes.gate import PurposeGate

if TYPE_CHECKING:
    from doorstep.services import Services


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What the state machine needs besides the session.

    ``services`` (the process's shared services) is needed only to carry out
    kinds that decrypt or reach into other areas (export, correction,
    deregistration); :meth:`of` builds a context that has them.  ``pack`` is for
    tests of a scratch pack; otherwise the pack is the one in force.
    """

    clock: Clock
    settings: Settings
    pack: PolicyPack | None = None
    services: Services | None = None

    @classmethod
    def of(cls, services: Services) -> RequestContext:
        """The context of a process's services (HTTP handlers, jobs, commands)."""
        return cls(
            clock=services.runtime.clock,
            settings=services.runtime.settings,
            pack=services.pack,
            services=services,
        )

    @property
    def policy(self) -> PolicyPack:
        """The policy pack: the one given, else the one in force (``settings.policy_pack``)."""
        if self.pack is not None:
            return self.pack
        if self.services is not None:
            return self.services.pack
        return chosen_pack(self.settings)

    @property
    def gate(self) -> PurposeGate:
        """The purpose gate of :attr:`policy` (the services' one when it is theirs)."""
        pack = self.policy
        if self.services is not None and self.services.pack is pack:
            return self.services.gate
        return _gate_of(pack)

    @property
    def terms(self) -> ConsentTerms:
        """The consent terms of :attr:`policy`."""
        return self.gate.terms

    def require_services(self) -> Services:
        """The shared services, or ConfigurationError when the context was built without."""
        if self.services is None:
            raise ConfigurationError("this step needs the process's services (RequestContext.of)")
        return self.services


@by_identity
def _gate_of(pack: PolicyPack) -> PurposeGate:
    """The gate of the whole schema and ``pack``, built once per pack (no services)."""
    from doorstep.core.models import schema_metadata

    return PurposeGate.from_datamap(schema_metadata(), pack)
