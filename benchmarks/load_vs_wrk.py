"""asgibench's load generator against wrk (and Locust's FastHttpUser), as ratios, in one run.

What it measures: for each HTTP load generator, requests per second (throughput) and CPU seconds spent by the
generator's whole process tree, hence requests per CPU-second (efficiency). Absolute figures depend on the machine, so
the verdict is given as asgibench's ratios to wrk, measured minutes apart on the same machine and server.

Why two scenarios: a load generator can be judged only when something else is not the bottleneck, and what it has to
prove differs with the bottleneck.

* server-bound: a fast ASGI server (granian, or uvicorn with httptools and uvloop when granian is missing) serving
  ``reference_apps.raw_app:app`` (GET / answers "hello, world") on one CPU. Here the server sets the pace: a good
  generator must reach the server's ceiling (requests/s close to wrk's) without burning more CPU than needed for it
  (requests per CPU-second not far below wrk's), since on a real machine the generator's CPU is taken from the server.
* generator-bound: nginx serving a small static file on one CPU, much faster than the ASGI server, so that a one-core
  generator written in Python is the bottleneck and requests/s measures the generator itself. Whether a generator was
  saturated shows in the table's CPU % column (near 100 %: it was). On loopback the sending side's CPU also does the
  receiving side's TCP work, so past ~100k requests/s both CPUs are nearly full whoever sets the pace.

How: the server is pinned to one CPU (``taskset -c 0``) and every generator, one after the other, to another
(``taskset -c 1``), with 64 keep-alive connections for the same duration: ``wrk -t1 -c64``, ``asgibench load --vus 64``
(one worker) and Locust headless with 64 FastHttpUser users and no wait time (skipped when locust is not importable).
nginx runs from a config written into a temporary directory: one worker, no access log, the file's descriptor cached,
keep-alive connections never closed by the server, so that every generator measures the same steady state.

Noise: a server's throughput drifts by several percent from one run to the next, more in a virtual machine whose host
takes CPU time away (steal). So with ``--repeat N`` the generators take turns N times, in an order rotated each round,
and the medians are reported (use N >= 3). Before each run the script waits up to 30 s for both CPUs to be idle; a run
during which the host stole more than 5% of a pinned CPU is run again, twice at most; a run kept despite either is
flagged in the output and in the JSON (``background_busy``, ``steal``).

CPU is measured the same way for every generator: the difference of ``getrusage(RUSAGE_CHILDREN)`` (user + system)
around running it as a child and waiting for it; the CPU of its own children (asgibench's worker process) is included
once they have been waited for. Interpreter start-up and teardown count too: they are part of what a run costs.

Bars (from the issue), printed as PASS/FAIL; exit status 1 when one fails, unless ``--no-assert``:

* server-bound: asgibench >= 0.95 x wrk requests/s, and >= 0.8 x wrk requests per CPU-second;
* generator-bound: asgibench >= 0.7 x wrk requests/s.

Exit status 2 when something needed is missing (wrk, nginx, taskset, ``asgibench load``, two CPUs): this script never
installs anything; ``apt-get install nginx wrk`` does.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import importlib.util
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

REPO = Path(__file__).resolve().parent.parent
APP = "reference_apps.raw_app:app"
HOST = "127.0.0.1"
CONNECTIONS = 64
STATIC_BODY = b"hello, world\n"

SETUP_FAILED = 2  # 1 is kept for "a bar failed"
READY_TIMEOUT = 30.0  # seconds for a server to answer its first request
STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL
RUN_MARGIN = 60.0  # seconds a generator may take beyond --duration (start-up, teardown) before it is killed
PAUSE = 1.0  # seconds between two generator runs, for the previous run's sockets to close
BUSY_WARNING = 0.1  # a pinned CPU busier than this between runs means something else competes for it
STEAL_WARNING = 0.05  # a pinned CPU losing more than this to the host during a run makes the run suspect
STEAL_RETRIES = 2  # times a suspect run is run again before it is kept, flagged
QUIET_WAIT = 30.0  # seconds to wait for the pinned CPUs to go quiet before a run, then run anyway with a warning

WRK = "wrk"
ASGIBENCH = "asgibench"
LOCUST = "locust"
GENERATORS = (WRK, ASGIBENCH, LOCUST)
SERVER_BOUND = "server-bound"
GENERATOR_BOUND = "generator-bound"
SCENARIOS = (SERVER_BOUND, GENERATOR_BOUND)

LOCUSTFILE = """\
from locust import FastHttpUser, constant, task


