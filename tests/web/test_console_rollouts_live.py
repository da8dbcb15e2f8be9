"""A rollout followed live in the console, in Chromium: the page moves by itself; the verbs.

Operations end in the database while the page is open (what the executor does); htmx
brings the new counts within seconds, without a reload.  The screenshots of the rollout
pages come from here (``console-rollouts``, ``console-rollout``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from doorstep.core.runtime import Runtime
from doorstep.devices.fleet.groups import create_group
from doorstep.devices.fleet.operations import OperationState, Reason
from doorstep.devices.fleet.rollout_plan import RolloutSpec
from doorstep.devices.fleet.rollouts import create_rollout, start_rollout
from tests.devices.rollout_factory import end_operation, fleet, image, open_operations
from tests.web.conftest import LiveServer, screenshot
from tests.web.people import staff_sign_in


@pytest.fixture
def live_server(serve_live: Callable[..., LiveServer]) -> LiveServer:
    """The app served without its job worker."""
    return serve_live(worker=False)


def _rollout(runtime: Runtime) -> uuid.UUID:
    clock = runtime.clock
    with runtime.sessions.begin() as session:
        fleet(session, clock, 40)
        group = create_group(
            session, "all routers and gateways", {}, actor="system:tests", clock=clock
        )
        spec = RolloutSpec(
            name="Spring update 3.0.0",
            image_id=image(session, clock, version="3.0.0"),
            group_id=group.id,
            canary_count=4,
            growth=3.0,
            max_in_flight=8,
            max_per_model=6,
            failure_threshold=20,
        )
        rollout_id = create_rollout(session, spec, actor="system:tests", clock=clock).id
        start_rollout(session, rollout_id, actor="system:tests", clock=clock)
    return rollout_id


def _end(runtime: Runtime, rollout_id: uuid.UUID, state: OperationState, count: int) -> None:
    with runtime.sessions.begin() as session:
        for op in open_operations(session, rollout_id)[:count]:
            reason = None if state is OperationState.SUCCEEDED else Reason.DEVICE_ERROR
            code = None if reason is None else 7022
            end_operation(session, op, state, at=runtime.clock.now(), reason=reason, usp_code=code)


def test_the_rollout_page_follows_the_waves_live_and_its_buttons_pause_resume_and_abort(
    page: Page, live_server: LiveServer
) -> None:
    runtime = live_server.runtime
    rollout_id = _rollout(runtime)
    staff_sign_in(page, runtime, "support")
    page.get_by_role("button", name="Essential cookies only").click()  # the banner goes
    page.goto("/console/rollouts")
    expect(page.get_by_role("heading", level=1)).to_have_text("Firmware rollouts")
    row = page.get_by_role("row").filter(has_text="Spring update 3.0.0")
    expect(row).to_contain_text("Running")
    page.get_by_role("link", name="Spring update 3.0.0").click()
    expect(page.get_by_text("0 of 40 devices done")).to_be_visible()
    expect(page.get_by_text("Updating now: 4")).to_be_visible()

    _end(runtime, rollout_id, OperationState.SUCCEEDED, 4)  # the canary is done
    expect(page.get_by_text("4 of 40 devices done")).to_be_visible()  # no reload
    expect(page.get_by_text("wave 2 of")).to_be_visible()
    _end(runtime, rollout_id, OperationState.SUCCEEDED, 6)
    _end(runtime, rollout_id, OperationState.FAILED, 3)  # 3 of 12 > 20 %: it pauses itself
    expect(page.get_by_text("Paused by itself: a wave failed too often")).to_be_visible()
    expect(page.get_by_text("device error 7022")).to_be_visible()
    screenshot(page, "console-rollout")

    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_text("The rollout goes on.")).to_be_visible()
    expect(page.get_by_text("failures accepted")).to_be_visible()
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_text("The rollout is paused")).to_be_visible()
    page.get_by_role("button", name="Abort").click()
    expect(page.get_by_text("The rollout is aborted")).to_be_visible()
    expect(page.get_by_role("button", name="Resume")).to_have_count(0)
    page.goto("/console/rollouts")
    expect(page.get_by_role("row").filter(has_text="Spring update 3.0.0")).to_contain_text(
        "Aborted"
    )
    screenshot(page, "console-rollouts")
