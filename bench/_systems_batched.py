"""Erasures across Doorstep and two systems in batches, as a batched attempt reaches them.

Per batch of :data:`BATCH` subjects (the default ``requests_systems_batch`` and
``requests_erase_batch``): read their identifiers in one transaction, erase them in
Doorstep in one transaction with one statement (``erase_subjects``, as an erase job
carrying a batch of requests does, decision 0051), then per system get the pooled
connector once and erase
every subject's part the way :mod:`doorstep.privacy.requests.systems.run` calls it:
an SQL system in one transaction of its own with a savepoint per subject
(``SqlConnector.many``), an HTTP system one call per subject on the kept-alive
client, each under its own idempotency key (``HttpConnector.for_task``).
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from bench.bench_requests import _erase_batch as _erase_own
from doorstep.core.database import transaction
from doorstep.privacy.connectors.base import Confirmation, ConnectorError, Identifiers
from doorstep.privacy.connectors.build import connector_for
from doorstep.privacy.connectors.http import HttpConnector
from doorstep.privacy.connectors.sql import SqlConnector
from doorstep.privacy.datamap.systems import ConnectedSystem
from doorstep.privacy.requests.systems.fanout import identifiers_of
from doorstep.wiring import Services

BATCH = 20


def _reach_many(
    services: Services, system: ConnectedSystem, whos: list[Identifiers]
) -> list[Confirmation | ConnectorError]:
    runtime = services.runtime
    with transaction(runtime.sessions) as session:
        connector = connector_for(
            session,
            services.keys.keyring,
            system,
            task_key=str(uuid.uuid4()),
            now=lambda: int(runtime.clock.now().timestamp()),
        )
    try:
        if isinstance(connector, SqlConnector):
            return connector.many("erasure", whos)
        answers: list[Confirmation | ConnectorError] = []
        for who in whos:
            one = (
                connector.for_task(str(uuid.uuid4()))
                if isinstance(connector, HttpConnector)
                else connector
            )
            answers.append(one.erase(who))
        return answers
    finally:
        connector.close()


def _erase_batch(
    services: Services, systems: list[ConnectedSystem], subjects: list[uuid.UUID]
) -> int:
    """Doorstep's erasure of each subject, then each system's part of all of them; the rows
    the systems changed."""
    with transaction(services.runtime.sessions) as session:
        whos = [identifiers_of(session, subject) for subject in subjects]
    _erase_own(services, subjects)
    rows = 0
    for system in systems:
        for answer in _reach_many(services, system, whos):
            if isinstance(answer, ConnectorError):
                raise answer
            rows += answer.rows
    return rows


def batched_rate(
    services: Services, systems: list[ConnectedSystem], subjects: list[uuid.UUID], threads: int
) -> tuple[float, int]:
    """Erasures per second in batches of :data:`BATCH` on ``threads`` threads; system rows
    changed."""
    batches = [subjects[n : n + BATCH] for n in range(0, len(subjects), BATCH)]
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        rows = sum(pool.map(lambda batch: _erase_batch(services, systems, batch), batches))
    return len(subjects) / (time.perf_counter() - started), rows
