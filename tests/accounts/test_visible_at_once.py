"""What a response hands out is committed before the response is sent (issue 12, item 11).

A client that gets a token, a code in its mailbox, a binding or a ticket may use it in
its very next request, on any replica.  These tests serve the app for real
(``doorstep serve``'s code path, real commits) and use what each answer gave at once,
from several clients in parallel.  The structural test pins the root cause: a
``yield`` dependency with FastAPI's default scope runs its teardown — the commit —
only after the response has gone out.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import httpx
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from doorstep.asgi import create_app
from doorstep.core.runtime import Runtime
from doorstep.usp.agent_sim import make_agents
from doorstep.usp.config import UspConfig
from tests.accounts.conftest import (
    PASSWORD,
    PREFIX,
    activate,
    bearer,
    last_message,
    unique_email,
    unique_phone,
    with_settings,
)
from tests.accounts.served import serve_command
from tests.devices.conftest import provision

T = TypeVar("T")
WORKERS = 6
ROUNDS = 5
REQUESTS = "/api/v1/me/requests"


@pytest.fixture
def served(committed: Runtime) -> Iterator[tuple[Runtime, str]]:
    """``doorstep serve`` on the committed runtime (no address limit in the way)."""
    runtime = with_settings(committed, account_address_max_attempts=1_000_000)
    with serve_command(runtime) as url:
        yield runtime, url


def _in_parallel(work: Callable[[httpx.Client, int], T], url: str) -> list[T]:
    """Run ``work(client, n)`` for n in 0..WORKERS-1 at once, each with its own client."""

    def one(n: int) -> T:
        with httpx.Client(base_url=url, timeout=60) as client:
            return work(client, n)

    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(one, range(WORKERS)))


def _token(client: httpx.Client, identifier: str) -> str:
    response = client.post(
        f"{PREFIX}/sessions", json={"identifier": identifier, "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["access_token"])


def test_a_token_works_on_its_first_use_under_parallel_load(
    served: tuple[Runtime, str],
) -> None:
    runtime, url = served
    email = unique_email()
    with httpx.Client(base_url=url, timeout=60) as client, runtime.sessions() as db:
        activate(client, db, email=email, phone=unique_phone())  # type: ignore[arg-type]

    def rounds(client: httpx.Client, _n: int) -> list[int]:
        statuses = []
        for _ in range(ROUNDS):
            token = _token(client, email)
            statuses.append(client.get(REQUESTS, headers=bearer(token)).status_code)
            statuses.append(client.get(f"{PREFIX}/me", headers=bearer(token)).status_code)
        return statuses

    assert [status for batch in _in_parallel(rounds, url) for status in batch] == [200] * (
        WORKERS * ROUNDS * 2
    )


def test_sign_up_codes_and_verification_are_visible_at_once(
    served: tuple[Runtime, str],
) -> None:
    runtime, url = served

    def journey(client: httpx.Client, _n: int) -> str:
        email, phone = unique_email(), unique_phone()
        policy = client.get("/api/v1/policy").json()["id"]
        body = {
            "email": email,
            "phone": phone,
            "password": PASSWORD,
            "age": 30,
            "policy_version": policy,
            "transfer_consent": True,  # a German number; the relays are in CN (decision 0035)
        }
        assert client.post(f"{PREFIX}/signup", json=body).status_code == 202
        status = ""
        for identifier, template, column in (
            (email, "account.verify_email", "email"),
            (phone, "account.verify_phone", "phone"),
        ):
            with runtime.sessions() as db:  # the code is in the outbox as the answer arrives
                code = last_message(db, template, **{column: identifier})["code"]
            verified = client.post(
                f"{PREFIX}/verification", json={"identifier": identifier, "code": code}
            )
            assert verified.status_code == 200, verified.text
            status = verified.json()["status"]
        token = _token(client, email)
        assert client.get(f"{PREFIX}/me", headers=bearer(token)).status_code == 200
        return status

    assert _in_parallel(journey, url) == ["active"] * WORKERS


def test_a_binding_and_a_filed_request_are_visible_at_once(
    served: tuple[Runtime, str],
) -> None:
    runtime, url = served
    agents = make_agents(WORKERS, controller_id=UspConfig().controller_id)
    with runtime.sessions() as db, db.begin():
        provision(db, runtime, agents)
    emails = [unique_email() for _ in agents]
    with httpx.Client(base_url=url, timeout=60) as client, runtime.sessions() as db:
        for email in emails:
            activate(client, db, email=email, phone=unique_phone())  # type: ignore[arg-type]

    def bind_and_file(client: httpx.Client, n: int) -> tuple[int, int]:
        auth = bearer(_token(client, emails[n]))
        bound = client.post(
            "/api/v1/devices/bindings", json={"claim_code": agents[n].claim_code}, headers=auth
        )
        assert bound.status_code == 201, bound.text
        listed = client.get("/api/v1/devices", headers=auth).json()["devices"]
        filed = client.post(REQUESTS, json={"kind": "access"}, headers=auth)
        assert filed.status_code == 201, filed.text
        mine = client.get(REQUESTS, headers=auth).json()
        return len(listed), len(mine)

    assert _in_parallel(bind_and_file, url) == [(1, 1)] * WORKERS


def _yield_dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        call = sub.call
        if inspect.isgeneratorfunction(call) or inspect.isasyncgenfunction(call):
            yield sub
        yield from _yield_dependencies(sub)


def _api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # FastAPI's include_router
        if included is not None:
            yield from _api_routes(included.routes)


def test_every_transaction_dependency_commits_before_the_response(committed: Runtime) -> None:
    routes = list(_api_routes(create_app(committed).routes))
    assert len(routes) > 50  # the walk reached the areas' routers
    late = {
        f"{sorted(route.methods)} {route.path}: {getattr(sub.call, '__name__', sub.call)}"
        for route in routes
        for sub in _yield_dependencies(route.dependant)
        if sub.scope != "function"
    }
    assert not late, "yield dependencies that commit after the response: " + "; ".join(sorted(late))
