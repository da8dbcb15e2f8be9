"""What the account services need besides a database session, in one object.

:class:`AccountContext` bundles settings, clock, key service, purpose gate,
password hasher, the :class:`~doorstep.accounts.hooks.BoundDevices` and
:class:`~doorstep.accounts.hooks.RouterRemovals` hooks, the
pack in force and the sharing gate.
HTTP handlers build it from the app's :class:`~doorstep.services.Services`
(:meth:`AccountContext.of`), jobs and commands from their runtime.  Secrets for
hashing codes, rate-limit keys and guardian links are derived from the
deployment secret, one key per use, so none of them can stand in for another.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from doorstep.accounts.hooks import BoundDevices, RouterRemovals
from doorstep.accounts.signin.passwords import Passwords
from doorstep.core.clock import Clock
from doorstep.core.settings import Settings
from doorstep.keys.services import KeyService
from doorstep.privacy.policies.answers import Policy
from doorstep.privacy.purposes import PurposeGate
from doorstep.privacy.sharing.gate import SharingGate
from doorstep.services import no_bound_devices, no_router_removals

if TYPE_CHECKING:
    from doorstep.core.runtime import Runtime
    from doorstep.services import Services


@dataclass(frozen=True)
class AccountContext:
    """Dependencies of the account services (one per process or request)."""

    settings: Settings
    clock: Clock
    keys: KeyService
    gate: PurposeGate
    bound_devices: BoundDevices = field(default=no_bound_devices)
    #: The account-closure confirmation says where removals from routers stand (0042).
    router_removals: RouterRemovals = field(default=no_router_removals)
    passwords: Passwords | None = None
    #: The pack in force and its terms: sign-up acknowledges its version (CPE-0.5).
    policy: Policy | None = None
    #: The sharing gate: which processor carries a channel, and whether abroad (decision 0035).
    sharing: SharingGate | None = None

    @classmethod
    def of(cls, services: Services) -> AccountContext:
        """The context of an app's (or a job's) shared services."""
        return cls(
            settings=services.runtime.settings,
            clock=services.runtime.clock,
            keys=services.keys,
            gate=services.gate,
            bound_devices=services.bound_devices,
            router_removals=services.router_removals,
            policy=Policy(services.pack, services.terms),
            sharing=services.sharing,
        )

    @classmethod
    def for_runtime(cls, runtime: Runtime) -> AccountContext:
        """Build the services of ``runtime`` and their context (jobs, commands)."""
        from doorstep.services import services_for

        return cls.of(services_for(runtime))

    @cached_property
    def hasher(self) -> Passwords:
        """The password hasher (built from settings when none was given)."""
        return self.passwords or Passwords.from_settings(self.settings)

    def derived_key(self, use: str) -> bytes:
        """A 256-bit key for ``use`` (``codes``, ``rate-limit``, ``guardian-link``)."""
        secret = self.settings.secret_key.get_secret_value().encode("utf-8")
        return hmac.new(secret, b"doorstep.accounts." + use.encode(), hashlib.sha256).digest()

    def keyed_hash(self, use: str, value: bytes) -> bytes:
        """HMAC-SHA-256 of ``value`` under the key for ``use``."""
        return hmac.new(self.derived_key(use), value, hashlib.sha256).digest()
