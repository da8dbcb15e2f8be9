"""Location is collected only when the subscriber asks, and no trail of it is kept (CORP-1.12).

The one use of location in Doorstep is the optional Wi-Fi scan (the nearby networks
reveal where the home is): the device runs its site survey when the subscriber's app
calls ``POST /api/v1/devices/{id}/wifi/scan``, under the consent ``wifi.location_scan``,
and the answer goes back in memory (``tests/devices/test_not_stored.py`` proves the
round trip stores nothing).  Here: nothing else can start a survey, no job among the
worker's tasks reaches it, and the data map has no place where a location could stay.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import doorstep
from doorstep.jobs.registry import declared_tasks
from doorstep.privacy.datamap.pack import Trigger, default_pack
from doorstep.privacy.datamap.registry import personal_elements
from doorstep.schema import metadata
from doorstep.wiring import TASK_MODULES, load_tasks

SOURCE = Path(doorstep.__file__).parent
SURVEY = "Device.WiFi.NeighboringWiFiDiagnostic()"


def _modules_naming(*names: str) -> set[str]:
    """Modules of the package whose code names any of ``names`` (call, attribute or string)."""
    found: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        module = ".".join(("doorstep", *path.relative_to(SOURCE).with_suffix("").parts))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            text = (
                node.attr
                if isinstance(node, ast.Attribute)
                else node.id
                if isinstance(node, ast.Name)
                else node.value
                if isinstance(node, ast.Constant) and isinstance(node.value, str)
                else None
            )
            if text in names:
                found.add(module.removesuffix(".__init__"))
    return found


def _imports(module: str) -> set[str]:
    """Every module ``module`` imports by name (``from a import b`` counts as ``a`` and ``a.b``)."""
    path = SOURCE.joinpath(*module.split(".")[1:]).with_suffix(".py")
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


@pytest.mark.clause("CORP-1.12")
def test_location_is_collected_only_on_request_and_never_kept() -> None:
    # Only the Wi-Fi module sends the survey (the simulator answers it), and only the
    # HTTP route the subscriber calls runs that module's scan.
    assert _modules_naming(SURVEY) == {"doorstep.devices.wifi", "doorstep.usp.agent_sim._commands"}
    assert _modules_naming("scan_wifi") == {"doorstep.devices.api"}  # its one caller
    # No job or periodic task of the worker is in, or imports, either module.
    load_tasks()
    assert declared_tasks()
    for spec in declared_tasks().values():
        module = inspect.getmodule(spec.function)
        assert module is not None
        if module.__name__.startswith("tests."):
            continue  # a test's own task, declared by a test module this process imported
        assert module.__name__ in TASK_MODULES, spec.name
        assert not _imports(module.__name__) & {"doorstep.devices.wifi", "doorstep.devices.api"}
    # No history: no column may hold a precise location, and the scan's rule is "never
    # stored". Country-level facts (a subject's home country, an incident's jurisdiction)
    # and the time zone staff set for a device's maintenance windows (one value a device,
    # replaced, never read from the device: decision 0045) are declared imprecise and
    # never come from the scan.
    located = [
        (e, d.category)
        for e, d in personal_elements(metadata)
        if d.category.startswith("user.location")
    ]
    assert [e for e, category in located if category != "user.location.imprecise"] == []
    assert {e for e, _ in located} <= {
        "incident_subjects.jurisdiction",
        "subject_regions.country",
        "device_time_zones.time_zone",
    }
    assert default_pack().retention["wifi_scan"].trigger is Trigger.NOT_STORED
