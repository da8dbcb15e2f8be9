"""The simulated agent's IP diagnostics: IPPing(), TraceRoute(), DownloadDiagnostics(),
UploadDiagnostics() in their TR-181 USP command forms.

Over real Mosquitto (MQTT 5) a controller runs them as a diagnostics engine would and
reads the OperationComplete output arguments; bad input is refused in the OperateResp.
The figures are the same again under one seed (checked on the agent itself).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from doorstep.core.clock import FakeClock
from doorstep.usp import (
    AsyncRequest,
    CommandFailure,
    ErrorCode,
    Msg,
    Notify,
    OperationComplete,
    OutputArgs,
    messages,
)
from doorstep.usp.agent_sim import SimAgent, SimConditions, make_profile
from doorstep.usp.controller import Controller
from tests.usp_net.conftest import needs_mosquitto, run
from tests.usp_net.helpers import RecordingHooks, until
from tests.usp_net.simulated import (
    QUICK,
    completions,
    connected,
    request_rows,
    strict_agent,
    subscribe,
)

DIAGNOSTICS = "Device.IP.Diagnostics."


async def _run(
    controller: Controller, hooks: RecordingHooks, eid: str, name: str, args: dict[str, str]
) -> dict[str, str]:
    """Run diagnostic ``name`` and return its output arguments."""
    before = len(completions(hooks, eid, name))
    answer = await controller.operate(eid, DIAGNOSTICS + name, args, command_key=f"{name}-run")
    assert isinstance(answer.operation_results[0].result, AsyncRequest)
    await until(lambda: len(completions(hooks, eid, name)) > before, timeout=30)
    done = completions(hooks, eid, name)[-1]
    assert (done.obj_path, done.command_key) == (DIAGNOSTICS, f"{name}-run")
    assert isinstance(done.result, OutputArgs)
    return dict(done.result.output_args)


def _stamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


@needs_mosquitto
def test_ping_and_trace_route_report_plausible_figures(broker: int) -> None:
    agent = strict_agent()
    eid, wan_ip = agent.endpoint_id, agent.profile.wan_ip
    hooks = RecordingHooks()

    async def scenario() -> None:
        async with connected(agent, hooks, broker) as controller:
            await subscribe(controller, eid, "diag", "OperationComplete", DIAGNOSTICS)
            args = {"Host": "speedtest.example.net", "NumberOfRepetitions": "6"}
            ping = await _run(controller, hooks, eid, "IPPing()", args)
            assert (ping["Status"], ping["IPAddressUsed"]) == ("Complete", wan_ip)
            assert (ping["SuccessCount"], ping["FailureCount"]) == ("6", "0")
            low, mean, high = (int(ping[f"{k}ResponseTimeDetailed"])
                               for k in ("Minimum", "Average", "Maximum"))  # fmt: skip
            assert 2_500 <= low < mean < high <= 72_000  # µs, with variance
            assert int(ping["AverageResponseTime"]) == round(mean / 1000)

            route = await _run(controller, hooks, eid, "TraceRoute()",
                               {"Host": "speedtest.example.net"})  # fmt: skip
            assert route["Status"] == "Complete"
            hops = sorted({int(k.split(".")[1]) for k in route if k.startswith("RouteHops.")})
            assert 4 <= len(hops) <= 11 and hops == list(range(1, len(hops) + 1))
            last = f"RouteHops.{hops[-1]}."
            assert route[last + "Host"] == "speedtest.example.net"
            assert route[last + "HostAddress"].startswith("198.51.100.")
            assert route["RouteHops.1.HostAddress"] == "100.64.0.1"
            assert all(len(route[f"RouteHops.{h}.RTTimes"].split(",")) == 3 for h in hops)
            assert int(route["ResponseTime"]) > 0

            short = await _run(controller, hooks, eid, "TraceRoute()",
                               {"Host": "speedtest.example.net", "MaxHopCount": "2",
                                "NumberOfTries": "1"})  # fmt: skip
            assert short["Status"] == "Error_MaxHopCountExceeded"
            assert "RouteHops.2.HostAddress" in short and "RouteHops.3.Host" not in short
            assert len(short["RouteHops.2.RTTimes"].split(",")) == 1

    run(scenario())


@needs_mosquitto
def test_speed_tests_measure_the_line(broker: int) -> None:
    agent = strict_agent()
    eid = agent.endpoint_id
    hooks = RecordingHooks()

    async def scenario() -> None:
        async with connected(agent, hooks, broker) as controller:
            await subscribe(controller, eid, "diag", "OperationComplete", DIAGNOSTICS)
            down = await _run(controller, hooks, eid, "DownloadDiagnostics()",
                              {"DownloadURL": "http://speed.example/100MB.bin"})  # fmt: skip
            assert down["Status"] == "Complete"
            assert down["TestBytesReceived"] == "100000000"
            assert int(down["TotalBytesReceived"]) > 100_000_000
            seconds = (_stamp(down["EOMTime"]) - _stamp(down["BOMTime"])).total_seconds()
            assert _stamp(down["TCPOpenRequestTime"]) <= _stamp(down["ROMTime"])
            mbps = 100_000_000 * 8 / seconds / 1e6
            assert 85 <= mbps <= 990  # one of the simulated lines, 88-98 % used

            up = await _run(controller, hooks, eid, "UploadDiagnostics()",
                            {"UploadURL": "http://speed.example/upload",
                             "TestFileLength": "5000000"})  # fmt: skip
            assert (up["Status"], up["TestBytesSent"]) == ("Complete", "5000000")
            assert int(up["TotalBytesSent"]) > 5_000_000

            timed = await _run(controller, hooks, eid, "DownloadDiagnostics()",
                               {"DownloadURL": "http://speed.example/file",
                                "TimeBasedTestDuration": "10",
                                "TimeBasedTestMeasurementInterval": "2",
                                "NumberOfConnections": "4",
                                "EnablePerConnectionResults": "true"})  # fmt: skip
            assert timed["PeriodOfFullLoading"] == "10000000"
            assert {k.split(".")[1] for k in timed if k.startswith("IncrementalResult.")} == {
                "1", "2", "3", "4", "5"
            }  # fmt: skip
            assert "PerConnectionResult.4.TestBytesReceived" in timed

    run(scenario())


@needs_mosquitto
def test_bad_input_is_refused_and_bad_hosts_are_reported(broker: int) -> None:
    agent = strict_agent()
    eid = agent.endpoint_id
    hooks = RecordingHooks()

    async def scenario() -> None:
        async with connected(agent, hooks, broker) as controller:
            await subscribe(controller, eid, "diag", "OperationComplete", DIAGNOSTICS)
            refused = (
                ("IPPing()", {"Host": "bad host; reboot"}),
                ("IPPing()", {}),
                ("IPPing()", {"Host": "example.net", "NumberOfRepetitions": "0"}),
                ("IPPing()", {"Host": "example.net", "Interface": "Device.IP.Interface.9"}),
                ("TraceRoute()", {"Host": "example.net", "ProtocolVersion": "IPv5"}),
                ("DownloadDiagnostics()", {"DownloadURL": "gopher://speed.example/x"}),
                ("UploadDiagnostics()", {"UploadURL": "http://speed.example/u",
                                         "TestFileLength": "ten"}),
            )  # fmt: skip
            for name, args in refused:
                answer = await controller.operate(eid, DIAGNOSTICS + name, args)
                result = answer.operation_results[0].result
                assert isinstance(result, CommandFailure), (name, args)
                assert result.err_code == ErrorCode.INVALID_ARGUMENTS
            assert not request_rows(agent)  # nothing was started

            nowhere = await _run(controller, hooks, eid, "IPPing()", {"Host": "nowhere.invalid"})
            assert nowhere == {"Status": "Error_CannotResolveHostName"}
            args = {"Host": "192.0.2.7", "Interface": "Device.IP.Interface.1"}
            silent = await _run(controller, hooks, eid, "IPPing()", args)
            assert (silent["SuccessCount"], silent["FailureCount"]) == ("0", "4")
            closed = await _run(controller, hooks, eid, "DownloadDiagnostics()",
                                {"DownloadURL": "http://192.0.2.9/10MB.bin"})  # fmt: skip
            assert closed == {"Status": "Error_InitConnectionFailed"}

            answer = await controller.get_supported_dm(eid, DIAGNOSTICS)
            table = answer.req_obj_results[0].supported_objs[0]
            commands = {c.command_name: c for c in table.supported_commands}
            assert set(commands) == {"IPPing()", "TraceRoute()", "DownloadDiagnostics()",
                                     "UploadDiagnostics()"}  # fmt: skip
            assert "Host" in commands["IPPing()"].input_arg_names
            assert "RouteHops.{i}.RTTimes" in commands["TraceRoute()"].output_arg_names

    run(scenario())


def _figures(seed: int) -> list[dict[str, str]]:
    """Ping, trace route and a speed test of device 5 of batch ABC under ``seed``."""
    conditions = SimConditions(clock=FakeClock(), seed=seed)
    agent = SimAgent(make_profile(5, "ABC"), controller_id="self::c", secret="s" * 32,
                     timing=QUICK, conditions=conditions)  # fmt: skip
    sent: list[Msg] = []

    async def send(msg: Msg) -> None:
        sent.append(msg)

    def done() -> list[OperationComplete]:
        return [m.body.notification for m in sent
                if isinstance(m.body, Notify)
                and isinstance(m.body.notification, OperationComplete)]  # fmt: skip

    async def scenario() -> list[dict[str, str]]:
        agent.session_started(send)
        for n, (name, args) in enumerate((
            ("IPPing()", {"Host": "example.net", "NumberOfRepetitions": "10"}),
            ("TraceRoute()", {"Host": "example.net"}),
            ("DownloadDiagnostics()", {"DownloadURL": "http://speed.example/1GB.bin"}),
        ), start=1):  # fmt: skip
            agent.answer(messages.operate(f"m{n}", DIAGNOSTICS + name, args), send)
            while len(done()) < n:
                await asyncio.sleep(0.01)
        agent.session_ended()
        results = []
        for complete in done():
            assert isinstance(complete.result, OutputArgs)
            results.append(dict(complete.result.output_args))
        return results

    return run(scenario(), timeout=20)


def test_the_figures_are_the_same_under_one_seed() -> None:
    first, again, other = _figures(11), _figures(11), _figures(12)
    assert first == again
    assert first != other
    assert first[0]["AverageResponseTimeDetailed"] != other[0]["AverageResponseTimeDetailed"]


@pytest.mark.parametrize("host", ["example.net", "192.0.2.1"])
def test_a_trace_route_never_lists_more_hops_than_asked(host: str) -> None:
    from doorstep.usp.agent_sim._probes import Draws, trace

    for limit in (1, 3, 5, 30):
        route = trace(Draws(1, "os::X", 1), host, 2, limit, ipv6=False, wan_ip="100.64.0.2")
        hops = {k.split(".")[1] for k in route if k.startswith("RouteHops.")}
        assert len(hops) <= limit
