"""Fixtures of the inquiry tests: the requests tests' context, accounts and the mail sink."""

from __future__ import annotations

from tests.notify.conftest import smtp
from tests.requests.conftest import ctx, keys, services

__all__ = ["ctx", "keys", "services", "smtp"]
