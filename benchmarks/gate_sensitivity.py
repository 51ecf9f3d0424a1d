"""How often does the README's CI recipe for ``asgibench gate`` catch a real slowdown, and how often does it cry wolf?

What it measures, per load model: the **detection rate** (the share of baseline/current pairs in which the current app
is 4 ms a request slower and the gate fails the build, exit 1) and the **false-alarm rate** (the share of pairs of the
same app against itself in which the gate fails the build). The requirement it checks: with three runs a side, the
gate fails every slowed build, in the open and in the closed model, and passes at least 95% of same-against-same
pairs, over at least 20 such pairs.

How: everything goes through the real command line, as the recipe does. The subject is ``benchmarks/gate_app.py``:
a raw ASGI app answering a small body, under a millisecond a request through uvicorn (variant A,
``GATE_APP_DELAY_MS=0``; p50 0.25 to 1 ms here) or the same app awaiting 4 ms before each answer (variant B,
``GATE_APP_DELAY_MS=4``; uvicorn, launched by asgibench, inherits the variable). The work has two phases, so that the
expensive recording is done once and re-judged as the gate's logic changes:

1. ``record DIR``: each run is one ``asgibench load benchmarks.gate_app:app --server uvicorn ... --quiet --json FILE``
   from the repository root, as in the recipe, in both models: open (``--rate 200``) and closed (``--vus 10``), short
   by default (``--duration 4s --warmup 1s``; ``--full`` gives the recipe's ``--duration 20s --warmup 5s``). Runs come
   in triples (a directory of three runs is one side of the recipe) interleaved in time: A A A, B B B, A A A, ... with
   ``--pairs`` + 1 A triples and ``--pairs`` B triples (default 20, so 21 and 20), the two models taking turns triple
   by triple, so that a recording cut short leaves both models equally far. Files go to
   ``DIR/<model>/<A|B>-<triple:02d>/run-<n>.json``. An existing file is skipped, so running ``record`` again resumes;
   ``DIR/manifest.json`` holds the settings and a resumed recording must use the same ones. A run is written under a
   temporary name and renamed when ``asgibench load`` exits 0, so a failed or killed run never reaches the gate; it
   is tried again (``--attempts``) and each run has a timeout. One line a run goes to ``DIR/record-log.jsonl``: exit
   code, wall time, rps, p50 and p99, whether the generator was the bottleneck, the CPU time the host stole during the
   run (``/proc/stat``), and a digest of asgibench's sources, since a change to them mid-recording mixes two builds.
   With ``--interleave``, each pair k is recorded in one go, run by run in turn: A-k, A2-k (the app as it is
   again) and B-k, as a CI job that measures both builds itself would; the same-against-same pairs are then A-k
   against A2-k, and the detection pairs A-k against B-k. ``--base-delay-ms 1`` makes A an app of about 1 ms.
2. ``evaluate DIR [--metric LIST] [--max-regression X]``: for every pair, ``asgibench gate BASELINE_DIR CURRENT_DIR``
   with those options (none by default: the gate's own defaults) and ``--json``, one call after another. The pairs:
   same against same, A triple k as baseline and A triple k+1 as current (20 pairs) and likewise B triple k against
   B triple k+1 (19 more); detection, A triple k as baseline and B triple k as current (20 pairs). Exit 0 is a pass,
   1 a failed build, 2 a refusal (counted apart, with its message; a refused build fails in CI too, so it never
   counts as a pass). It prints, per model, the false-alarm and the detection rates with their counts, which metrics
   were judged a regression how often, the spread of the changes, and the pairs the gate judged on fewer runs than
   were recorded (it leaves out runs whose load generator was the bottleneck); it checks the requirement and merges a
   summary into ``DIR/evaluation.json`` under the options' label, so the default and the recipe's options sit side
   by side. The gate is the one in the working tree at evaluation time: re-run ``evaluate`` after changing it.

Run it (``record``: 27 minutes with the short defaults on a 2-core machine, about 1 h 50 with ``--full``)::

    python benchmarks/gate_sensitivity.py record /tmp/gate-corpus
    python benchmarks/gate_sensitivity.py evaluate /tmp/gate-corpus
    python benchmarks/gate_sensitivity.py evaluate /tmp/gate-corpus --metric p99,rps --max-regression 5%

``make benchmark-gate`` does the three. ``evaluate`` exits 1 when the requirement is not met (``--no-assert``: 0),
2 when the corpus holds no complete pair. ``record`` exits 1 when a run failed every attempt (run it again to fill the
gap), 2 on a settings mismatch with the manifest.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NoReturn

REPO = Path(__file__).resolve().parent.parent
APP = "benchmarks.gate_app:app"
DELAY_VARIABLE = "GATE_APP_DELAY_MS"  # read by benchmarks/gate_app.py
SERVER = "uvicorn"
OPEN, CLOSED = "open", "closed"
MODELS = (OPEN, CLOSED)
A, B = "A", "B"  # A: the app as it is; B: the same app DELAY_B_MS slower per request
A2 = "A2"  # --interleave: the app as it is again, its runs interleaved with A's (the same-against-same side)
RUNS_PER_SIDE = 3  # the recipe's three runs a side

SETUP_FAILED = 2  # 1 is kept for "the requirement was not met" (evaluate) and "a run is missing" (record)
RUN_MARGIN = 60.0  # seconds a load may take beyond warm-up + duration + drain (start-up, server start and stop)
STOP_GRACE = 15.0  # seconds between SIGTERM to a run that overran and SIGKILL (asgibench stops its server on SIGTERM)
PAUSE = 0.5  # seconds between runs, for the previous server's sockets and processes to go
GATE_TIMEOUT = 120.0  # seconds for one gate call
LOG_TAIL = 12  # lines of a failed run's output quoted on stderr

DETECTION_BAR = 1.0  # "must fail a build whose app got 4 ms slower": every detection pair
NULL_PASS_BAR = 0.95  # "must pass same-against-same in at least 95% of pairs"
NULL_PAIRS_BAR = 20  # "... measured over at least 20 pairs"

PASS, FAIL, REFUSED, ERROR = "pass", "fail", "refused", "error"
OUTCOMES = {0: PASS, 1: FAIL, 2: REFUSED}
NULL_A, NULL_B, DETECTION = "null-A", "null-B", "detection"
KIND_LABELS = {
    NULL_A: "same vs same, A->A",
    NULL_B: "same vs same, B->B",
    DETECTION: "detection, A->B",
}


# Settings and layout ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordSettings:
    """What a recording measures; a resumed recording must keep every field but ``pairs`` (which may grow)."""

    duration_s: float
    warmup_s: float
    rate: float
    vus: int
    delay_a_ms: float
    delay_b_ms: float
    server: str
    app: str
    runs_per_side: int
    pairs: int
    models: tuple[str, ...]
    interleaved: bool = False  # runs of A, A2 and B taken in turn, one each, instead of triple after triple

    def load_flags(self, model: str) -> list[str]:
        model_flags = ["--rate", f"{self.rate:g}"] if model == OPEN else ["--vus", str(self.vus)]
        timing = ["--duration", f"{self.duration_s:g}s", "--warmup", f"{self.warmup_s:g}s"]
        return ["--server", self.server, *model_flags, *timing]

    def delay_ms(self, variant: str) -> float:
        return self.delay_a_ms if variant in (A, A2) else self.delay_b_ms

    def run_order(self) -> list[tuple[str, int, str, int]]:
        """Every run as (variant, triple, model, run), in recording order.

        Triples: A-00 then B-00 then A-01 ..., each triple's runs back to back, the models taking turns
        triple by triple. Interleaved: for each pair k, A-k, A2-k and B-k take turns run by run, so that a
        change in the machine's state lands on the baseline and the current side alike.
        """
        if self.interleaved:
            return [
                (variant, index, model, run)
                for index in range(self.pairs)
                for model in self.models
                for run in range(1, self.runs_per_side + 1)
                for variant in (A, A2, B)
            ]
        order = [(variant, index, model) for variant, index in self.triples() for model in self.models]
        return [(variant, index, model, run) for variant, index, model in order for run in self.runs()]

    def runs(self) -> range:
        return range(1, self.runs_per_side + 1)

    def triples(self) -> list[tuple[str, int]]:
        """The recording order of one model: A-00, B-00, A-01, B-01, ..., B-(pairs-1), A-pairs."""
        order = [(variant, index) for index in range(self.pairs) for variant in (A, B)]
        return [*order, (A, self.pairs)]

    def run_timeout(self) -> float:
        drain = 10.0  # asgibench load's default drain: the default --timeout
        return self.warmup_s + self.duration_s + drain + RUN_MARGIN


MUST_MATCH = (
    "duration_s",
    "warmup_s",
    "rate",
    "vus",
    "delay_a_ms",
    "delay_b_ms",
    "server",
    "app",
    "runs_per_side",
    "interleaved",
)


def triple_dir(root: Path, model: str, variant: str, index: int) -> Path:
    return root / model / f"{variant}-{index:02d}"


def run_file(root: Path, model: str, variant: str, index: int, run: int) -> Path:
    return triple_dir(root, model, variant, index) / f"run-{run}.json"


def fail(message: str) -> NoReturn:
    print(f"gate_sensitivity: {message}", file=sys.stderr)
    raise SystemExit(SETUP_FAILED)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def find_asgibench() -> str:
    """``asgibench`` next to this interpreter (the venv's scripts) first, then on PATH."""
    beside = Path(sys.executable).parent / "asgibench"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("asgibench")
    if found is None:
        fail("asgibench not found next to this interpreter or on PATH. Install the project: pip install -e .")
    return found


def source_digest() -> str:
    """A short digest of asgibench's own sources: runs recorded under different digests measured different code."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "asgibench").rglob("*.py")):
        digest.update(str(path.relative_to(REPO)).encode())
        with contextlib.suppress(OSError):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def git_revision() -> str:
    try:
        probe = subprocess.run(
            ["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return probe.stdout.strip()


def tool_version(command: Sequence[str]) -> str:
    try:
        probe = subprocess.run(list(command), capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = (probe.stdout + probe.stderr).strip().splitlines()
    return lines[0].strip() if lines else ""


# Processes --------------------------------------------------------------------------------------------------------


def exit_on_sigterm() -> None:
    """SIGTERM and SIGHUP become SystemExit, as Ctrl-C becomes KeyboardInterrupt: the finally blocks stop the run."""

    def handler(signum: int, frame: object) -> NoReturn:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)


def server_pid(log: Path) -> int | None:
    """The pid asgibench printed for the server it launched ("... (1 worker(s), pid 1234)"), if any."""
    with contextlib.suppress(OSError):
        found = re.search(r"\bpid (\d+)\)", log.read_text(errors="replace"))
        if found:
            return int(found.group(1))
    return None


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def stop_run(process: subprocess.Popen[bytes], log: Path) -> None:
    """SIGTERM to the asgibench we started (it stops its server), SIGKILL after STOP_GRACE to its group and to the
    server's, which asgibench starts in a session of its own and would otherwise outlive it."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            kill_group(process.pid)
            process.wait()
            pid = server_pid(log)
            if pid is not None and APP.split(":")[0] in server_command(pid):
                kill_group(pid)
    kill_group(process.pid)  # whatever of its own group outlived it


def server_command(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    return ""


@contextlib.contextmanager
def running(command: Sequence[str], log: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """The command in a session of its own, from the repository root (the app is imported from there)."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            list(command),
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        stop_run(process, log)


def cpu_ticks() -> tuple[int, int]:
    """(steal, total) jiffies over all CPUs, from /proc/stat; (0, 0) where there is none."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
        return fields[7], sum(fields)
    return 0, 0


def stolen(before: tuple[int, int], after: tuple[int, int]) -> float:
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total > 0 else 0.0


def tail(log: Path, lines: int = LOG_TAIL) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(f"    | {line}" for line in log.read_text(errors="replace").splitlines()[-lines:])
    return "    | (no output)"


# Recording --------------------------------------------------------------------------------------------------------


@dataclass
class RunRecord:
    """One line of record-log.jsonl."""

    model: str
    variant: str
    triple: int
    run: int
    attempt: int
    delay_ms: float
    exit_code: int | None  # None: killed after the timeout
    wall_s: float
    kept: bool
    started: str
    steal: float
    sources: str
    load1: float  # the machine's 1-minute load average as the run started: other work competing with it
    rps: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    bottleneck: bool | None = None
    warnings: list[str] = field(default_factory=list)


def read_result(path: Path) -> dict[str, Any] | None:
    with contextlib.suppress(OSError, ValueError):
        document = json.loads(path.read_text())
        if isinstance(document, dict) and str(document.get("schema", "")).startswith("asgibench.result"):
            return document
    return None


def describe(document: dict[str, Any], record: RunRecord, settings: RecordSettings) -> None:
    """Fill the record's figures from the result file, with warnings the gate (or a reader) would care about."""
    summary = document.get("summary") or {}
    latency = summary.get("latency_ms") or {}
    record.rps = summary.get("rps")
    record.p50_ms, record.p99_ms = latency.get("p50"), latency.get("p99")
    record.bottleneck = bool((document.get("generator") or {}).get("bottleneck"))
    if record.bottleneck:
        record.warnings.append("generator was the bottleneck: the gate leaves this run out of its side")
    if document.get("partial"):
        record.warnings.append(f"partial run ({document.get('partial_reason')})")
    errors = (summary.get("errors") or {}).get("total", 0)
    if errors:
        record.warnings.append(f"{errors} request(s) failed")
    if record.delay_ms > 0 and record.p50_ms is not None and record.p50_ms < record.delay_ms:
        record.warnings.append(f"p50 {record.p50_ms} ms is below the app's delay: was {DELAY_VARIABLE} passed on?")
    if record.steal > 0.05:
        record.warnings.append(f"the host stole {record.steal:.0%} of the CPU time during the run")


def record_run(
    asgibench: str, root: Path, settings: RecordSettings, model: str, variant: str, index: int, run: int, attempt: int
) -> RunRecord:
    """One ``asgibench load`` into ``run-<n>.json.tmp``, renamed to ``run-<n>.json`` when it exits 0 with a result."""
    final = run_file(root, model, variant, index, run)
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.with_name(final.name + ".tmp")  # not *.json: the gate never reads it
    log = final.with_suffix(".log")
    temporary.unlink(missing_ok=True)
    delay = settings.delay_ms(variant)
    command = [asgibench, "load", settings.app, *settings.load_flags(model), "--quiet", "--json", str(temporary)]
    env = {**os.environ, DELAY_VARIABLE: f"{delay:g}"}
    started, ticks, begin = time.strftime("%Y-%m-%dT%H:%M:%S%z"), cpu_ticks(), time.monotonic()
    sources, load1 = source_digest(), os.getloadavg()[0]
    exit_code: int | None
    with running(command, log, env) as process:
        try:
            exit_code = process.wait(timeout=settings.run_timeout())
        except subprocess.TimeoutExpired:
            exit_code = None
    record = RunRecord(
        model, variant, index, run, attempt, delay, exit_code, round(time.monotonic() - begin, 2), False, started,
        round(stolen(ticks, cpu_ticks()), 4), sources, load1,
    )  # fmt: skip
    document = read_result(temporary) if exit_code == 0 else None
    if document is not None:
        describe(document, record, settings)
        temporary.replace(final)
        record.kept = True
    elif temporary.exists():
        temporary.replace(final.with_name(f"{final.name}.failed-{attempt}"))
    return record


def log_line(record: RunRecord, done: int, total: int, eta_s: float | None) -> str:
    where = f"[{record.model} {record.variant}-{record.triple:02d} run {record.run}]"
    if record.kept:
        figures = f"rps {record.rps:,.1f}  p50 {record.p50_ms} ms  p99 {record.p99_ms} ms"
    else:
        status = "timed out, killed" if record.exit_code is None else f"exit {record.exit_code}"
        figures = f"FAILED ({status}, attempt {record.attempt})"
    eta = f"  eta {eta_s / 60:.0f} min" if eta_s is not None else ""
    notes = "".join(f"  (warning: {warning})" for warning in record.warnings)
    return f"{done}/{total} {where} {figures}  {record.wall_s:.1f} s{eta}{notes}"


def load_manifest(root: Path, settings: RecordSettings, asgibench: str) -> None:
    """Write DIR/manifest.json, or check a resumed recording against it (``pairs`` and ``models`` may change)."""
    path = root / "manifest.json"
    if path.exists():
        previous = json.loads(path.read_text())["settings"]
        differ = [key for key in MUST_MATCH if previous.get(key) != asdict(settings)[key]]
        if differ:
            fail(
                f"{root} was recorded with other settings ({', '.join(differ)}: "
                f"{', '.join(f'{previous.get(key)!r}' for key in differ)}); record into another directory."
            )
    manifest = {
        "settings": asdict(settings),
        "load_flags": {model: settings.load_flags(model) for model in settings.models},
        "asgibench": tool_version([asgibench, "--version"]),
        "git": git_revision(),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    root.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=2) + "\n")


def record(root: Path, settings: RecordSettings, attempts: int) -> int:
    asgibench = find_asgibench()
    load_manifest(root, settings, asgibench)
    order = settings.run_order()
    todo = [(variant, index, model, run) for variant, index, model, run in order
            if not run_file(root, model, variant, index, run).exists()]  # fmt: skip
    total = len(order)
    done = total - len(todo)
    progress(
        f"recording into {root}: {total // settings.runs_per_side} triples of {settings.runs_per_side} runs "
        f"({', '.join(settings.models)}), {done} of {total} runs already there; each run: "
        f"asgibench load {settings.app} {' '.join(settings.load_flags(OPEN))} (open; closed: --vus {settings.vus})"
    )
    missing, walls = 0, []
    sources = source_digest()
    with (root / "record-log.jsonl").open("a") as journal:
        for variant, index, model, run in todo:
            for attempt in range(1, attempts + 1):
                entry = record_run(asgibench, root, settings, model, variant, index, run, attempt)
                if entry.sources != sources:
                    changed = f"{sources} -> {entry.sources}"
                    entry.warnings.append(f"asgibench's sources changed ({changed}): runs before and after differ")
                    sources = entry.sources
                journal.write(json.dumps(asdict(entry)) + "\n")
                journal.flush()
                walls.append(entry.wall_s + PAUSE)
                done += entry.kept
                eta = statistics.mean(walls[-20:]) * (total - done) if entry.kept else None
                progress(log_line(entry, done, total, eta))
                if not entry.kept:
                    progress(tail(run_file(root, model, variant, index, run).with_suffix(".log")))
                time.sleep(PAUSE)
                if entry.kept:
                    break
            else:
                missing += 1
    if missing:
        progress(f"{missing} run(s) failed every attempt; run record again to fill the gaps.")
        return 1
    progress(f"recording complete: {total} runs in {root}")
    return 0


# Evaluation -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    model: str
    kind: str  # NULL_A, NULL_B or DETECTION
    baseline: Path
    current: Path

    @property
    def name(self) -> str:
        return f"{self.baseline.name}->{self.current.name}"


@dataclass
class PairResult:
    pair: Pair
    exit_code: int | None
    outcome: str  # PASS, FAIL, REFUSED or ERROR
    verdicts: dict[str, str]  # metric -> verdict
    changes: dict[str, float]  # metric -> change (a fraction; error_rate in points)
    message: str  # a refusal's or an error's message
    judged: tuple[int, int] | None = None  # runs the gate judged (baseline, current): fewer when it left some out
    warnings: list[str] = field(default_factory=list)

    def fewer_runs(self, runs: int) -> bool:
        return self.judged is not None and min(self.judged) < runs

    def to_json(self) -> dict[str, Any]:
        return {
            "baseline": self.pair.baseline.name,
            "current": self.pair.current.name,
            "exit_code": self.exit_code,
            "outcome": self.outcome,
            "verdicts": self.verdicts,
            "changes": {metric: round(value, 4) for metric, value in self.changes.items()},
            "judged_runs": None if self.judged is None else list(self.judged),
            **({"message": self.message} if self.message else {}),
            **({"warnings": self.warnings} if self.warnings else {}),
        }


def complete_triples(root: Path, model: str, variant: str, runs: int) -> dict[int, Path]:
    """Triple index -> directory, for the triples that hold all their runs."""
    found = {}
    for directory in sorted((root / model).glob(f"{variant}-[0-9][0-9]")):
        if all((directory / f"run-{run}.json").exists() for run in range(1, runs + 1)):
            found[int(directory.name.split("-")[1])] = directory
    return found


def pairs_of(root: Path, model: str, runs: int) -> tuple[list[Pair], list[str]]:
    """Every pair whose two triples are complete, and a note for each pair left out for lack of runs."""
    a_triples, b_triples = complete_triples(root, model, A, runs), complete_triples(root, model, B, runs)
    again = complete_triples(root, model, A2, runs)  # an interleaved recording's second side of the app as it is
    indexes = sorted({int(path.name.split("-")[1]) for path in (root / model).glob("[AB]-[0-9][0-9]")})
    pairs, skipped = [], []
    if any((root / model).glob(f"{A2}-[0-9][0-9]")):
        nulls = [(NULL_A, a_triples, again, index, index) for index in indexes]  # A-k against A2-k, interleaved
    else:
        nulls = [(NULL_A, a_triples, a_triples, index, index + 1) for index in indexes] + [
            (NULL_B, b_triples, b_triples, index, index + 1) for index in indexes
        ]
    wanted = nulls + [(DETECTION, a_triples, b_triples, index, index) for index in indexes]
    base_variant = {NULL_A: A, NULL_B: B, DETECTION: A}
    current_variant = {NULL_A: A2 if again else A, NULL_B: B, DETECTION: B}
    for kind, base_side, current_side, base_index, current_index in wanted:
        base, current = base_side.get(base_index), current_side.get(current_index)
        if base is not None and current is not None:
            pairs.append(Pair(model, kind, base, current))
        elif (root / model / f"{base_variant[kind]}-{base_index:02d}").exists() and (
            root / model / f"{current_variant[kind]}-{current_index:02d}"
        ).exists():
            skipped.append(f"{base_variant[kind]}-{base_index:02d}->{current_variant[kind]}-{current_index:02d}")
    return pairs, skipped


def metric_key(entry: dict[str, Any]) -> str:
    name = str(entry.get("metric"))
    tags = [f"{tag}:{entry[tag]}" for tag in ("request", "status") if entry.get(tag) not in (None, "")]
    return f"{name}{{{','.join(tags)}}}" if tags else name


def run_gate(asgibench: str, pair: Pair, gate_options: Sequence[str], scratch: Path) -> PairResult:
    verdict_file = scratch / "gate.json"
    verdict_file.unlink(missing_ok=True)
    command = [asgibench, "gate", str(pair.baseline), str(pair.current), *gate_options, "--json", str(verdict_file)]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=GATE_TIMEOUT, cwd=REPO)
    except subprocess.TimeoutExpired:
        return PairResult(pair, None, ERROR, {}, {}, f"no answer within {GATE_TIMEOUT:.0f} s")
    outcome = OUTCOMES.get(completed.returncode, ERROR)
    verdicts: dict[str, str] = {}
    changes: dict[str, float] = {}
    judged: tuple[int, int] | None = None
    warnings: list[str] = []
    with contextlib.suppress(OSError, ValueError):
        report = json.loads(verdict_file.read_text())
        judged = (len(report.get("baseline", [])), len(report.get("current", [])))
        warnings = [str(warning) for warning in report.get("warnings", [])]
        for entry in report.get("metrics", []):
            key = metric_key(entry)
            verdicts[key] = str(entry.get("verdict"))
            if isinstance(entry.get("change"), int | float):
                changes[key] = float(entry["change"])
    message = ""
    if outcome in (REFUSED, ERROR):
        text = (completed.stderr.strip() or completed.stdout.strip()).splitlines()
        message = " / ".join(line.strip() for line in text if line.strip())[:600]
    return PairResult(pair, completed.returncode, outcome, verdicts, changes, message, judged, warnings)


@dataclass
class KindSummary:
    """The pairs of one kind in one model: outcomes, how often each metric got each verdict, the changes."""

    pairs: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    verdicts: dict[str, Counter[str]] = field(default_factory=dict)
    changes: dict[str, list[float]] = field(default_factory=dict)

    def add(self, result: PairResult) -> None:
        self.pairs += 1
        self.outcomes[result.outcome] += 1
        for metric, verdict in result.verdicts.items():
            self.verdicts.setdefault(metric, Counter())[verdict] += 1
        for metric, value in result.changes.items():
            self.changes.setdefault(metric, []).append(value)

    def rate(self, outcome: str) -> float:
        return self.outcomes[outcome] / self.pairs if self.pairs else 0.0

    def regressions(self) -> str:
        """E.g. "p99 x3, rps x0": how often each metric was the regression (a failing build names one or more)."""
        return ", ".join(f"{metric} x{counts['regression']}" for metric, counts in self.verdicts.items())

    def to_json(self) -> dict[str, Any]:
        return {
            "pairs": self.pairs,
            "outcomes": {outcome: self.outcomes[outcome] for outcome in (PASS, FAIL, REFUSED, ERROR)},
            "fail_rate": round(self.rate(FAIL), 4),
            "metrics": {
                metric: {
                    "verdicts": dict(counts),
                    "change_median": round(statistics.median(self.changes[metric]), 4)
                    if self.changes.get(metric)
                    else None,
                    "change_min": round(min(self.changes[metric]), 4) if self.changes.get(metric) else None,
                    "change_max": round(max(self.changes[metric]), 4) if self.changes.get(metric) else None,
                }
                for metric, counts in self.verdicts.items()
            },
        }


def summarise(results: Sequence[PairResult], kinds: Sequence[str]) -> KindSummary:
    summary = KindSummary()
    for result in results:
        if result.pair.kind in kinds:
            summary.add(result)
    return summary


@dataclass(frozen=True)
class Requirement:
    model: str
    null_pairs: int
    null_passed: int
    detection_pairs: int
    detected: int

    @property
    def null_met(self) -> bool:
        return self.null_pairs >= NULL_PAIRS_BAR and self.null_passed >= NULL_PASS_BAR * self.null_pairs

    @property
    def detection_met(self) -> bool:
        return self.detection_pairs > 0 and self.detected >= DETECTION_BAR * self.detection_pairs

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "null_met": self.null_met, "detection_met": self.detection_met}

    def lines(self) -> list[str]:
        null_rate = self.null_passed / self.null_pairs if self.null_pairs else 0.0
        detection_rate = self.detected / self.detection_pairs if self.detection_pairs else 0.0
        return [
            f"{'MET' if self.null_met else 'NOT MET':<7}  {self.model}: same vs same passed {self.null_passed}/"
            f"{self.null_pairs} ({null_rate:.1%}); need >= {NULL_PASS_BAR:.0%} over >= {NULL_PAIRS_BAR} pairs",
            f"{'MET' if self.detection_met else 'NOT MET':<7}  {self.model}: 4 ms slower failed {self.detected}/"
            f"{self.detection_pairs} ({detection_rate:.1%}); need every pair",
        ]


