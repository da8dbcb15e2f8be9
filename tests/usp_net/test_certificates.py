"""Device identity by TLS client certificate on the WebSocket MTP (decision 0029).

Real TLS on loopback: uvicorn serves the app with the SSL context and WebSocket
protocol ``doorstep serve`` uses (:func:`doorstep.usp.mtp.tls.uvicorn_tls_options`);
simulated agents and raw ``websockets`` clients present certificates of a CA made
for the test.  The proxy case sends a TLS proxy's verified-client headers over plain
HTTP from loopback, listed (or not) in ``trusted_proxies``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import ssl
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidMessage, InvalidStatus

from doorstep.asgi import create_app
from doorstep.audit.models import AuditEvent
from doorstep.core.runtime import Runtime
from doorstep.usp.agent_sim import SimAgent, WebSocketOptions
from doorstep.usp.certificates import DeviceCertificateAuthority, certificates_from_header
from doorstep.usp.controller import RuntimeAuditSink, endpoint_ref
from doorstep.usp.credentials import InMemoryCredentialStore
from doorstep.usp.mtp import websocket as usp_ws
from doorstep.usp.mtp.tls import uvicorn_tls_options
from tests.usp_net.conftest import free_port, net_config, run
from tests.usp_net.device_pki import Authority
from tests.usp_net.helpers import RecordingHooks, agents_for, fleet, store_for, until


def _runtime(runtime: Runtime, **changes: Any) -> Runtime:
    """``runtime`` with settings changed (the settings object is frozen)."""
    return dataclasses.replace(runtime, settings=runtime.settings.model_copy(update=changes))


def _app(runtime: Runtime, store: InMemoryCredentialStore, hooks: RecordingHooks) -> Any:
    app = create_app(runtime)
    audit = RuntimeAuditSink(runtime, repeat_seconds=0)
    usp_ws.install(app, credentials=store, hooks=hooks, audit=audit, config=net_config(1))
    return app


@contextlib.asynccontextmanager
async def _serve_tls(app: Any, runtime: Runtime) -> AsyncIterator[str]:
    """Serve ``app`` as ``doorstep serve`` does with TLS on; yield its ``wss://…/usp``."""
    import uvicorn

    port = free_port()
    options = uvicorn_tls_options(runtime.settings, usp_ws.report_tls_refusal(app))
    assert options, "TLS settings missing"
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, lifespan="on", **options
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"wss://127.0.0.1:{port}/usp"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


async def _refused(url: str, eid: str, **kwargs: Any) -> int | None:
    """The HTTP status of a refused upgrade, or None when the TLS handshake failed."""
    try:
        async with connect(
            f"{url}?eid={quote(eid, safe='-._~')}",
            subprotocols=[usp_ws.SUBPROTOCOL],  # type: ignore[list-item]
            proxy=None,
            open_timeout=10,
            **kwargs,
        ):
            pass
    except InvalidStatus as exc:
        return exc.response.status_code
    except (ssl.SSLError, OSError, InvalidMessage):  # TLS 1.3: refused after the handshake
        return None
    raise AssertionError("the upgrade was accepted")


def _audited(db: Session) -> list[dict[str, Any]]:
    rows = db.execute(
        sa.select(AuditEvent.details).where(AuditEvent.action.like("usp.%"))
    ).scalars()
    return [dict(details) for details in rows]


def test_a_device_certificate_of_the_operator_ca_admits_the_agent_without_a_secret(
    runtime: Runtime, tmp_path: Path
) -> None:
    ca = Authority(tmp_path / "pki")
    server_cert, server_key = ca.server()
    runtime = _runtime(
        runtime,
        serve_tls_certfile=server_cert,
        serve_tls_keyfile=server_key,
        usp_client_ca_file=ca.ca_file,
    )
    agent = agents_for(net_config(1), 1)[0]
    hooks = RecordingHooks()
    app = _app(runtime, store_for([agent]), hooks)
    controller = usp_ws.hub_of(app).controller
    device = ca.device(agent.endpoint_id)

    async def scenario() -> None:
        async with _serve_tls(app, runtime) as url:
            options = WebSocketOptions(
                url, tls=device.client_context(ca.ca_file), send_secret=False
            )
            async with fleet([agent], options):
                reply = await controller.get(agent.endpoint_id, "Device.DeviceInfo.SerialNumber")
                serial = reply.values["Device.DeviceInfo.SerialNumber"]
                assert serial == agent.profile.serial_number
            # The app API still answers clients without a certificate.
            https = url.replace("wss://", "https://").removesuffix("/usp")
            async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=ca.ca_file)) as c:
                assert (await c.get(f"{https}/healthz")).status_code == 200
            # Without a certificate the per-device secret still works.
            plain = SimAgent(agent.profile, controller_id=agent.controller_id, secret=agent.secret)
            trusting = ssl.create_default_context(cafile=ca.ca_file)
            async with fleet([plain], WebSocketOptions(url, tls=trusting)):
                assert plain.sessions >= 1

    run(scenario())


