"""asgibench against asgion on the deliberately broken apps of tests/broken_apps.py.

asgion (https://pypi.org/project/asgion/) is an app-side ASGI validator: it wraps an app, watches the scope and every
message going in and out, and reports the rules broken. asgibench plays the server itself and drives the app through
chunked bodies, disconnects and hangs. Every broken app, each made to break one rule, is run three ways:

* asgibench: ``run_conformance`` with the default routes plus the app's extra paths, 0.3 s timeout. Caught when the
  check the app was built to break gives the verdict expected of it (fail, or warn).
* asgion, ordinary traffic: the app wrapped in a fresh ``asgion.Inspector`` and driven in-process the way a server
  would drive it in everyday use: lifespan startup, GET /, POST / with a small JSON body in one message, one request
  per extra path, one WebSocket session (connect, one text message, client close 1000), lifespan shutdown.
* asgion, asgibench's traffic: the Inspector-wrapped app handed to ``run_conformance`` instead, so that asgion sees
  the chunked bodies, disconnects and hangs asgibench produces.

asgion catches an app when it reports at least one rule id, of any severity, that it does not report for the correct
app (``compose()``) under the same traffic: what the correct app sets off too is noise, not a finding.

asgion needs Python 3.12+ and asgibench's venv is 3.11, so the script makes benchmarks/.venv-asgion with a Python 3.12,
installs asgion and asgibench (editable) there when missing, and runs itself again there with ``--child``.
Exit status 1 when asgion caught an app that asgibench missed, so that it doubles as a regression check.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import glob
import importlib.util
import json
import logging
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from asgibench.conformance.scenarios import RouteSpec

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / "benchmarks" / ".venv-asgion"
VENV_PYTHON = VENV / "bin" / "python"
BROKEN_APPS_FILE = REPO / "tests" / "broken_apps.py"
CHILD_FLAG = "--child"
PIP_FLAGS = ("--quiet", "--disable-pip-version-check")
# What to pip install for each distribution the child needs.
REQUIREMENTS = {"asgion": ["asgion"], "asgibench": ["-e", str(REPO)]}
SETUP_FAILED = 2  # 1 is kept for "asgion caught what asgibench missed"

TIMEOUT = 0.3  # per ASGI call, for both tools: the apps answer at once, only a hang takes longer
JSON_BODY = json.dumps({"name": "asgion", "count": 1}).encode()

Message = dict[str, Any]
App = Callable[..., Any]
Findings = dict[str, str]  # asgion rule id -> "severity: message" of its first violation


# The 3.11 side: make the 3.12 venv and hand over ---------------------------------------------------------------------


def fail(message: str) -> NoReturn:
    print(f"asgion_compare: {message}", file=sys.stderr)
    raise SystemExit(SETUP_FAILED)


def is_python312(python: str) -> bool:
    # A pyenv shim is on PATH even when its version is not installed, so ask the interpreter itself.
    probe = subprocess.run([python, "-c", "import sys; sys.exit(sys.version_info[:2] != (3, 12))"], capture_output=True)
    return probe.returncode == 0


def find_python312() -> str:
    candidates = [shutil.which("python3.12"), *sorted(glob.glob("/root/.pyenv/versions/3.12*/bin/python3.12"))]
    for candidate in candidates:
        if candidate and is_python312(candidate):
            return candidate
    fail("asgion needs Python 3.12: no python3.12 on PATH, nor in /root/.pyenv/versions/3.12*/bin")


def missing_distributions(names: Iterable[str]) -> list[str]:
    # -I: the repo root (the working directory) holds asgibench.egg-info, which must not count as installed.
    probe = (
        "import importlib.metadata as m, sys\n"
        "for name in sys.argv[1:]:\n"
        "    try: m.version(name)\n"
        "    except m.PackageNotFoundError: print(name)\n"
    )
    found = subprocess.run([str(VENV_PYTHON), "-I", "-c", probe, *names], capture_output=True, text=True, check=True)
    return found.stdout.split()


def run_setup_step(command: list[str], what: str) -> None:
    print(f"asgion_compare: {what}", flush=True)
    if subprocess.run(command).returncode != 0:
        fail(f"failed: {' '.join(command)}")


def ensure_venv() -> None:
    if not VENV_PYTHON.exists():
        python = find_python312()
        run_setup_step([python, "-m", "venv", str(VENV)], f"creating {VENV.relative_to(REPO)} with {python}")
    missing = missing_distributions(REQUIREMENTS)
    if missing:
        packages = [arg for name in missing for arg in REQUIREMENTS[name]]
        command = [str(VENV_PYTHON), "-m", "pip", "install", *PIP_FLAGS, *packages]
        run_setup_step(command, f"installing {', '.join(missing)} into {VENV.relative_to(REPO)}")


def parent_main() -> int:
    ensure_venv()
    return subprocess.run([str(VENV_PYTHON), str(Path(__file__).resolve()), CHILD_FLAG], cwd=REPO).returncode


# The 3.12 side: an ordinary server, in-process -----------------------------------------------------------------------


async def invoke(app: App, scope: Message, receive: Any, send: Any) -> None:
    await app(scope, receive, send)  # called in here so that a plain-function app fails inside the guard


async def call_app(app: App, scope: Message, receive: Any, send: Any, timeout: float | None = TIMEOUT) -> None:
    """One ASGI call, bounded; the app's exceptions are swallowed, asgion has recorded what it saw of them."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(invoke(app, scope, receive, send), timeout)


