"""End-to-end browser tests: the real app in uvicorn, driven by Debian's Chromium.

* ``live_server``: ``create_app(committed, in_process_worker=True)`` served by uvicorn
  on 127.0.0.1 and a free port, in a thread running its own event loop; the devices
  area comes up as in ``doorstep serve`` (the router's lifespan, default settings).
  ``serve_live(devices=True)`` starts one with ``mount.install`` on a test USP
  configuration instead, as ``tests/devices`` does, plus simulated devices over the
  WebSocket MTP (:meth:`LiveServer.add_devices`, :meth:`LiveServer.fleet`).
* ``browser``: Playwright's sync API on ``$DOORSTEP_CHROMIUM`` or ``/usr/bin/chromium``
  (``executable_path``; Playwright's own browser download is never used), headless.
  It lives for the tests of this package and is stopped before any other test of the
  worker runs: while Playwright's sync API is alive, its event loop is marked as
  running in this thread, so ``asyncio.run`` (which the USP tests use) would fail.
* ``page``: a fresh context (no shared cookies or storage) and page per test, with
  ``base_url`` on the live server; ``new_context(**options)`` makes more (another
  subscriber, JavaScript off).  Every context of a test fails it, at teardown, on an
  uncaught JavaScript error or on a request to anything but loopback.
* When a test fails, a full-page screenshot and the HTML of each of its open pages
  go to its ``tmp_path``; the report names the files.
* :func:`screenshot` writes ``<name>.png`` to :func:`screenshot_dir`: the ignored
  ``.test-screenshots/`` on an ordinary run, the documentation's
  ``docs/screenshots/`` only when ``DOORSTEP_REFRESH_SCREENSHOTS=1`` asks for it
  (``DOORSTEP_REFRESH_SCREENSHOTS=1 python3 dev.py test tests/web``, see docs/pages.md).

Inside these tests never call ``asyncio.run``: run coroutines on the server's loop
with :meth:`LiveServer.run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import threading
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from doorstep.asgi import create_app
from doorstep.core.runtime import Runtime
from doorstep.devices import mount
from doorstep.usp.agent_sim import SimAgent, WebSocketOptions, run_fleet
from doorstep.usp.config import UspConfig
from tests.conftest import ROOT
from tests.devices.conftest import devices_for, provision
from tests.usp_net.conftest import free_port, net_config

T = TypeVar("T")

#: The documentation's screenshots: written only when refreshing them on purpose.
SCREENSHOTS = ROOT / "docs" / "screenshots"
#: Where an ordinary test run puts its screenshots (ignored by git, see .gitignore).
TEST_SCREENSHOTS = ROOT / ".test-screenshots"
#: ``DOORSTEP_REFRESH_SCREENSHOTS=1`` sends the screenshots to :data:`SCREENSHOTS`.
REFRESH_SWITCH = "DOORSTEP_REFRESH_SCREENSHOTS"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
#: What this machine needs: no setuid sandbox (root, containers), no GPU, and none of
#: Chromium's own traffic (the closed network refuses it, which slows every page).
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
#: Playwright's wait for a selector, a click, an ``expect``…: well inside pytest-timeout's
#: 120 s, so a missing element fails with Playwright's message, not a timeout dump.
ACTION_TIMEOUT_MS = 15_000
NAVIGATION_TIMEOUT_MS = 30_000


# -- the live server -------------------------------------------------------------------


@dataclass
class LiveServer:
    """The app served for real, in a thread of its own with its own event loop."""

    url: str
    runtime: Runtime
    app: FastAPI
    loop: asyncio.AbstractEventLoop
    usp_config: UspConfig | None = None
    _fleets: list[Callable[[], None]] = field(default_factory=list)

    @property
    def ws_url(self) -> str:
        """The USP WebSocket endpoint (``ws://127.0.0.1:<port>/usp``)."""
        return self.url.replace("http://", "ws://", 1) + "/usp"

    @property
    def devices(self) -> mount.DevicesState:
        """The devices area of the app (installed by ``serve_live(devices=…)`` or the lifespan)."""
        return mount.state_of(self.app)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run ``coro`` on the server's event loop; return its result (or raise its error)."""

        async def bounded() -> T:
            return await asyncio.wait_for(coro, timeout)

        return asyncio.run_coroutine_threadsafe(bounded(), self.loop).result(timeout + 5)

    def add_devices(self, count: int, **kwargs: Any) -> list[SimAgent]:
        """``count`` simulated devices (even: router, odd: gateway) in the inventory.

        They know this server's controller; start them with :meth:`fleet`.  ``kwargs``
        go to ``make_agents``.
        """
        agents = devices_for(self.usp_config or UspConfig(), count, **kwargs)
        with self.runtime.sessions.begin() as session:
            provision(session, self.runtime, agents)
        return agents

    @contextlib.contextmanager
    def fleet(self, agents: Sequence[SimAgent], *, onboard: bool = True) -> Iterator[None]:
        """Keep ``agents`` connected over the WebSocket MTP for the duration.

        With ``onboard``, wait until every one got the answer to its Boot! event (its
        registration is stored then).  Stopped also when the server stops.
        """
        stop = asyncio.Event()
        options = WebSocketOptions(self.ws_url, reconnect_max=1.0)

        async def start() -> asyncio.Task[None]:
            return asyncio.create_task(run_fleet(agents, options, stop), name="live-fleet")

        task = self.run(start())

        async def onboarded() -> None:
            everyone = asyncio.gather(*(a.onboarded.wait() for a in agents))
            try:
                either: list[asyncio.Future[Any]] = [everyone, task]
                await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                if not everyone.done():  # the fleet ended first: say why
                    task.result()
                    raise AssertionError("the simulated devices stopped before onboarding")
            finally:
                everyone.cancel()

        async def finish() -> None:
            stop.set()
            await task

        stopped = False

        def stop_fleet() -> None:
            nonlocal stopped
            if not stopped:
                stopped = True
                self.run(finish(), 15)

        self._fleets.append(stop_fleet)
        try:
            if onboard:
                self.run(onboarded(), 20)
            yield
        finally:
            stop_fleet()


@contextlib.contextmanager
def running(
    runtime: Runtime, *, devices: UspConfig | bool = False, worker: bool = True
) -> Iterator[LiveServer]:
    """Serve ``create_app(runtime)`` in a thread; stop it (and its worker) on exit."""
    import uvicorn

    app = create_app(runtime, in_process_worker=worker)
    usp_config = None
    if devices:
        # As tests/devices does: a topic root of its own, fast timeouts; WebSocket only.
        usp_config = devices if isinstance(devices, UspConfig) else net_config(1883)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            lifespan="on",
            ws="websockets-sansio",
            ws_max_size=1 << 20,
            timeout_graceful_shutdown=5,
        )
    )
    loops: list[asyncio.AbstractEventLoop] = []
    errors: list[BaseException] = []

    async def main() -> None:
        loops.append(asyncio.get_running_loop())
        if usp_config is not None:
            mount.install(app, config=usp_config)  # inside the app's loop, before serving
        await server.serve()

    def target() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # reported by the test's thread
            errors.append(exc)

    thread = threading.Thread(target=target, name=f"live-server-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the live server did not start") from next(iter(errors), None)
        if time.monotonic() > deadline:
            server.should_exit = True
            thread.join(10)
            raise RuntimeError("the live server did not start within 30 s")
        time.sleep(0.02)
    live = LiveServer(f"http://127.0.0.1:{port}", runtime, app, loops[0], usp_config)
    try:
        yield live
    finally:
        for stop_fleet in reversed(live._fleets):
            with contextlib.suppress(Exception):  # already stopped, or its error was raised
                stop_fleet()
        server.should_exit = True
        thread.join(30)
        if thread.is_alive():
            raise RuntimeError("the live server did not stop within 30 s")
        if errors:
            raise RuntimeError("the live server failed") from errors[0]


