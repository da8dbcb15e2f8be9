"""Real answers of the fleet API match its published description, for a role that may use it.

``tests/test_api_contract.py`` runs every operation of the API as a privacy officer, to
whom each fleet route answers 403; this runs the fleet's operations as support (who may
run fleet operations), so schemathesis reaches the routes' own answers: bodies generated
from the description, a small fleet, a group and an image to find.  No 5xx, every status
described, the described content type, bodies valid against their schemas.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.python.asgi import shutdown_lifespans
from sqlalchemy.orm import Session

from doorstep.asgi import create_app
from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.devices.fleet.groups import create_group
from doorstep.devices.fleet.images import ImageSpec, register_image
from tests.accounts.conftest import bearer
from tests.devices.fleet_api_support import FLEET, settings, staff_token
from tests.devices.fleet_rows import add_devices
from tests.test_api_contract import CHECKS

__all__ = ["settings"]


@pytest.fixture
def app(runtime: Runtime) -> Iterator[FastAPI]:
    """The app as served; schemathesis runs its lifespan, stopped at the end."""
    yield create_app(runtime)
    shutdown_lifespans()


def _fleet(db: Session, clock: FakeClock) -> None:
    add_devices(db, 5, now=clock.now(), model="R9", firmware="1.0")
    create_group(db, "r9", {"model": "R9"}, actor="system:tests", clock=clock)
    url = "https://firmware.example.net/fw-2.0.bin"
    register_image(
        db,
        ImageSpec("2.0", ["R9"]),
        url=url,
        sha256=hashlib.sha256(url.encode()).hexdigest(),
        size=1,
        actor="system:tests",
        clock=clock,
    )


def test_every_fleet_operation_answers_support_as_described(
    app: FastAPI, db: Session, clock: FakeClock
) -> None:
    _fleet(db, clock)
    token = staff_token(TestClient(app), db, clock, "support")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex=f"^{FLEET}/")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 28
    failures: list[str] = []

    def run(operation: Any) -> Callable[[], None]:
        @hypothesis_settings(
            max_examples=4,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            case.call_and_validate(headers=bearer(token), checks=CHECKS)

        return check

    for operation in operations:
        try:
            run(operation)()
        except Exception as exc:  # every operation is checked; all failures are reported
            inner = getattr(exc, "exceptions", ())
            failures.append(f"{operation.label}: {exc} {' '.join(map(str, inner))}")
    assert not failures, "\n\n".join(failures)
