"""The manual connector: a system without an API, searched by a person at the privacy desk.

Every operation answers :attr:`~.base.Outcome.PENDING`: the orchestration puts
a task on the console desk (the system, the identifiers to look for, a due
date inside the request's deadline) and the desk records the outcome and an
evidence reference (:mod:`doorstep.privacy.requests.systems.desk`).
"""

from __future__ import annotations

from doorstep.privacy.connectors.base import Confirmation, Identifiers, Outcome
from doorstep.privacy.datamap.systems import ConnectedSystem


class ManualConnector:
    """The connector of one ``kind: manual`` system."""

    def __init__(self, system: ConnectedSystem) -> None:
        self.system = system

    def _handed(self, identifiers: Identifiers) -> Confirmation:
        if not identifiers.for_system(self.system):
            return Confirmation(self.system.key, Outcome.NOT_FOUND)
        return Confirmation(self.system.key, Outcome.PENDING)

    def find(self, identifiers: Identifiers) -> Confirmation:
        """Handed to the desk (PENDING), or NOT_FOUND with no identifier the system knows."""
        return self._handed(identifiers)

    def export(self, identifiers: Identifiers) -> Confirmation:
        """Handed to the desk (PENDING)."""
        return self._handed(identifiers)

    def erase(self, identifiers: Identifiers) -> Confirmation:
        """Handed to the desk (PENDING)."""
        return self._handed(identifiers)

    def withdraw(self, identifiers: Identifiers, purposes: tuple[str, ...]) -> Confirmation:
        """Handed to the desk (PENDING): a person stops what the purposes allowed."""
        return self._handed(identifiers)

    def close(self) -> None:
        """Nothing to release."""