@pytest.fixture
def serve_live(committed: Runtime) -> Iterator[Callable[..., LiveServer]]:
    """Start live servers on the ``committed`` runtime: ``serve_live(devices=True)``.

    ``devices``: ``True`` installs the devices area on a test USP configuration (or pass
    a :class:`UspConfig`); ``worker``: run the in-process job worker (default).  Every
    server is stopped at the end of the test, before the tables are emptied.
    """
    with contextlib.ExitStack() as stack:

        def start(*, devices: UspConfig | bool = False, worker: bool = True) -> LiveServer:
            return stack.enter_context(running(committed, devices=devices, worker=worker))

        yield start


@pytest.fixture
def live_server(serve_live: Callable[..., LiveServer]) -> LiveServer:
    """The app served for real (with its job worker) on ``http://127.0.0.1:<port>``."""
    return serve_live()


# -- the browser -----------------------------------------------------------------------


def chromium_executable() -> str:
    """The Chromium to drive; skips the test when it is not installed."""
    configured = os.environ.get("DOORSTEP_CHROMIUM")
    path = configured or DEFAULT_CHROMIUM
    if Path(path).is_file() and os.access(path, os.X_OK):
        return path
    if configured:
        pytest.fail(f"DOORSTEP_CHROMIUM={configured} is not an executable file")
    pytest.skip("chromium is not installed: apt install chromium (CI installs it)")


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Headless Chromium, shared by the tests of this package in this test process.

    Package scope, not session: Playwright is stopped before any other test of this
    process runs (see the module doc on ``asyncio.run``).
    """
    executable = chromium_executable()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class _Watch:
    """What the browser contexts of one test saw, for its report and teardown."""

    directory: Path
    contexts: list[BrowserContext] = field(default_factory=list)
    js_errors: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)


WATCH = pytest.StashKey[_Watch]()


def _is_external(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"http", "https", "ws", "wss"} and parts.hostname not in LOOPBACK


@pytest.fixture
def new_context(
    browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., BrowserContext]]:
    """Make browser contexts on the live server: ``new_context(java_script_enabled=False)``.

    Options go to ``Browser.new_context``; ``base_url`` defaults to the live server.
    Every context is closed at the end of the test.
    """
    watch = _Watch(tmp_path)
    request.node.stash[WATCH] = watch

    def make(**options: Any) -> BrowserContext:
        options.setdefault("base_url", live_server.url)
        options.setdefault("viewport", {"width": 1280, "height": 800})
        options.setdefault("locale", "en-GB")
        options.setdefault("timezone_id", "UTC")
        context = browser.new_context(**options)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        context.on("weberror", lambda error: watch.js_errors.append(str(error.error)))
        context.on(
            "request",
            lambda req: watch.external.append(req.url) if _is_external(req.url) else None,
        )
        watch.contexts.append(context)
        return context

    try:
        yield make
    finally:
        for context in watch.contexts:
            with contextlib.suppress(PlaywrightError):  # the browser may have gone away
                context.close()
    if watch.js_errors:
        pytest.fail(f"uncaught JavaScript errors: {watch.js_errors}", pytrace=False)
    if watch.external:
        pytest.fail(f"the pages requested more than loopback: {watch.external}", pytrace=False)


@pytest.fixture
def context(new_context: Callable[..., BrowserContext]) -> BrowserContext:
    """A fresh browser context (no cookies, no storage) on the live server."""
    return new_context()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A page of a fresh context; ``page.goto("/")`` opens the live server's landing page."""
    return context.new_page()