def test_expired_revoked_foreign_and_mismatched_certificates_are_refused_and_audited(
    runtime: Runtime, db: Session, tmp_path: Path
) -> None:
    ca = Authority(tmp_path / "pki")
    other_ca = Authority(tmp_path / "other", name="someone else's CA")
    server_cert, server_key = ca.server()
    crl = tmp_path / "pki" / "devices.crl"
    now = runtime.clock.now()
    ca.write_crl(crl, [], now=now)
    runtime = _runtime(
        runtime,
        serve_tls_certfile=server_cert,
        serve_tls_keyfile=server_key,
        usp_client_ca_file=ca.ca_file,
        usp_client_crl_file=crl,
    )
    agents = agents_for(net_config(1), 4)
    good, old, revoked, stranger = agents
    known = [good, old, revoked]
    app = _app(runtime, store_for(known), RecordingHooks())
    hub = usp_ws.hub_of(app)
    expired = ca.device(old.endpoint_id, not_after=now - timedelta(days=1))
    withdrawn = ca.device(revoked.endpoint_id)
    foreign = other_ca.device(good.endpoint_id)
    unknown = ca.device(stranger.endpoint_id)
    valid = ca.device(good.endpoint_id)

    def tls(certificate: Any) -> dict[str, Any]:
        return {"ssl": certificate.client_context(ca.ca_file)}

    async def scenario() -> None:
        async with _serve_tls(app, runtime) as url:
            # Before the CRL lists it, the certificate works; after, it is refused.
            async with connect(
                f"{url}?eid={revoked.endpoint_id}",
                subprotocols=[usp_ws.SUBPROTOCOL],  # type: ignore[list-item]
                proxy=None,
                **tls(withdrawn),
            ) as accepted:
                assert accepted.subprotocol == "v1.usp"
            await asyncio.sleep(0.01)  # a new modification time for the CRL file
            ca.write_crl(crl, [withdrawn.certificate], now=now)

            assert await _refused(url, old.endpoint_id, **tls(expired)) == 403
            secret = {"Authorization": f"Bearer {revoked.secret}"}
            assert (
                await _refused(
                    url, revoked.endpoint_id, additional_headers=secret, **tls(withdrawn)
                )
                == 403
            )
            assert await _refused(url, stranger.endpoint_id, **tls(unknown)) == 403
            assert await _refused(url, stranger.endpoint_id, **tls(valid)) == 403
            assert await _refused(url, good.endpoint_id, **tls(foreign)) is None  # TLS refuses
            audit = hub.controller.audit
            assert isinstance(audit, RuntimeAuditSink)
            await until(lambda: hub.controller.counters["dropped_certificate_untrusted"] == 1)
            await audit.drain()

    run(scenario())
    key = runtime.settings.secret_key.get_secret_value().encode()
    events = {(e["reason"], e.get("endpoint")) for e in _audited(db)}
    assert events == {
        ("certificate_expired", endpoint_ref(old.endpoint_id, key)),
        ("certificate_revoked", endpoint_ref(revoked.endpoint_id, key)),
        ("unknown_endpoint", endpoint_ref(stranger.endpoint_id, key)),
        ("identity_mismatch", endpoint_ref(stranger.endpoint_id, key)),
        ("certificate_untrusted", None),
    }
    for event in _audited(db):  # ids only: no certificate, subject or plain endpoint id
        assert all(
            agent.endpoint_id not in str(value) for agent in agents for value in event.values()
        )