def change_text(metric: str, value: float) -> str:
    """A change as the gate states it: a relative change, but error_rate's in percentage points."""
    return f"{value:+.2f} pt" if metric.startswith("error_rate") else f"{value:+.1%}"


def print_model(model: str, results: Sequence[PairResult]) -> None:
    """One row per kind of pair: how many were judged (not refused), how many failed, over all and over judged."""
    rows = [
        ("false alarms, A->A", [NULL_A]),
        ("false alarms, B->B", [NULL_B]),
        ("false alarms, all", [NULL_A, NULL_B]),
        ("detection, A->B", [DETECTION]),
    ]
    print(
        f"{'model':<7} {'pairs':<19} {'n':>3} {'refused':>7} {'failed':>6} {'of all':>7} {'of judged':>9}"
        "  metrics judged a regression (times)"
    )
    for label, kinds in rows:
        summary = summarise(results, kinds)
        if not summary.pairs:
            continue
        failed, refused = summary.outcomes[FAIL], summary.outcomes[REFUSED] + summary.outcomes[ERROR]
        judged = summary.pairs - refused
        of_judged = f"{failed / judged:.1%}" if judged else "-"
        print(
            f"{model:<7} {label:<19} {summary.pairs:>3} {refused:>7} {failed:>6} {summary.rate(FAIL):>7.1%} "
            f"{of_judged:>9}  {summary.regressions()}"
        )
    for kind in (NULL_A, NULL_B, DETECTION):
        summary = summarise(results, [kind])
        if summary.changes:
            spreads = "; ".join(
                f"{metric} {change_text(metric, statistics.median(values))} "
                f"({change_text(metric, min(values))}..{change_text(metric, max(values))})"
                for metric, values in summary.changes.items()
            )
            print(f"        change, {KIND_LABELS[kind]:<19} median (min..max): {spreads}")