class Hello(FastHttpUser):
    wait_time = constant(0)

    @task
    def hello(self) -> None:
        self.client.get("/")
"""


@dataclass(frozen=True)
class Settings:
    duration: int
    repeat: int
    server_cpu: int
    generator_cpu: int
    generators: tuple[str, ...]
    scenarios: tuple[str, ...]


@dataclass(frozen=True)
class Bar:
    scenario: str
    metric: str  # "rps" or "requests_per_cpu_s"
    minimum: float  # asgibench / wrk must be at least this

    def describe(self) -> str:
        what = "requests/s" if self.metric == "rps" else "requests per CPU-second"
        return f"{self.scenario}: asgibench >= {self.minimum:g} x wrk {what}"


BARS = (
    Bar(SERVER_BOUND, "rps", 0.95),
    Bar(SERVER_BOUND, "requests_per_cpu_s", 0.8),
    Bar(GENERATOR_BOUND, "rps", 0.7),
)


@dataclass(frozen=True)
class Measurement:
    """One run of one generator."""

    rps: float
    requests: int
    errors: int
    cpu_s: float
    wall_s: float
    background_busy: float = 0.0  # busiest pinned CPU in the pause just before, with no load running (0 to 1)
    steal: float = 0.0  # largest fraction of a pinned CPU's time taken by the host during the run (0 to 1)

    @property
    def requests_per_cpu_s(self) -> float:
        return self.requests / self.cpu_s if self.cpu_s > 0 else 0.0

    @property
    def cpu_share(self) -> float:
        """CPU seconds over wall seconds, start-up included: near 1 the generator's one CPU was the bottleneck."""
        return self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0


MEDIANS = ("rps", "cpu_s", "requests_per_cpu_s", "cpu_share")
DERIVED = ("requests_per_cpu_s", "cpu_share")


def rounded(values: dict[str, Any]) -> dict[str, Any]:
    return {key: round(value, 3) if isinstance(value, float) else value for key, value in values.items()}


@dataclass
class GeneratorResult:
    runs: list[Measurement] = field(default_factory=list)

    def median(self, metric: str) -> float:
        return statistics.median(float(getattr(run, metric)) for run in self.runs)

    def to_json(self) -> dict[str, Any]:
        return {
            "median": {metric: round(self.median(metric), 3) for metric in MEDIANS},
            "runs": [rounded({**asdict(run), **{key: getattr(run, key) for key in DERIVED}}) for run in self.runs],
        }


@dataclass
class ScenarioResult:
    name: str
    server: str
    url: str
    generators: dict[str, GeneratorResult] = field(default_factory=dict)

    def ratio(self, metric: str) -> float | None:
        wrk, asgibench = self.generators.get(WRK), self.generators.get(ASGIBENCH)
        if wrk is None or asgibench is None or wrk.median(metric) == 0:
            return None
        return asgibench.median(metric) / wrk.median(metric)

    def to_json(self) -> dict[str, Any]:
        ratios = {metric: self.ratio(metric) for metric in ("rps", "requests_per_cpu_s")}
        return {
            "server": self.server,
            "url": self.url,
            "generators": {name: result.to_json() for name, result in self.generators.items()},
            "asgibench_to_wrk": {key: None if value is None else round(value, 3) for key, value in ratios.items()},
        }


# Set-up checks ------------------------------------------------------------------------------------------------------


def fail(message: str) -> NoReturn:
    print(f"load_vs_wrk: {message}", file=sys.stderr)
    raise SystemExit(SETUP_FAILED)