def asgi_info(spec_version: str) -> dict[str, str]:
    return {"version": "3.0", "spec_version": spec_version}


def connection_scope(kind: str, route: RouteSpec, headers: list[tuple[bytes, bytes]], state: Message) -> Message:
    return {
        "type": kind,
        "asgi": asgi_info("2.3"),
        "http_version": "1.1",
        "scheme": "http" if kind == "http" else "ws",
        "path": route.decoded_path,
        "raw_path": route.path.encode("latin-1"),
        "query_string": route.query,
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"user-agent", b"asgion-compare/1"), *headers],
        "client": ("127.0.0.1", 50123),
        "server": ("testserver", 80),
        # Servers with lifespan support (uvicorn, hypercorn, granian) give each connection a copy of lifespan state.
        "state": dict(state),
    }


STARTUP_ANSWERS = frozenset({"lifespan.startup.complete", "lifespan.startup.failed"})


class LifespanChannel:
    """Startup at once; shutdown once the traffic is over; then nothing more."""

    def __init__(self) -> None:
        self.received = 0
        self.startup_answered = asyncio.Event()
        self.shutdown_requested = asyncio.Event()

    async def receive(self) -> Message:
        self.received += 1
        if self.received > 1:
            await self.shutdown_requested.wait()
        if self.received > 2:
            await asyncio.Event().wait()  # a server has nothing more to say; the shutdown timeout ends this
        return {"type": "lifespan.startup" if self.received == 1 else "lifespan.shutdown"}

    async def send(self, message: Any) -> None:  # Any: a broken app may send anything
        if isinstance(message, dict) and message.get("type") in STARTUP_ANSWERS:
            self.startup_answered.set()


def completes_response(message: Any) -> bool:
    if not isinstance(message, dict):
        return False
    kind = message.get("type")
    streamed = kind in {"http.response.body", "http.response.zerocopysend"}
    return kind == "http.response.pathsend" or (streamed and not message.get("more_body", False))


