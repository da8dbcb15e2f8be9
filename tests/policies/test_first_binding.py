"""The first device binding records an acknowledgement of the policy in force (CPE-0.5).

Decision 0023: the app and the bind page show the policy, and a subscriber's first
binding records an acknowledgement of the version in force (version, channel, time)
in the binding's transaction, before the binding row; later bindings record none.
"Before" is watched by PostgreSQL itself: a trigger, created in the test's
rolled-back transaction, refuses a ``device_bindings`` row whose subscriber has
not acknowledged a version yet, so a binding written first would fail the request.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from doorstep.core.runtime import Runtime
from doorstep.devices.models import BindMethod, DeviceBinding
from doorstep.privacy.policies.models import AnswerChannel, AnswerKind, PolicyAnswer
from doorstep.services import Services
from doorstep.usp.agent_sim import SimAgent
from doorstep.usp.config import UspConfig
from tests.devices.conftest import add_subscriber, bearer, device_id_of, devices_for, provision
from tests.policies.conftest import in_days, publish_pack
from tests.web.clients import page_client, sign_in_as, token_in
from tests.web.people import make_subscriber

BINDINGS = "/api/v1/devices/bindings"

_WATCH = (
    """
    CREATE FUNCTION pg_temp.binding_after_acknowledgement() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM policy_acceptances
                      WHERE subject_id = NEW.subject_id AND kind = 'acknowledge') THEN
        RAISE EXCEPTION 'a binding row before the acknowledgement';
      END IF;
      RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER binding_after_acknowledgement BEFORE INSERT ON device_bindings
    FOR EACH ROW EXECUTE FUNCTION pg_temp.binding_after_acknowledgement()
    """,
)


def _watch_order(db: Session) -> None:
    """Refuse, in this test's transaction, any binding row written before an acknowledgement."""
    for statement in _WATCH:
        db.execute(sa.text(statement))


def _versions(
    db: Session, services: Services, runtime: Runtime, pack_copy: Callable[..., Path]
) -> None:
    """1.1 (the reference pack, 2020), 1.2 in force from today, and 2.0 announced for later."""
    reworded = pack_copy("reworded")
    text = reworded / "cpe-privacy-policy.txt"
    text.write_text(text.read_text(encoding="utf-8") + "\nA clarified sentence.\n", "utf-8")
    publish_pack(db, services, reworded, "1.2", in_days(runtime, 0))
    later = pack_copy("later", policy={"impact_assessment": "high"})
    assert publish_pack(db, services, later, "2.0", in_days(runtime, 40)).major


def _devices(runtime: Runtime, count: int) -> list[SimAgent]:
    agents = devices_for(UspConfig(), count)
    with runtime.sessions.begin() as session:
        provision(session, runtime, agents)
    return agents


def _answers(db: Session, subject: uuid.UUID) -> list[PolicyAnswer]:
    return list(db.scalars(sa.select(PolicyAnswer).where(PolicyAnswer.subject_id == subject)))


@pytest.mark.clause("CPE-0.5")
def test_the_first_binding_records_an_acknowledgement_before_its_row_and_the_second_none(
    client: TestClient,
    db: Session,
    services: Services,
    runtime: Runtime,
    pack_copy: Callable[..., Path],
) -> None:
    _versions(db, services, runtime, pack_copy)
    subject, token = add_subscriber(db, runtime)
    first, second = _devices(runtime, 2)
    _watch_order(db)
    assert _answers(db, subject) == []

    bound = client.post(BINDINGS, json={"claim_code": first.claim_code}, headers=bearer(token))
    assert bound.status_code == 201, bound.text
    (answer,) = _answers(db, subject)
    assert answer.kind is AnswerKind.ACKNOWLEDGE
    assert answer.version_id == "1.2"  # in force now: not 1.1 (archived), not 2.0 (announced)
    assert answer.channel is AnswerChannel.APP
    binding = db.scalars(sa.select(DeviceBinding).where(DeviceBinding.subject_id == subject)).one()
    assert answer.occurred_at == binding.bound_at == runtime.clock.now()
    audited = db.execute(
        sa.text(
            "SELECT details FROM audit_events WHERE action = 'policy.acknowledged' "
            "AND subject_id = :s"
        ),
        {"s": subject},
    ).scalar_one()
    assert audited == {"policy_version": "1.2", "channel": "app"}

    again = client.post(BINDINGS, json={"claim_code": second.claim_code}, headers=bearer(token))
    assert again.status_code == 201, again.text
    assert len(_answers(db, subject)) == 1  # the second binding records none
    assert db.scalar(sa.select(sa.func.count()).where(DeviceBinding.subject_id == subject)) == 2


def test_the_watch_refuses_a_binding_row_of_a_subscriber_who_acknowledged_nothing(
    db: Session, runtime: Runtime
) -> None:
    """The trigger above can fail a test: a binding row written first is refused."""
    subject, _token = add_subscriber(db, runtime)
    (agent,) = _devices(runtime, 1)
    _watch_order(db)
    row = DeviceBinding(
        device_id=device_id_of(db, runtime, agent),
        subject_id=subject,
        method=BindMethod.MANUAL,
        bound_at=runtime.clock.now(),
    )
    with pytest.raises(sa.exc.DBAPIError, match="before the acknowledgement"), db.begin_nested():
        db.add(row)
        db.flush()


@pytest.mark.clause("CPE-0.5")
def test_a_first_binding_on_the_bind_page_is_acknowledged_on_the_web_channel(
    db: Session, runtime: Runtime, services: Services, pack_copy: Callable[..., Path]
) -> None:
    _versions(db, services, runtime, pack_copy)
    person = make_subscriber(runtime)
    (agent,) = _devices(runtime, 1)
    _watch_order(db)
    with page_client(runtime) as browser:
        sign_in_as(browser, person, then="/devices")
        form = browser.get("/devices").text
        answer = browser.post(
            "/devices/bind",
            data={"csrf_token": token_in(form), "claim_code": agent.display_claim_code()},
            follow_redirects=False,
        )
    assert answer.status_code == 303, answer.text
    assert re.fullmatch(r"/devices/[0-9a-f-]{36}\?done=bound", answer.headers["location"])
    found: list[Any] = [
        (row.kind, row.version_id, row.channel) for row in _answers(db, person.subject_id)
    ]
    assert found == [(AnswerKind.ACKNOWLEDGE, "1.2", AnswerChannel.WEB)]
