"""``doorstep rollouts create|start|pause|resume|abort|show|list``."""

from __future__ import annotations

import re
import threading
import time

import sqlalchemy as sa

from doorstep.core.runtime import Runtime
from doorstep.devices.fleet.operations import OperationState
from tests.devices.rollout_factory import end_operation, fleet, image, open_operations
from tests.privacy.test_consent_cli import doorstep

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _count(committed: Runtime, table: str) -> int:
    with committed.engine.connect() as connection:
        return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def _setup(committed: Runtime) -> tuple[list[str], str]:
    with committed.sessions.begin() as session:
        devices = fleet(session, committed.clock, 6)
        image_id = image(session, committed.clock)
    return [str(d) for d in devices], str(image_id)


def test_a_rollout_is_made_started_paused_resumed_shown_and_aborted(committed: Runtime) -> None:
    settings = committed.settings
    devices, image_id = _setup(committed)
    targets = [arg for device in devices for arg in ("--device", device)]
    made = doorstep(
        settings, "rollouts", "create", "--name", "trial", "--image", image_id, *targets,
        "--canary-count", "2", "--waves", "4", "--window", "02:00-05:00",
        "--time-zone", "Europe/Berlin",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    found = re.match(rf"rollout ({UUID}): draft", made.stdout)
    assert found is not None
    rollout_id = found.group(1)
    started = doorstep(settings, "rollouts", "start", rollout_id)
    assert started.stdout.strip() == f"rollout {rollout_id}: running"
    assert _count(committed, "device_operations") == 2
    assert doorstep(settings, "rollouts", "start", rollout_id).returncode == 1  # not a draft
    assert doorstep(settings, "rollouts", "pause", rollout_id).stdout.endswith("paused\n")
    assert _count(committed, "device_operations") == 0  # withdrawn: nothing was sent
    assert doorstep(settings, "rollouts", "resume", rollout_id).stdout.endswith("running\n")
    shown = doorstep(settings, "rollouts", "show", rollout_id)
    assert shown.returncode == 0, shown.stderr
    assert "rollout " + rollout_id + " 'trial': running" in shown.stdout
    assert "canary 2 devices, then sizes 4" in shown.stdout
    assert "window 02:00-05:00 Europe/Berlin" in shown.stdout
    assert re.search(r"1\s+open\s+2\s+0\s+0\s+2\s+0", shown.stdout)  # the canary in flight
    listed = doorstep(settings, "rollouts", "list")
    assert re.search(rf"{rollout_id}\s+trial\s+2.0.0\s+running\s+1/2\s+0/6\s+0", listed.stdout)
    aborted = doorstep(settings, "rollouts", "abort", rollout_id)
    assert aborted.stdout.endswith("aborted\n")
    assert doorstep(settings, "rollouts", "resume", rollout_id).returncode == 1
    for line in (made.stdout, shown.stdout, listed.stdout):
        assert "os::" not in line  # never an endpoint id


def test_show_follow_draws_a_progress_bar_until_the_rollout_finishes(committed: Runtime) -> None:
    settings = committed.settings
    devices, image_id = _setup(committed)
    targets = [arg for device in devices[:3] for arg in ("--device", device)]
    made = doorstep(
        settings, "rollouts", "create", "--name", "bar", "--image", image_id, *targets,
        "--canary-count", "3", "--start",
    )  # fmt: skip
    rollout_id = made.stdout.split()[1].rstrip(":")
    assert "3 devices in 1 waves, 0 left out" in made.stdout

    def finish_later() -> None:
        time.sleep(0.5)
        with committed.sessions.begin() as session:
            for op in open_operations(session, rollout_id):  # type: ignore[arg-type]
                end_operation(session, op, OperationState.SUCCEEDED, at=committed.clock.now())

    worker = threading.Thread(target=finish_later)
    worker.start()
    followed = doorstep(settings, "rollouts", "show", rollout_id, "--follow", "--interval", "0.2")
    worker.join()
    assert followed.returncode == 0, followed.stderr
    # it waited for the end (the bar itself is drawn on a terminal only; its label is not)
    assert followed.stdout.startswith("bar")
    assert "'bar': finished" in followed.stdout and "3 succeeded" in followed.stdout


def test_bad_input_exits_2_and_stores_nothing(committed: Runtime) -> None:
    settings = committed.settings
    devices, image_id = _setup(committed)
    base = ("rollouts", "create", "--name", "x", "--image", image_id, "--device", devices[0])
    assert doorstep(settings, *base, "--window", "late").returncode == 2
    assert doorstep(settings, *base, "--waves", "ten").returncode == 2
    bad = doorstep(settings, *base, "--failure-threshold", "200", "--time-zone", "Nowhere/City")
    assert bad.returncode == 2
    assert "failure_threshold (percent)" in bad.stderr and "time_zone" in bad.stderr
    assert (
        doorstep(settings, "rollouts", "create", "--name", "x", "--image", image_id).returncode == 2
    )
    assert doorstep(settings, "rollouts", "show", "not-a-uuid").returncode == 2
    assert (
        doorstep(settings, "rollouts", "show", "0" * 8 + "-0000-0000-0000-" + "0" * 12).returncode
        == 1
    )
    assert _count(committed, "rollouts") == 0