def find_tool(name: str) -> str | None:
    """``name`` next to this interpreter (the venv's scripts) first, then on PATH, then in the sbin directories."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


def require_tool(name: str, hint: str) -> str:
    path = find_tool(name)
    if path is None:
        fail(f"{name} not found. {hint}")
    return path


def require_cpus(*cpus: int) -> None:
    available = os.sched_getaffinity(0)
    missing = [cpu for cpu in cpus if cpu not in available]
    if missing or len(set(cpus)) != len(cpus):
        fail(f"needs distinct CPUs {list(cpus)} for server and generators; this process may use {sorted(available)}")


def require_asgibench_load(asgibench: str) -> None:
    probe = subprocess.run([asgibench, "load", "--help"], capture_output=True, timeout=60)
    if probe.returncode != 0:
        fail("`asgibench load` is not available in this asgibench (`asgibench load --help` failed).")
    compile_asgibench()


def compile_asgibench() -> None:
    """Compile asgibench's modules to bytecode first, as ``pip install`` does for an installed package.

    An editable install leaves them as source, and with PYTHONDONTWRITEBYTECODE set (as on this machine) Python
    compiles every changed module again at each start: about 70 ms of CPU a run that no installed copy pays.
    """
    import asgibench

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(asgibench.__file__).parent)], check=True)


def locust_available() -> bool:
    # Looked up, not imported: importing locust monkey-patches this process with gevent.
    return importlib.util.find_spec("locust") is not None and find_tool(LOCUST) is not None


def version_of(command: Sequence[str]) -> str:
    """First line a tool prints about its version, or "" when it says nothing."""
    try:
        probe = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = (probe.stdout + probe.stderr).strip().splitlines()
    return lines[0].strip() if lines else ""


def named_version(name: str, path: str, flag: str = "--version") -> str:
    """E.g. "granian 2.8.7": the first dotted version number the tool prints after its name."""
    found = re.search(r"\d+\.\d+(?:\.\d+)?", version_of([path, flag]))
    return f"{name} {found.group()}" if found else name


# Processes ------------------------------------------------------------------------------------------------------------


def pinned(cpu: int, command: Sequence[str]) -> list[str]:
    return ["taskset", "-c", str(cpu), *command]


def start(command: Sequence[str], log: Path, cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """A child in a session of its own, so that its whole tree can be stopped by its process group id."""
    with log.open("wb") as output:
        return subprocess.Popen(
            list(command),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process we started, SIGKILL to its group after STOP_GRACE; reaps it."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            signal_group(process.pid, signal.SIGKILL)
            process.wait()
    signal_group(process.pid, signal.SIGKILL)  # whatever of its tree outlived it


@contextlib.contextmanager
def running(command: Sequence[str], log: Path, cwd: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    process = start(command, log, cwd)
    try:
        yield process
    finally:
        stop(process)


def tail(*logs: Path, limit: int = 2000) -> str:
    """The end of each log that exists, for error messages (the temporary directory goes away on exit)."""
    parts = [f"--- {log.name}:\n{log.read_text(errors='replace')[-limit:]}" for log in logs if log.exists()]
    return "\n".join(parts)


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_measured(command: Sequence[str], log: Path, timeout: float, cwd: Path | None = None) -> tuple[float, float]:
    """Run ``command`` to its end; CPU seconds of its process tree and wall seconds. Raises on failure."""
    before, started = children_cpu_seconds(), time.monotonic()
    with running(command, log, cwd) as process:
        try:
            status = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"{' '.join(command)} ran past {timeout:.0f} s and was stopped:\n{tail(log)}") from None
    cpu, wall = children_cpu_seconds() - before, time.monotonic() - started
    if status != 0:
        raise RuntimeError(f"{' '.join(command)} exited with {status}:\n{tail(log)}")
    return cpu, wall


@dataclass(frozen=True)
class CpuTicks:
    """Clock ticks of one CPU since boot, from /proc/stat."""

    busy: int  # neither idle nor stolen
    steal: int  # the host ran something else while this virtual CPU wanted to run
    total: int


def cpu_ticks(cpus: Sequence[int]) -> dict[int, CpuTicks]:
    ticks: dict[int, CpuTicks] = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *fields = line.split()
        if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
            user, nice, system, idle, iowait, irq, softirq, steal = (int(value) for value in fields[:8])
            busy = user + nice + system + irq + softirq
            ticks[int(name[3:])] = CpuTicks(busy, steal, busy + idle + iowait + steal)
    return ticks


def busiest(before: dict[int, CpuTicks], after: dict[int, CpuTicks], kind: str) -> float:
    """The largest fraction of time spent as ``kind`` ("busy" or "steal") by one of the CPUs between two readings."""
    fractions = [
        (getattr(after[cpu], kind) - getattr(before[cpu], kind)) / max(after[cpu].total - before[cpu].total, 1)
        for cpu in before
        if cpu in after
    ]
    return max(fractions, default=0.0)


def background_busy(cpus: Sequence[int], seconds: float) -> float:
    """Wait ``seconds`` and return how busy the busiest of ``cpus`` was meanwhile: work that is not ours."""
    before = cpu_ticks(cpus)
    time.sleep(seconds)
    return busiest(before, cpu_ticks(cpus), "busy")


def wait_for_quiet(cpus: Sequence[int]) -> float:
    """Sample PAUSE-long windows until the pinned CPUs are quiet, for at most QUIET_WAIT; the last busy fraction."""
    deadline = time.monotonic() + QUIET_WAIT
    busy = background_busy(cpus, PAUSE)
    while busy > BUSY_WARNING and time.monotonic() < deadline:
        busy = background_busy(cpus, PAUSE)
    return busy


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def answers(port: int, timeout: float = 1.0) -> bool:
    """True when GET / on 127.0.0.1:port answers 200."""
    request = f"GET / HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n".encode()
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as connection:
            connection.sendall(request)
            head = connection.recv(64)
    except OSError:
        return False
    return head.startswith(b"HTTP/1.1 200")


def wait_until_answering(process: subprocess.Popen[bytes], port: int, name: str, logs: Sequence[Path]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            fail(f"{name} exited with {process.returncode} before answering:\n{tail(*logs)}")
        if answers(port):
            return
        time.sleep(0.1)
    fail(f"{name} did not answer GET / on port {port} within {READY_TIMEOUT:.0f} s:\n{tail(*logs)}")


# Servers --------------------------------------------------------------------------------------------------------------


def asgi_server_command(port: int) -> tuple[str, list[str]]:
    """granian when installed, else uvicorn with httptools and uvloop: (name and version, command)."""
    granian = find_tool("granian")
    if granian is not None:
        command = [granian, "--interface", "asgi", APP, "--host", HOST, "--port", str(port), "--workers", "1"]
        return named_version("granian", granian), [*command, "--no-access-log", "--log-level", "warning"]
    uvicorn = require_tool("uvicorn", "Install granian or uvicorn into the venv: pip install granian")
    command = [uvicorn, APP, "--host", HOST, "--port", str(port), "--http", "httptools", "--loop", "uvloop"]
    return named_version("uvicorn", uvicorn), [*command, "--no-access-log", "--log-level", "warning"]


def nginx_config(prefix: Path, port: int) -> str:
    temp = {kind: prefix / f"{kind}_temp" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    return f"""\
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;

