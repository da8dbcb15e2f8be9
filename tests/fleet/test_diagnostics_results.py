"""What a diagnostic sends and keeps: input arguments, and output arguments mapped to fields.

The outputs are the simulator's (:mod:`doorstep.usp.agent_sim._probes`), which follow the
TR-181 2.15 command forms; what is kept is named fields, never the device's own WAN
address (``IPAddressUsed``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from doorstep.core.errors import InvalidInputError
from doorstep.core.settings import load_settings
from doorstep.devices.fleet.diagnostics_handler import _bulk_target
from doorstep.devices.fleet.diagnostics_models import DiagnosticKind
from doorstep.devices.fleet.diagnostics_results import check_host, input_args, result_of
from doorstep.usp.agent_sim import _probes

DRAWS = _probes.Draws(7, "os::test-0001", 1)
WAN = "100.64.12.34"


def test_a_ping_keeps_its_counts_and_times_but_not_the_wan_address() -> None:
    out = _probes.ping(DRAWS, "example.org", 4, False, WAN)
    kept = result_of(DiagnosticKind.PING, out)
    assert (kept["status"], kept["sent"], kept["received"]) == ("Complete", 4, 4)
    assert kept["minimum_ms"] <= kept["average_ms"] <= kept["maximum_ms"]
    assert kept["average_ms"] == int(out["AverageResponseTimeDetailed"]) / 1000
    assert WAN not in str(kept)
    lost = result_of(DiagnosticKind.PING, _probes.ping(DRAWS, "192.0.2.9", 4, False, WAN))
    assert (lost["received"], lost["average_ms"]) == (0, None)
    unknown = result_of(DiagnosticKind.PING, _probes.ping(DRAWS, "x.invalid", 4, False, WAN))
    assert unknown == {"status": "Error_CannotResolveHostName", "sent": None, "received": None,
                       "average_ms": None, "minimum_ms": None, "maximum_ms": None}  # fmt: skip


def test_a_trace_route_keeps_its_hops_in_order() -> None:
    out = _probes.trace(DRAWS, "example.org", 3, 30, ipv6=False, wan_ip=WAN)
    kept = result_of(DiagnosticKind.TRACEROUTE, out)
    hops = kept["hops"]
    assert [h["hop"] for h in hops] == list(range(1, len(hops) + 1))
    assert hops[0]["address"] == "100.64.0.1" and hops[-1]["host"] == "example.org"
    assert all(len(h["rtt_ms"]) == 3 for h in hops) and kept["response_time_ms"] > 0


@pytest.mark.parametrize("upload", [False, True])
def test_a_speed_test_keeps_bytes_seconds_and_throughput(upload: bool) -> None:
    test = _probes.SpeedTest("speedtest.example.net", upload, 100_000_000)
    out = _probes.speed(DRAWS, test, datetime(2026, 5, 1, tzinfo=UTC), WAN)
    kind = DiagnosticKind.UPLOAD if upload else DiagnosticKind.DOWNLOAD
    kept = result_of(kind, out)
    assert kept["bytes"] == 100_000_000 and kept["seconds"] > 0
    assert kept["mbps"] == pytest.approx(800 / kept["seconds"], rel=0.01)
    assert kept["connect_ms"] > 0 and WAN not in str(kept)


def test_inputs_name_the_callers_host_or_the_operators_servers() -> None:
    settings = load_settings(env="test")
    assert input_args(DiagnosticKind.PING, "example.org", settings)["Host"] == "example.org"
    assert input_args(DiagnosticKind.DOWNLOAD, None, settings) == {
        "DownloadURL": settings.diagnostics_download_url
    }
    upload = input_args(DiagnosticKind.UPLOAD, "speed.isp.example", settings)
    assert upload["UploadURL"] == "http://speed.isp.example/upload"
    assert upload["TestFileLength"] == str(settings.diagnostics_upload_bytes)


@pytest.mark.parametrize("host", ["", " ", "a b", "a;b", "$(reboot)", "a" * 254, "...", None])
def test_a_host_that_is_not_a_name_or_an_address_is_refused(host: str | None) -> None:
    with pytest.raises(InvalidInputError):
        check_host(DiagnosticKind.PING, host)


def test_a_bulk_action_names_its_test_and_the_operators_server() -> None:
    found = _bulk_target({"test": "ping", "host": "probe.isp.example"})
    assert found is not None and (found.kind, found.host, found.run_id) == (
        DiagnosticKind.PING, "probe.isp.example", None
    )  # fmt: skip
    assert _bulk_target({"test": "whois", "host": "x"}) is None
    assert _bulk_target({"test": "ping", "host": "a b"}) is None