@pytest.mark.parametrize("trusted", [True, False], ids=["trusted-proxy", "untrusted-peer"])
def test_a_trusted_proxys_verified_client_certificate_identifies_the_agent(
    runtime: Runtime, db: Session, tmp_path: Path, trusted: bool
) -> None:
    ca = Authority(tmp_path / "pki")
    crl = tmp_path / "pki" / "devices.crl"
    agents = agents_for(net_config(1), 2)
    device, revoked = agents
    certificate, withdrawn = ca.device(device.endpoint_id), ca.device(revoked.endpoint_id)
    ca.write_crl(crl, [withdrawn.certificate], now=runtime.clock.now())
    proxies = (ipaddress.ip_network("127.0.0.1/32"),) if trusted else ()
    runtime = _runtime(
        runtime,
        usp_client_ca_file=ca.ca_file,
        usp_client_crl_file=crl,
        trusted_proxies=proxies,
    )
    hooks = RecordingHooks()
    app = _app(runtime, store_for(agents), hooks)
    hub = usp_ws.hub_of(app)

    def forwarded(pem: str, verdict: str = "SUCCESS") -> dict[str, str]:
        return {"X-SSL-Client-Verify": verdict, "X-SSL-Client-Cert": quote(pem)}

    async def scenario() -> None:
        from tests.usp_net.conftest import serve_app

        async with serve_app(app) as url:
            eid = quote(device.endpoint_id, safe="-._~")
            if trusted:
                async with connect(
                    f"{url}?eid={eid}",
                    subprotocols=[usp_ws.SUBPROTOCOL],  # type: ignore[list-item]
                    additional_headers=forwarded(certificate.pem()),
                    proxy=None,
                ) as accepted:
                    assert accepted.subprotocol == "v1.usp"
            else:
                status = await _refused(
                    url, device.endpoint_id, additional_headers=forwarded(certificate.pem())
                )
                assert status == 403  # the headers of an unlisted peer are ignored
            # The proxy verified it, but Doorstep's own CRL lists it.
            headers = forwarded(withdrawn.pem())
            assert await _refused(url, revoked.endpoint_id, additional_headers=headers) == 403
            failed = forwarded(certificate.pem(), "FAILED:certificate has expired")
            assert await _refused(url, device.endpoint_id, additional_headers=failed) == 403
            audit = hub.controller.audit
            assert isinstance(audit, RuntimeAuditSink)
            await audit.drain()

    run(scenario())
    reasons = sorted(e["reason"] for e in _audited(db))
    if trusted:
        assert reasons == ["certificate_expired", "certificate_revoked"]
    else:
        assert reasons == ["no_credentials", "no_credentials", "no_credentials"]


def test_a_crl_is_required_for_the_issuer_and_headers_decode_in_each_proxy_format(
    tmp_path: Path,
) -> None:
    import base64

    from cryptography.hazmat.primitives import serialization

    ca = Authority(tmp_path / "pki")
    stranger = Authority(tmp_path / "other", name="another CA")
    device = ca.device("os::02D00C-CERT000001")
    now = device.certificate.not_valid_before_utc + timedelta(days=30)
    crl = tmp_path / "crl.pem"
    stranger.write_crl(crl, [], now=now)  # a CRL, but not of the device's issuer
    authority = DeviceCertificateAuthority(ca.ca_file, crl)
    assert authority.check([device.certificate], now).reason == "crl_unavailable"
    ca.write_crl(crl, [], now=now - timedelta(days=30))  # the issuer's, but past nextUpdate
    assert authority.check([device.certificate], now).reason == "crl_unavailable"
    ca.write_crl(crl, [], now=now)
    assert authority.check([device.certificate], now).endpoint_id == device.endpoint_id
    assert authority.check([device.certificate], now).accepted

    der = device.certificate.public_bytes(serialization.Encoding.DER)
    pem = device.pem()
    tabbed = pem.rstrip("\n").replace("\n", "\n\t")  # nginx's $ssl_client_cert
    for header in (quote(pem), base64.b64encode(der).decode(), tabbed):
        assert certificates_from_header(header) == [device.certificate]
    assert certificates_from_header("not a certificate") == []