_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*")


def screenshot_dir() -> Path:
    """Where :func:`screenshot` writes: the docs only when refreshing them on purpose.

    An ordinary run never touches tracked files: its screenshots go to the ignored
    :data:`TEST_SCREENSHOTS`.  ``DOORSTEP_REFRESH_SCREENSHOTS=1`` (exactly ``1``)
    sends them to :data:`SCREENSHOTS`, the images docs/pages.md shows.
    """
    return SCREENSHOTS if os.environ.get(REFRESH_SWITCH) == "1" else TEST_SCREENSHOTS


def screenshot(page: Page, name: str) -> Path:
    """Write a full-page screenshot to ``<screenshot_dir()>/<name>.png``; return its path.

    ``name`` is a plain file name (``console-requests``).  An unchanged image is not
    rewritten, so a refreshed file stays as committed when the page looks the same.
    """
    if not _NAME.fullmatch(name):
        raise ValueError(f"screenshot name must match {_NAME.pattern}: {name!r}")
    image = page.screenshot(full_page=True, animations="disabled", caret="hide")
    directory = screenshot_dir()
    path = directory / f"{name}.png"
    if path.exists() and path.read_bytes() == image:
        return path
    directory.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{name}.{os.getpid()}.png")
    partial.write_bytes(image)
    partial.replace(path)  # atomic: parallel test processes never see half a file
    return path


# -- failure artefacts -----------------------------------------------------------------


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    watch = item.stash.get(WATCH, None)
    if watch is None or report.when != "call" or not report.failed:
        return
    saved = []
    for number, context in enumerate(watch.contexts):
        for index, open_page in enumerate(context.pages):
            stem = watch.directory / f"failure-{number}-{index}"
            try:
                open_page.screenshot(path=f"{stem}.png", full_page=True, timeout=10_000)
                Path(f"{stem}.html").write_text(open_page.content(), encoding="utf-8")
            except PlaywrightError as exc:
                saved.append(f"{open_page.url}: no screenshot ({exc.message.splitlines()[0]})")
            else:
                saved.append(f"{open_page.url}: {stem}.png, {stem}.html")
    if saved:
        report.sections.append(("browser pages at failure", "\n".join(saved)))