class HttpChannel:
    """The whole body in one message; http.disconnect only after the response is complete, as from a real client."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.body_delivered = False
        self.response_complete = asyncio.Event()

    async def receive(self) -> Message:
        await asyncio.sleep(0)  # always yield: an app looping on receive() can then still be timed out
        if not self.body_delivered:
            self.body_delivered = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        await self.response_complete.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Any) -> None:  # Any: a broken app may send anything
        if completes_response(message):
            self.response_complete.set()


class WebSocketChannel:
    """Connect, one text message once accepted, then a client close 1000 (or the app's own close code)."""

    def __init__(self) -> None:
        self.received = 0
        self.accepted = False
        self.answered = asyncio.Event()  # accept or close: the handshake is settled
        self.close_code = 1000

    async def receive(self) -> Message:
        await asyncio.sleep(0)
        self.received += 1
        if self.received == 1:
            return {"type": "websocket.connect"}
        await self.answered.wait()  # a client says nothing before the handshake is answered
        if self.received == 2 and self.accepted:
            return {"type": "websocket.receive", "text": "hello"}
        return {"type": "websocket.disconnect", "code": self.close_code}

    async def send(self, message: Any) -> None:  # Any: a broken app may send anything
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "websocket.accept":
            self.accepted = True
            self.answered.set()
        elif kind == "websocket.close":
            code = message.get("code", 1000)
            self.close_code = code if isinstance(code, int) else 1000
            self.answered.set()


async def http_request(app: App, route: RouteSpec, state: Message) -> None:
    body = JSON_BODY if route.method in {"POST", "PUT", "PATCH"} else b""
    headers = [(b"accept", b"*/*")]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    channel = HttpChannel(body)
    scope = {**connection_scope("http", route, headers, state), "method": route.method}
    await call_app(app, scope, channel.receive, channel.send)


async def websocket_session(app: App, route: RouteSpec, state: Message) -> None:
    headers = [
        (b"connection", b"Upgrade"),
        (b"upgrade", b"websocket"),
        (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
        (b"sec-websocket-version", b"13"),
    ]
    channel = WebSocketChannel()
    scope = {**connection_scope("websocket", route, headers, state), "subprotocols": []}
    await call_app(app, scope, channel.receive, channel.send)


async def wait_for_event_or_task(event: asyncio.Event, task: asyncio.Future[None], timeout: float) -> None:
    waiter = asyncio.ensure_future(event.wait())
    either: set[asyncio.Future[Any]] = {waiter, task}
    await asyncio.wait(either, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()


async def ordinary_traffic(app: App, routes: Iterable[RouteSpec]) -> None:
    """Lifespan startup, then one request or WebSocket session per route, then shutdown; every wait bounded."""
    state: Message = {}
    lifespan = LifespanChannel()
    lifespan_scope = {"type": "lifespan", "asgi": asgi_info("2.0"), "state": state}
    task = asyncio.ensure_future(call_app(app, lifespan_scope, lifespan.receive, lifespan.send, timeout=None))
    await wait_for_event_or_task(lifespan.startup_answered, task, TIMEOUT)

    for route in routes:
        if route.is_websocket:
            await websocket_session(app, route, state)
        else:
            await http_request(app, route, state)

    lifespan.shutdown_requested.set()
    await asyncio.wait({task}, timeout=TIMEOUT)
    if not task.done():
        task.cancel()
        await asyncio.wait({task})


# The 3.12 side: the comparison ---------------------------------------------------------------------------------------


def load_broken_apps(copy: str) -> ModuleType:
    """A fresh copy of tests/broken_apps.py: state an app keeps between calls cannot leak from one tool's run."""
    spec = importlib.util.spec_from_file_location(f"broken_apps_{copy}", BROKEN_APPS_FILE)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {BROKEN_APPS_FILE}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses looks its module up there
    spec.loader.exec_module(module)
    return module


def asgibench_routes(paths: tuple[str, ...]) -> tuple[RouteSpec, ...]:
    from asgibench.conformance.scenarios import DEFAULT_ROUTES, parse_route

    return DEFAULT_ROUTES + tuple(parse_route(path) for path in paths)


def ordinary_routes(paths: tuple[str, ...]) -> tuple[RouteSpec, ...]:
    """GET /, POST /, the app's extra routes, then a WebSocket session at /."""
    from asgibench.conformance.scenarios import RouteSpec, parse_route

    extra = tuple(parse_route(path) for path in paths)
    return (RouteSpec("GET", "/"), RouteSpec("POST", "/"), *extra, RouteSpec("WS", "/"))


def asgibench_verdicts(app: App, paths: tuple[str, ...]) -> dict[str, str]:
    from asgibench.conformance import ConformConfig, run_conformance

    report = run_conformance(app, ConformConfig(routes=asgibench_routes(paths), timeout=TIMEOUT))
    return {check.check.id: check.verdict.value for check in report.checks}


def findings(violations: Iterable[Any]) -> Findings:
    found: Findings = {}
    for violation in violations:
        found.setdefault(violation.rule_id, f"{violation.severity}: {violation.message}")
    return found


def asgion_ordinary(app: App, paths: tuple[str, ...]) -> Findings:
    from asgion import Inspector

    inspector = Inspector(app)
    asyncio.run(ordinary_traffic(inspector, ordinary_routes(paths)))
    return findings(inspector.violations)


def asgion_asgibench(app: App, paths: tuple[str, ...]) -> Findings:
    from asgion import Inspector

    inspector = Inspector(app)
    asgibench_verdicts(inspector, paths)
    return findings(inspector.violations)


@functools.cache
def baseline(traffic: Callable[[App, tuple[str, ...]], Findings], paths: tuple[str, ...]) -> frozenset[str]:
    """What asgion reports for the correct app under the same traffic: not a finding when a broken app does too."""
    return frozenset(traffic(load_broken_apps(f"baseline_{traffic.__name__}").compose(), paths))


def new_findings(found: Findings, ignored: frozenset[str]) -> Findings:
    return {rule: text for rule, text in found.items() if rule not in ignored}


class ValidatorCrashLog(logging.Handler):
    """asgion logs a traceback and carries on when one of its own validators raises: keep one line per crash instead."""

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.crashes: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        self.crashes.append(f"{record.getMessage()}: {error!r}" if error else record.getMessage())

    def drain(self) -> tuple[str, ...]:
        crashes = tuple(dict.fromkeys(self.crashes))
        self.crashes.clear()
        return crashes

    @classmethod
    def install(cls) -> ValidatorCrashLog:
        handler = cls(logging.ERROR)
        logger = logging.getLogger("asgion")
        logger.addHandler(handler)
        logger.propagate = False
        return handler


@dataclass(frozen=True)
class Row:
    name: str
    description: str
    check: str
    asgibench: bool
    ordinary: Findings
    conformance: Findings
    asgion_crashes: tuple[str, ...]

    @property
    def asgion(self) -> bool:
        return bool(self.ordinary or self.conformance)

    def cells(self) -> tuple[str, ...]:
        return (
            self.name,
            self.description,
            self.check,
            yes_no(self.asgibench),
            caught(self.ordinary),
            caught(self.conformance),
        )


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


def caught(found: Findings) -> str:
    return f"yes {','.join(sorted(found))}" if found else "no"


def compare_all() -> list[Row]:
    # Each tool gets its own copy of the apps; rows line up by name.
    plain = load_broken_apps("asgibench").BROKEN_APPS
    ordinary = {b.name: b for b in load_broken_apps("asgion_ordinary").BROKEN_APPS}
    conformance = {b.name: b for b in load_broken_apps("asgion_asgibench").BROKEN_APPS}
    crash_log = ValidatorCrashLog.install()
    rows = []
    for broken in plain:
        check = broken.check_id if broken.verdict == "fail" else f"{broken.check_id} ({broken.verdict})"
        verdict = asgibench_verdicts(broken.app, broken.paths).get(broken.check_id)
        ordinary_noise = baseline(asgion_ordinary, broken.paths)
        conformance_noise = baseline(asgion_asgibench, broken.paths)
        crash_log.drain()  # the correct app's, if any, are not this app's
        by_ordinary = asgion_ordinary(ordinary[broken.name].app, broken.paths)
        by_conformance = asgion_asgibench(conformance[broken.name].app, broken.paths)
        rows.append(
            Row(
                name=broken.name,
                description=broken.description,
                check=check,
                asgibench=verdict == broken.verdict,
                ordinary=new_findings(by_ordinary, ordinary_noise),
                conformance=new_findings(by_conformance, conformance_noise),
                asgion_crashes=crash_log.drain(),
            )
        )
    return rows


def print_table(rows: list[Row]) -> None:
    header = ("app", "fault", "asgibench check", "asgibench", "asgion, ordinary traffic", "asgion, asgibench's traffic")
    lines = [header, *(row.cells() for row in rows)]
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    lines.insert(1, tuple("-" * width for width in widths))
    for line in lines:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


def print_legend(rows: list[Row]) -> None:
    seen: Findings = {}
    for row in rows:
        for rule, text in (row.ordinary | row.conformance).items():
            seen.setdefault(rule, text)
    print("\nasgion rules in the table (first message seen):")
    for rule in sorted(seen):
        print(f"  {rule:8} {seen[rule]}")
    crashed = [row for row in rows if row.asgion_crashes]
    if crashed:
        print("\nasgion's own validators raised (asgion logs it, skips that check and carries on):")
        for row in crashed:
            for crash in row.asgion_crashes:
                print(f"  {row.name}: {crash}")


def print_summary(rows: list[Row], asgion_version: str, seconds: float) -> list[Row]:
    total = len(rows)
    by_asgibench = sum(row.asgibench for row in rows)
    by_ordinary = sum(bool(row.ordinary) for row in rows)
    by_conformance = sum(bool(row.conformance) for row in rows)
    print(
        f"\nasgibench caught {by_asgibench}/{total}; "
        f"asgion caught {by_ordinary}/{total} (ordinary traffic), {by_conformance}/{total} (asgibench's traffic)"
    )
    missed = [row for row in rows if row.asgion and not row.asgibench]
    if missed:
        print(f"\n!!! asgion caught {len(missed)} app(s) that asgibench MISSED:")
        for row in missed:
            print(f"!!!   {row.name} ({row.description}; asgibench check {row.check})")
            for traffic, found in (("ordinary traffic", row.ordinary), ("asgibench's traffic", row.conformance)):
                for rule, text in sorted(found.items()):
                    print(f"!!!     [{traffic}] {rule} {text}")
    else:
        print("asgion caught no app that asgibench missed.")
    print(f"\nasgion {asgion_version}, Python {sys.version.split()[0]}, {seconds:.1f} s")
    return missed


def child_main() -> int:
    sys.path.insert(0, str(REPO))
    import asgion

    started = time.monotonic()
    rows = compare_all()
    print_table(rows)
    print_legend(rows)
    missed = print_summary(rows, asgion.__version__, time.monotonic() - started)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(child_main() if CHILD_FLAG in sys.argv[1:] else parent_main())
