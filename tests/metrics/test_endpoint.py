"""``GET /metrics`` of serve: Prometheus text, route templates as labels, no personal data."""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy.orm import Session

from doorstep.asgi import create_app
from doorstep.core.metrics import UNMATCHED
from doorstep.core.runtime import Runtime
from tests.devices.fleet_rows import add_devices
from tests.metrics.helpers import samples, value, with_settings

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), raise_server_exceptions=False) as test_client:
        yield test_client


def test_metrics_answer_prometheus_text_that_the_parser_reads_back(client: TestClient) -> None:
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    read = samples(response.text)  # raises on anything that is not the text format
    names = {name for name, _ in read}
    for expected in (
        "doorstep_http_requests_total",
        "doorstep_http_request_duration_seconds_bucket",
        "doorstep_job_queue_depth",
        "doorstep_job_oldest_age_seconds",
        "doorstep_devices_online",
        "doorstep_device_operations",
        "doorstep_requests_due_soon",
        "doorstep_requests_overdue",
        "doorstep_usp_agents_connected",
    ):
        assert expected in names, expected
    assert value(response.text, "doorstep_metrics_database_up") == 1
    healthz = value(
        response.text, "doorstep_http_requests_total", method="GET", route="/healthz", status="200"
    )
    assert healthz is not None and healthz >= 1
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]


def _subscriber(db: Session, runtime: Runtime, email: str) -> None:
    subject, now = uuid.uuid4(), runtime.clock.now()
    db.execute(
        sa.text("INSERT INTO subjects (id, kind, created_at) VALUES (:id, 'subscriber', :at)"),
        {"id": subject, "at": now},
    )
    db.execute(
        sa.text(
            "INSERT INTO accounts (id, status, email, password_hash, email_verified_at, "
            "created_at, source) VALUES (:id, 'active', :email, 'argon2id$x', :at, :at, "
            "'app_signup')"
        ),
        {"id": subject, "email": email, "at": now},
    )


def test_routes_are_labelled_by_template_and_no_personal_data_reaches_the_output(
    client: TestClient, db: Session, runtime: Runtime
) -> None:
    email = f"metrics-{secrets.token_hex(4)}@example.org"
    _subscriber(db, runtime, email)
    [device] = add_devices(db, 1, now=runtime.clock.now())
    serial = db.scalar(
        sa.text("SELECT serial_number FROM device_registrations WHERE device_id = :id"),
        {"id": device},
    )
    assert serial
    db.flush()
    # An id in the path, an e-mail in the path and in the query, a serial in a header.
    client.get(f"/api/v1/devices/{device}/pppoe", headers={"X-Serial": serial})
    client.get(f"/api/v1/devices/{email}/pppoe?email={email}")
    client.get(f"/nowhere/{email}/{serial}")
    client.request("BREW", f"/api/v1/devices/{device}/pppoe")

    text = client.get("/metrics").text
    for secret in (email, serial, str(device), device.hex, email.split("@", maxsplit=1)[0]):
        assert secret not in text
    routes = {dict(labels).get("route") for name, labels in samples(text)}
    assert "/api/v1/devices/{device_id}/pppoe" in routes
    assert UNMATCHED in routes
    methods = {dict(labels).get("method") for name, labels in samples(text)} - {None}
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"}
    assert "OTHER" in methods  # BREW is not a label of its own
    answered = value(
        text,
        "doorstep_http_requests_total",
        method="GET",
        route="/api/v1/devices/{device_id}/pppoe",
        status="401",
    )
    assert answered is not None and answered >= 2


def test_a_token_protects_the_metrics(runtime: Runtime) -> None:
    guarded = with_settings(runtime, metrics_token=SecretStr("s3cret-metrics-token"))
    with TestClient(create_app(guarded), raise_server_exceptions=False) as client:
        missing = client.get("/metrics")
        assert missing.status_code == 401
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert "doorstep_" not in missing.text
        wrong = client.get("/metrics", headers={"Authorization": "Bearer not-it"})
        assert wrong.status_code == 401
        basic = client.get("/metrics", headers={"Authorization": "Basic s3cret-metrics-token"})
        assert basic.status_code == 401
        right = client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-token"})
        assert right.status_code == 200
        assert "doorstep_http_requests_total" in right.text


def test_metrics_can_be_turned_off(runtime: Runtime) -> None:
    off = with_settings(runtime, metrics_enabled=False)
    with TestClient(create_app(off), raise_server_exceptions=False) as client:
        response = client.get("/metrics")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "doorstep_" not in response.text


def test_the_dashboard_and_the_docs_name_only_metrics_that_exist(client: TestClient) -> None:
    families = {
        family.name for family in text_string_to_metric_families(client.get("/metrics").text)
    }
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text(encoding="utf-8"))
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    assert exprs
    documented = set(re.findall(r"`(doorstep_[a-z_]+)`", (DOCS / "metrics.md").read_text()))
    used = {name for expr in exprs for name in re.findall(r"doorstep_[a-z_]+", expr)}
    for name in used | documented:
        assert re.sub(r"_(total|bucket|count|sum)$", "", name) in families, name
    assert {re.sub(r"_(bucket)$", "", name) for name in used} <= documented
