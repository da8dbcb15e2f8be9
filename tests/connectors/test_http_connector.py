"""The HTTP connector against a loopback service: signed, idempotent, bounded, garbage refused."""

from __future__ import annotations

import pytest

from doorstep.privacy.connectors import signing
from doorstep.privacy.connectors.base import (
    ConnectorError,
    ConnectorGarbage,
    ConnectorTimeout,
    Identifiers,
    Outcome,
)
from doorstep.privacy.connectors.http import HttpConnector, parse_answer
from doorstep.privacy.datamap.pack import load_pack
from doorstep.privacy.datamap.systems import ConnectedSystem
from tests.connectors.conftest import SECRET, systems_yaml, write_pack
from tests.connectors.loopback import Service

NOW = 1_790_000_000
WHO = Identifiers.of(email="ada@example.org", phone="+4912345")


@pytest.fixture
def system(tmp_path, newsletter: Service) -> ConnectedSystem:  # type: ignore[no-untyped-def]
    pack = load_pack(
        write_pack(tmp_path / "pack", systems_yaml("postgresql://x@h/db", newsletter.url))
    )
    return pack.systems.systems["newsletter"]


def _connector(system: ConnectedSystem, key: str = "task-1", secret: str = SECRET) -> HttpConnector:
    return HttpConnector(system, secret=secret, idempotency_key=key, now=lambda: NOW)


def test_requests_are_signed_carry_the_idempotency_key_and_only_the_systems_identifiers(
    system: ConnectedSystem, newsletter: Service
) -> None:
    newsletter.state.subscribers["ada@example.org"] = {"email": "ada@example.org", "opens": 2}
    connector = _connector(system)
    exported = connector.export(WHO)
    assert exported.outcome is Outcome.EXPORTED and exported.rows == 1
    assert exported.data == {"subscriber.email": ["ada@example.org"], "subscriber.opens": [2]}
    erased = connector.erase(WHO)
    again = connector.erase(WHO)  # a retry: same key, done once
    connector.close()
    assert erased.outcome is again.outcome is Outcome.ERASED
    assert newsletter.state.effective["ada@example.org"] == 1
    assert newsletter.state.calls == [
        ("access", "task-1"),
        ("erasure", "task-1"),
        ("erasure", "task-1"),
    ]
    assert newsletter.state.ids["task-1"] == {"email": ["ada@example.org"]}  # no phone
    assert newsletter.state.bad_signatures == 0


def test_a_wrong_secret_is_refused_by_the_system(
    system: ConnectedSystem, newsletter: Service
) -> None:
    with pytest.raises(ConnectorError) as failed:
        _connector(system, secret="not-the-secret").erase(WHO)
    assert failed.value.reason == "refused" and newsletter.state.bad_signatures == 1


@pytest.mark.parametrize(
    ("mode", "error", "reason"),
    [
        ("garbage", ConnectorGarbage, "garbage"),
        ("slow", ConnectorTimeout, "timeout"),
        ("die", ConnectorError, "unreachable"),
        ("error", ConnectorError, "failed"),
        ("redirect", ConnectorError, "refused"),
    ],
)
def test_misbehaviour_is_a_failure_with_a_short_reason_naming_the_system_only(
    system: ConnectedSystem,
    newsletter: Service,
    mode: str,
    error: type[ConnectorError],
    reason: str,
) -> None:
    newsletter.state.mode, newsletter.state.delay = mode, 2.0
    with pytest.raises(error) as failed:
        _connector(system).erase(WHO)
    assert failed.value.reason == reason
    assert "ada" not in str(failed.value) and SECRET not in str(failed.value)


def test_an_accepted_request_is_answered_later_by_status(
    system: ConnectedSystem, newsletter: Service
) -> None:
    newsletter.state.subscribers["ada@example.org"] = {"email": "ada@example.org", "opens": 0}
    newsletter.state.mode = "accepted"
    connector = _connector(system, key="task-2")
    assert connector.erase(WHO).outcome is Outcome.PENDING
    newsletter.state.mode = "ok"
    assert connector.status("erasure").outcome is Outcome.ERASED
    assert "ada@example.org" not in newsletter.state.subscribers


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b'{"status": "maybe"}',
        b'{"status": "done", "rows": -1}',
        b'{"status": "done", "rows": true}',
        b'{"status": "done", "data": {"subscriber.password": ["x"]}}',
        b'{"status": "done", "data": {"subscriber.email": "not a list"}}',
        b'{"status": "done", "evidence": "free text with spaces"}',
        b"\xff\xfe",
    ],
)
def test_garbage_answers_are_refused(system: ConnectedSystem, raw: bytes) -> None:
    with pytest.raises(ConnectorGarbage):
        parse_answer(system, "access", raw)


def test_a_retained_answer_is_a_recorded_exception(system: ConnectedSystem) -> None:
    kept = parse_answer(system, "erasure", b'{"status": "retained", "evidence": "TAX-2026"}')
    assert kept.outcome is Outcome.RETAINED and kept.evidence == "TAX-2026"


def test_signatures_bind_body_key_and_time() -> None:
    body = b'{"status": "done"}'
    given = signing.signature(SECRET, NOW, "k", body)
    assert signing.verify(SECRET, timestamp=str(NOW), key="k", given=given, body=body, now=NOW)
    assert not signing.verify(SECRET, timestamp=str(NOW), key="k2", given=given, body=body, now=NOW)
    assert not signing.verify(SECRET, timestamp=str(NOW), key="k", given=given, body=b"{}", now=NOW)
    assert not signing.verify("other", timestamp=str(NOW), key="k", given=given, body=body, now=NOW)
    stale = NOW + signing.TOLERANCE_SECONDS + 1
    assert not signing.verify(
        SECRET, timestamp=str(NOW), key="k", given=given, body=body, now=stale
    )
    assert not signing.verify(SECRET, timestamp="soon", key="k", given=given, body=body, now=NOW)