def evaluate(root: Path, gate_options: list[str], label: str, out: Path, no_assert: bool) -> int:
    manifest_path = root / "manifest.json"
    if not manifest_path.exists():
        fail(f"{manifest_path} not found: record into {root} first (gate_sensitivity.py record {root}).")
    manifest = json.loads(manifest_path.read_text())
    runs = int(manifest["settings"]["runs_per_side"])
    models = [model for model in MODELS if (root / model).is_dir()]
    asgibench = find_asgibench()
    all_pairs: dict[str, list[Pair]] = {}
    for model in models:
        all_pairs[model], skipped = pairs_of(root, model, runs)
        if skipped:
            progress(f"{model}: {len(skipped)} pair(s) left out, a triple lacking runs: {', '.join(skipped)}")
    total = sum(len(pairs) for pairs in all_pairs.values())
    if total == 0:
        fail(f"no complete pair of triples in {root}.")
    progress(f"judging {total} pairs with asgibench gate {' '.join(gate_options) or '(the defaults)'}")
    results: dict[str, list[PairResult]] = {}
    done = 0
    with tempfile.TemporaryDirectory(prefix="gate_sensitivity-") as scratch:
        for model, pairs in all_pairs.items():
            results[model] = []
            for pair in pairs:
                result = run_gate(asgibench, pair, gate_options, Path(scratch))
                results[model].append(result)
                done += 1
                failing = [metric for metric, verdict in result.verdicts.items() if verdict == "regression"]
                detail = f" ({', '.join(failing)})" if failing else ""
                progress(f"{done}/{total} [{model} {pair.kind} {pair.name}] {result.outcome}{detail}")
                if result.message:
                    progress(f"    {result.message}")

    sources = source_digest()
    print(f"asgibench gate {' '.join(gate_options) or '(the gate defaults)'} on {root}")
    print(f"gate: {git_revision()}, asgibench sources {sources}; corpus recorded at {manifest.get('git', '?')}")
    print(f"each side: {runs} runs; load: " + "; ".join(" ".join(manifest["load_flags"][m]) for m in models))
    requirements = []
    for model in models:
        print()
        print_model(model, results[model])
        null, detection = summarise(results[model], [NULL_A, NULL_B]), summarise(results[model], [DETECTION])
        requirements.append(
            Requirement(model, null.pairs, null.outcomes[PASS], detection.pairs, detection.outcomes[FAIL])
        )
        refusals = [result for result in results[model] if result.outcome in (REFUSED, ERROR)]
        for result in refusals:
            print(f"        {result.outcome} {result.pair.kind} {result.pair.name}: {result.message}")
        thinned = [result for result in results[model] if result.fewer_runs(runs)]
        if thinned:
            listed = ", ".join(f"{result.pair.name} {result.outcome}" for result in thinned)
            text = (
                f"judged on fewer than {runs} runs a side (the gate left generator-bound runs out): "
                f"{len(thinned)} pair(s): {listed}"
            )
            print(textwrap.fill(text, width=110, initial_indent=" " * 8, subsequent_indent=" " * 10))
    print()
    for requirement in requirements:
        for line in requirement.lines():
            print(line)

    document = json.loads(out.read_text()) if out.exists() else {}
    document[label] = {
        "gate_options": gate_options,
        "evaluated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "asgibench": tool_version([asgibench, "--version"]),
        "git": git_revision(),
        "sources": sources,
        "recorded_with": manifest,
        "models": {
            model: {
                "kinds": {kind: summarise(results[model], [kind]).to_json() for kind in (NULL_A, NULL_B, DETECTION)},
                "null": summarise(results[model], [NULL_A, NULL_B]).to_json(),
                "requirement": requirement.to_json(),
                "fewer_runs_judged": [
                    {"kind": result.pair.kind, "pair": result.pair.name, "outcome": result.outcome}
                    for result in results[model]
                    if result.fewer_runs(runs)
                ],
                "pairs": [{"kind": result.pair.kind, **result.to_json()} for result in results[model]],
            }
            for model, requirement in zip(models, requirements, strict=True)
        },
    }
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"summary written to {out} under {label!r}")
    met = all(requirement.null_met and requirement.detection_met for requirement in requirements)
    return 0 if met or no_assert else 1