events {{
    worker_connections 1024;
}}

http {{
    access_log off;
    keepalive_requests 1000000000;
    keepalive_timeout 60s;
    client_body_temp_path {temp["client_body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    default_type text/plain;
    # Keeps the file open: without it nginx opens, stats and closes it for every request, and on one CPU tops out
    # below what wrk can send from another, so that no generator would be the bottleneck.
    open_file_cache max=16 inactive=60s;
    open_file_cache_valid 3600s;

    server {{
        listen {HOST}:{port};
        root {prefix}/www;
        index hello.txt;
    }}
}}
"""


def nginx_command(nginx: str, workdir: Path, port: int) -> list[str]:
    """Writes the config and static file under ``workdir/nginx`` and returns the foreground command."""
    prefix = workdir / "nginx"
    (prefix / "www").mkdir(parents=True)
    (prefix / "www" / "hello.txt").write_bytes(STATIC_BODY)
    config = prefix / "nginx.conf"
    config.write_text(nginx_config(prefix, port))
    # nginx started by root runs its worker as an unprivileged user, which must read the static file.
    for directory in (workdir, prefix, prefix / "www"):
        directory.chmod(0o755)
    return [nginx, "-p", str(prefix), "-c", str(config), "-g", "daemon off;"]


# Generators -----------------------------------------------------------------------------------------------------------


def run_wrk(tools: dict[str, str], url: str, settings: Settings, workdir: Path) -> Measurement:
    log = workdir / "wrk.out"
    command = [tools[WRK], "-t1", f"-c{CONNECTIONS}", f"-d{settings.duration}s", "--latency", url]
    cpu, wall = run_measured(pinned(settings.generator_cpu, command), log, settings.duration + RUN_MARGIN)
    output = log.read_text()
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in", output, re.MULTILINE)
    if rps is None or total is None:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    errors = sum(int(count) for count in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors += int(non_2xx.group(1)) if non_2xx else 0
    return Measurement(float(rps.group(1)), int(total.group(1)), errors, cpu, wall)


def run_asgibench(tools: dict[str, str], url: str, settings: Settings, workdir: Path) -> Measurement:
    out, log = workdir / "asgibench.json", workdir / "asgibench.out"
    out.unlink(missing_ok=True)
    command = [tools[ASGIBENCH], "load", url, "--vus", str(CONNECTIONS), "--duration", f"{settings.duration}s"]
    command += ["--json", str(out), "--quiet"]
    cpu, wall = run_measured(pinned(settings.generator_cpu, command), log, settings.duration + RUN_MARGIN)
    summary = json.loads(out.read_text())["summary"]
    errors = summary.get("errors", {})
    return Measurement(float(summary["rps"]), int(summary["requests"]), int(errors.get("total", 0)), cpu, wall)


def run_locust(tools: dict[str, str], url: str, settings: Settings, workdir: Path) -> Measurement:
    locustfile, stats_prefix, log = workdir / "locustfile.py", workdir / "locust", workdir / "locust.out"
    locustfile.write_text(LOCUSTFILE)
    command = [tools[LOCUST], "-f", str(locustfile), "--headless", "--host", url.rstrip("/"), "-u", str(CONNECTIONS)]
    command += ["-r", str(CONNECTIONS), "-t", f"{settings.duration}s", "--csv", str(stats_prefix), "--only-summary"]
    command += ["--loglevel", "WARNING"]
    cpu, wall = run_measured(pinned(settings.generator_cpu, command), log, settings.duration + RUN_MARGIN, workdir)
    with Path(f"{stats_prefix}_stats.csv").open(newline="") as stats:
        row = next((row for row in csv.DictReader(stats) if row["Name"] == "Aggregated"), None)
    if row is None:
        raise RuntimeError(f"no Aggregated row in Locust's statistics:\n{tail(log)}")
    # Locust's own Requests/s divides by the time between its first and last request; requests over the run time
    # is what the others report.
    requests = int(row["Request Count"])
    return Measurement(requests / settings.duration, requests, int(row["Failure Count"]), cpu, wall)


RUNNERS = {WRK: run_wrk, ASGIBENCH: run_asgibench, LOCUST: run_locust}


# The benchmark --------------------------------------------------------------------------------------------------------


def rotated(names: Sequence[str], by: int) -> list[str]:
    """The run order of round ``by``: each generator takes its turn first, so that no one always follows another."""
    shift = by % len(names)
    return [*names[shift:], *names[:shift]]


def measure_once(name: str, url: str, tools: dict[str, str], settings: Settings, workdir: Path) -> Measurement:
    """One run of generator ``name``, once the pinned CPUs are quiet, with the noise around it."""
    cpus = (settings.server_cpu, settings.generator_cpu)
    busy = wait_for_quiet(cpus)
    before = cpu_ticks(cpus)
    run = RUNNERS[name](tools, url, settings, workdir)
    return replace(run, background_busy=busy, steal=busiest(before, cpu_ticks(cpus), "steal"))


def measure(name: str, url: str, tools: dict[str, str], settings: Settings, workdir: Path) -> Measurement:
    """A run of ``name``, run again (up to STEAL_RETRIES times) while the host steals too much CPU during it."""
    run = measure_once(name, url, tools, settings, workdir)
    for _ in range(STEAL_RETRIES):
        if run.steal <= STEAL_WARNING:
            break
        print(f"  ({name}: the host stole {run.steal:.0%} of a CPU during the run; running it again)", flush=True)
        run = measure_once(name, url, tools, settings, workdir)
    return run


def run_warnings(run: Measurement) -> list[str]:
    warnings = []
    if run.background_busy > BUSY_WARNING:
        warnings.append(f"CPUs {run.background_busy:.0%} busy before the run")
    if run.steal > STEAL_WARNING:
        warnings.append(f"host stole {run.steal:.0%} of a CPU")
    return warnings


def measure_scenario(
    scenario: ScenarioResult, tools: dict[str, str], settings: Settings, workdir: Path
) -> ScenarioResult:
    for name in settings.generators:
        scenario.generators[name] = GeneratorResult()
    for round_number in range(1, settings.repeat + 1):
        for name in rotated(settings.generators, round_number - 1):
            run = measure(name, scenario.url, tools, settings, workdir)
            scenario.generators[name].runs.append(run)
            print(
                f"  [{scenario.name} {round_number}/{settings.repeat}] {name:<9} {run.rps:>10,.0f} req/s  "
                f"{run.cpu_s:6.2f} CPU s  {run.requests_per_cpu_s:>9,.0f} req/CPU-s  errors {run.errors}"
                + "".join(f"  (warning: {warning})" for warning in run_warnings(run)),
                flush=True,
            )
    return scenario


def run_scenario(name: str, tools: dict[str, str], settings: Settings, root: Path) -> ScenarioResult:
    workdir = root / name
    workdir.mkdir()
    port = free_port()
    log = workdir / "server.out"
    if name == SERVER_BOUND:
        server, command = asgi_server_command(port)
        cwd: Path | None = REPO
        logs = [log]
    else:
        server = named_version("nginx", tools["nginx"], "-v")
        command, cwd = nginx_command(tools["nginx"], workdir, port), None
        logs = [log, workdir / "nginx" / "error.log"]
    print(f"{name}: {server} on CPU {settings.server_cpu}, generators on CPU {settings.generator_cpu}", flush=True)
    with running(pinned(settings.server_cpu, command), log, cwd) as process:
        wait_until_answering(process, port, server, logs)
        scenario = ScenarioResult(name, server, f"http://{HOST}:{port}/")
        return measure_scenario(scenario, tools, settings, workdir)


def print_table(results: Sequence[ScenarioResult]) -> None:
    """Medians over the runs; "CPU %" of the generator's one CPU: near 100 % the generator was the bottleneck."""
    print()
    print(f"{'scenario':<16} {'generator':<10} {'req/s':>10} {'CPU s':>7} {'CPU %':>6} {'req/CPU-s':>10} {'errors':>7}")
    for scenario in results:
        for name, result in scenario.generators.items():
            errors = max(run.errors for run in result.runs)
            print(
                f"{scenario.name:<16} {name:<10} {result.median('rps'):>10,.0f} {result.median('cpu_s'):>7.2f} "
                f"{result.median('cpu_share'):>6.0%} "
                f"{result.median('requests_per_cpu_s'):>10,.0f} {errors:>7}"
            )
        rps, efficiency = scenario.ratio("rps"), scenario.ratio("requests_per_cpu_s")
        if rps is not None and efficiency is not None:
            print(
                f"{scenario.name:<16} asgibench/wrk: requests/s x{rps:.3f}, requests per CPU-second x{efficiency:.3f}"
            )
    print()


def judge(results: Sequence[ScenarioResult]) -> list[dict[str, Any]]:
    by_name = {scenario.name: scenario for scenario in results}
    verdicts = []
    for bar in BARS:
        scenario = by_name.get(bar.scenario)
        ratio = scenario.ratio(bar.metric) if scenario is not None else None
        if ratio is None:
            continue
        passed = ratio >= bar.minimum
        print(f"{'PASS' if passed else 'FAIL'}  {bar.describe()}: x{ratio:.3f}")
        verdicts.append({**asdict(bar), "ratio": round(ratio, 3), "passed": passed})
    return verdicts


def generator_versions(tools: dict[str, str], generators: Sequence[str]) -> dict[str, str]:
    flags = {WRK: "-v", ASGIBENCH: "--version", LOCUST: "--version"}
    return {name: version_of([tools[name], flags[name]]) for name in generators}


def find_tools(settings: Settings) -> dict[str, str]:
    apt = "Install it: apt-get install -y nginx wrk (the Makefile target does)."
    tools = {"taskset": require_tool("taskset", "It comes with util-linux.")}
    if WRK in settings.generators:
        tools[WRK] = require_tool(WRK, apt)
    if GENERATOR_BOUND in settings.scenarios:
        tools["nginx"] = require_tool("nginx", apt)
    if ASGIBENCH in settings.generators:
        tools[ASGIBENCH] = require_tool(ASGIBENCH, "Install the project: pip install -e .")
        require_asgibench_load(tools[ASGIBENCH])
    if LOCUST in settings.generators:
        if locust_available():
            tools[LOCUST] = require_tool(LOCUST, "pip install locust")
        else:
            print("Locust is not installed (pip install locust): measuring without it.", flush=True)
    return tools


def parse_args(argv: Sequence[str] | None) -> tuple[Settings, Path | None, bool]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=10, help="seconds each generator runs (default 10)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per generator, interleaved; medians reported")
    parser.add_argument("--json", type=Path, help="write the results there as JSON")
    parser.add_argument("--no-assert", action="store_true", help="exit 0 even when a bar fails")
    parser.add_argument("--server-cpu", type=int, default=0, help="CPU the server is pinned to (default 0)")
    parser.add_argument("--generator-cpu", type=int, default=1, help="CPU the generators are pinned to (default 1)")
    parser.add_argument(
        "--generators", default=",".join(GENERATORS), help=f"comma-separated subset of {','.join(GENERATORS)}"
    )
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help=f"comma-separated subset of {','.join(SCENARIOS)}"
    )
    args = parser.parse_args(argv)
    generators = tuple(name for name in GENERATORS if name in args.generators.split(","))
    scenarios = tuple(name for name in SCENARIOS if name in args.scenarios.split(","))
    if args.duration < 1 or args.repeat < 1 or not generators or not scenarios:
        parser.error("--duration and --repeat must be >= 1, and --generators and --scenarios must name known ones")
    settings = Settings(args.duration, args.repeat, args.server_cpu, args.generator_cpu, generators, scenarios)
    return settings, args.json, args.no_assert


