"""What the requests services need besides a database session, in one object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from doorstep.core.clock import Clock
from doorstep.core.errors import ConfigurationError
from doorstep.core.settings import Settings
from doorstep.privacy.datamap.pack import PolicyPack, default_pack

if TYPE_CHECKING:
    from doorstep.services import Services


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What the state machine needs besides the session.

    ``services`` (the process's shared services) is needed only to carry out
    kinds that decrypt or reach into other areas (export, correction,
    deregistration); :meth:`of` builds a context that has them.
    """

    clock: Clock
    settings: Settings
    pack: PolicyPack | None = None
    services: Services | None = None

    @classmethod
    def of(cls, services: Services) -> RequestContext:
        """The context of a process's services (HTTP handlers, jobs, commands)."""
        return cls(
            clock=services.runtime.clock, settings=services.runtime.settings, services=services
        )

    @property
    def policy(self) -> PolicyPack:
        """The policy pack (the default one unless given)."""
        return self.pack or default_pack()

    def require_services(self) -> Services:
        """The shared services, or ConfigurationError when the context was built without."""
        if self.services is None:
            raise ConfigurationError("this step needs the process's services (RequestContext.of)")
        return self.services