# Command line -----------------------------------------------------------------------------------------------------


def seconds(text: str) -> float:
    """ "4s", "1.5", "2m" -> seconds."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*", text)
    if not found:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (e.g. 4s, 500ms, 1m)")
    value = float(found.group(1))
    return value * {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}[found.group(2)]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)

    rec = commands.add_parser("record", help="record result files with asgibench load (resumable)")
    rec.add_argument("dir", type=Path, help="where the corpus goes (created; resumed when it exists)")
    rec.add_argument("--duration", type=seconds, default=4.0, help="measured time per run (default 4s)")
    rec.add_argument("--warmup", type=seconds, default=1.0, help="warm-up per run (default 1s)")
    rec.add_argument("--full", action="store_true", help="the recipe's --duration 20s --warmup 5s")
    rec.add_argument("--rate", type=float, default=200.0, help="open model: requests/s (default 200, the recipe's)")
    rec.add_argument("--vus", type=int, default=10, help="closed model: virtual users (default 10)")
    rec.add_argument("--delay-ms", type=float, default=4.0, help="how much slower B is per request (default 4)")
    rec.add_argument(
        "--base-delay-ms", type=float, default=0.0, help="what A awaits per request (default 0; 1 for an app of ~1 ms)"
    )
    rec.add_argument("--pairs", type=int, default=20, help="detection pairs: pairs+1 A and pairs B triples (20)")
    rec.add_argument("--runs", type=int, default=RUNS_PER_SIDE, help="runs per triple, one side (default 3)")
    rec.add_argument("--models", default=",".join(MODELS), help=f"comma-separated subset of {','.join(MODELS)}")
    rec.add_argument("--server", default=SERVER, help=f"asgibench load --server (default {SERVER})")
    rec.add_argument("--attempts", type=int, default=2, help="tries per run before it is left missing (default 2)")
    rec.add_argument(
        "--interleave",
        action="store_true",
        help="take the runs of A, of A again (A2) and of B in turn, one each: both sides measured in one job",
    )

    ev = commands.add_parser("evaluate", help="judge every pair of triples with asgibench gate")
    ev.add_argument("dir", type=Path, help="a corpus written by record")
    ev.add_argument("--metric", help="passed on to asgibench gate --metric (default: the gate's)")
    ev.add_argument("--max-regression", action="append", default=[], help="passed on to asgibench gate (repeatable)")
    ev.add_argument("--label", help="the key in evaluation.json (default: the gate options, or 'defaults')")
    ev.add_argument("--out", type=Path, help="the JSON summary (default DIR/evaluation.json; merged by label)")
    ev.add_argument("--no-assert", action="store_true", help="exit 0 even when the requirement is not met")
    args = parser.parse_args(argv)

    if args.command == "record":
        if args.full:
            args.duration, args.warmup = 20.0, 5.0
        models = tuple(model for model in MODELS if model in args.models.split(","))
        if args.duration <= 0 or args.warmup < 0 or args.rate <= 0 or args.vus < 1 or not models:
            parser.error("--duration, --rate and --vus must be positive, --warmup >= 0, --models must name known ones")
        if args.pairs < 1 or args.runs < 1 or args.attempts < 1 or args.delay_ms < 0 or args.base_delay_ms < 0:
            parser.error("--pairs, --runs and --attempts must be >= 1, --delay-ms and --base-delay-ms >= 0")
        args.models = models
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    exit_on_sigterm()
    root = args.dir.resolve()
    if args.command == "record":
        settings = RecordSettings(
            duration_s=args.duration,
            warmup_s=args.warmup,
            rate=args.rate,
            vus=args.vus,
            delay_a_ms=args.base_delay_ms,
            delay_b_ms=args.base_delay_ms + args.delay_ms,
            server=args.server,
            app=APP,
            runs_per_side=args.runs,
            pairs=args.pairs,
            models=args.models,
            interleaved=args.interleave,
        )
        return record(root, settings, args.attempts)
    options = [*(["--metric", args.metric] if args.metric else [])]
    for allowance in args.max_regression:
        options += ["--max-regression", allowance]
    label = args.label or (" ".join(options) if options else "defaults")
    return evaluate(root, options, label, args.out or root / "evaluation.json", args.no_assert)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("gate_sensitivity: interrupted; the run in progress was stopped (record resumes).", file=sys.stderr)
        sys.exit(130)