def exit_on_sigterm() -> None:
    """SIGTERM becomes SystemExit, as Ctrl-C becomes KeyboardInterrupt: the finally blocks stop what we started."""

    def handler(signum: int, frame: object) -> NoReturn:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def main(argv: Sequence[str] | None = None) -> int:
    settings, json_path, no_assert = parse_args(argv)
    exit_on_sigterm()
    require_cpus(settings.server_cpu, settings.generator_cpu)
    tools = find_tools(settings)
    settings = replace(settings, generators=tuple(name for name in settings.generators if name in tools))
    with tempfile.TemporaryDirectory(prefix="load_vs_wrk-") as root:
        # nginx's worker runs as an unprivileged user when nginx is started by root, and reads the static file below.
        Path(root).chmod(0o755)
        try:
            results = [run_scenario(name, tools, settings, Path(root)) for name in settings.scenarios]
        except RuntimeError as error:
            fail(str(error))
    print_table(results)
    verdicts = judge(results)
    if json_path is not None:
        document = {
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
            "settings": asdict(settings),
            "connections": CONNECTIONS,
            "generator_versions": generator_versions(tools, settings.generators),
            "scenarios": {scenario.name: scenario.to_json() for scenario in results},
            "bars": verdicts,
        }
        json_path.write_text(json.dumps(document, indent=2) + "\n")
        print(f"results written to {json_path}")
    failed = [verdict for verdict in verdicts if not verdict["passed"]]
    return 1 if failed and not no_assert else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("load_vs_wrk: interrupted; the servers and generators it started are stopped.", file=sys.stderr)
        sys.exit(130)
