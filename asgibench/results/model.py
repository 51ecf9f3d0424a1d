"""The result file as typed, frozen records: what every command reads (docs/result-file.md is the contract).

``Result.from_json`` takes a document already checked and migrated by
``asgibench.results.schema.result_from`` (so every key the layout requires is
there, of the right type) and builds the records; ``Result.to_json`` gives the
version 2 document back, key for key. Readers use attributes, never string
keys: a figure that moves is renamed in one place, and mypy finds its readers.

Keys a version 2 file written by an earlier asgibench may lack (the layout's
optional keys) read as empty or None here, and are written in full.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from asgibench.results.figures import error_rate
from asgibench.results.outcomes import ERROR_KINDS, UNSENT_REASONS

Json = dict[str, Any]
LATENCY_FIELDS = ("min", "mean", "p50", "p75", "p90", "p95", "p99", "p999", "p9999", "max")


@dataclass(frozen=True, slots=True)
class Latency:
    """A latency table in milliseconds: fixed percentiles, extremes, and any more a threshold asked for."""

    min: float
    mean: float
    p50: float
    p75: float
    p90: float
    p95: float
    p99: float
    p999: float
    p9999: float
    max: float
    stdev: float
    count: int
    percentiles: Mapping[str, float]  # by percentile as written: "99.9", "50"

    @classmethod
    def from_json(cls, block: Mapping[str, Any] | None) -> Latency | None:
        if block is None:
            return None
        fields = {name: float(block[name]) for name in LATENCY_FIELDS}
        percentiles = {str(key): float(value) for key, value in block["percentiles"].items()}
        return cls(**fields, stdev=float(block["stdev"]), count=int(block["count"]), percentiles=percentiles)

    def to_json(self) -> Json:
        block: Json = {name: getattr(self, name) for name in LATENCY_FIELDS}
        return block | {"stdev": self.stdev, "count": self.count, "percentiles": dict(self.percentiles)}

    def get(self, key: str) -> float | None:
        """A figure by its result-file name (``p99``, ``max``, ``mean``) or percentile (``p99.99``); None if absent."""
        if key in LATENCY_FIELDS:
            return float(getattr(self, key))
        if key.startswith("p"):
            value = self.percentiles.get(key[1:])
            return None if value is None else float(value)
        return None


def _latency_json(latency: Latency | None) -> Json | None:
    return None if latency is None else latency.to_json()


@dataclass(frozen=True, slots=True)
class Errors:
    """Errors by kind (asgibench.results.outcomes.ERROR_KINDS); ``total`` is their sum."""

    total: int
    kinds: Mapping[str, int]

    @classmethod
    def from_json(cls, block: Mapping[str, Any]) -> Errors:
        return cls(int(block["total"]), {kind: int(block.get(kind, 0)) for kind in ERROR_KINDS})

    def to_json(self) -> Json:
        return {"total": self.total, **{kind: self.kinds.get(kind, 0) for kind in ERROR_KINDS}}

    def __getitem__(self, kind: str) -> int:
        return self.total if kind == "total" else self.kinds.get(kind, 0)


@dataclass(frozen=True, slots=True)
class Counts:
    """The figures a whole run's summary and each named request share: outcomes, rates and latency.

    Every request of the window ends as ok or as one error: ``requests == ok + errors.total``.
    """

    requests: int
    responses: int
    ok: int
    rps: float  # achieved: completions inside the window over the window
    ok_rps: float
    errors: Errors
    unsent: Mapping[str, int]  # why unsent requests were never written, by UNSENT_REASONS
    statuses: Mapping[str, int]  # final responses by status code
    latency_ms: Latency | None
    service_time_ms: Latency | None

    @property
    def error_rate(self) -> float:
        """Errors over requests (results.figures.error_rate): the one rule, whatever the file says."""
        return error_rate(self.errors.total, self.requests)

    @classmethod
    def of(cls, block: Mapping[str, Any]) -> Counts:
        """The counts of a summary or a named request's entry (its other keys are left out)."""
        return Counts(**Counts.fields_from(block))

    @staticmethod
    def fields_from(block: Mapping[str, Any]) -> Json:
        return {
            "requests": int(block["requests"]),
            "responses": int(block["responses"]),
            "ok": int(block["ok"]),
            "rps": float(block["rps"]),
            "ok_rps": float(block["ok_rps"]),
            "errors": Errors.from_json(block["errors"]),
            "unsent": {reason: int(block["unsent"].get(reason, 0)) for reason in UNSENT_REASONS},
            "statuses": {str(code): int(count) for code, count in block["statuses"].items()},
            "latency_ms": Latency.from_json(block["latency_ms"]),
            "service_time_ms": Latency.from_json(block["service_time_ms"]),
        }

    def counts_json(self) -> Json:
        return {
            "requests": self.requests,
            "responses": self.responses,
            "ok": self.ok,
            "rps": self.rps,
            "ok_rps": self.ok_rps,
            "error_rate": self.error_rate,
            "errors": self.errors.to_json(),
            "unsent": dict(self.unsent),
            "statuses": dict(self.statuses),
            "latency_ms": _latency_json(self.latency_ms),
            "service_time_ms": _latency_json(self.service_time_ms),
        }


@dataclass(frozen=True, slots=True)
class Messages:
    """A WebSocket run's messages each way; ``unmatched``: replies that answered no message in flight."""

    sent: int
    received: int
    unmatched: int
    sent_per_s: float
    received_per_s: float

    @classmethod
    def from_json(cls, block: Mapping[str, Any] | None) -> Messages | None:
        if block is None:
            return None
        return cls(
            int(block["sent"]),
            int(block["received"]),
            int(block["unmatched"]),
            float(block["sent_per_s"]),
            float(block["received_per_s"]),
        )


@dataclass(frozen=True, slots=True)
class StreamEvents:
    """SSE events received on streamed responses, and their rate over the window."""

    events: int
    events_per_s: float

    @classmethod
    def from_json(cls, block: Mapping[str, Any] | None) -> StreamEvents | None:
        return None if block is None else cls(int(block["events"]), float(block["events_per_s"]))


@dataclass(frozen=True, slots=True)
class Held:
    """--hold: streams held open beside the load, and what became of them."""

    wanted: int
    held: int  # at the window's end
    min_held: int  # the fewest at the end of any second
    opened: int
    failed: int  # never opened
    dropped: int  # opened, then ended before the window did
    events: int  # SSE events received on them

    @classmethod
    def from_json(cls, block: Mapping[str, Any] | None) -> Held | None:
        if block is None:
            return None
        names = ("wanted", "held", "min_held", "opened", "failed", "dropped", "events")
        return cls(*(int(block[name]) for name in names))


@dataclass(frozen=True, slots=True)
class Summary(Counts):
    """The whole measured window."""

    scheduled: int | None  # open model: requests due in the window (== requests); None in the closed model
    interim: int  # 1xx responses skipped
    duration_s: float
    drain_s: float
    offered_rps: float | None  # open model: the rate asked for
    target_behind: bool | None  # open model: the target completed under 95% of the offered rate
    error_examples: Mapping[str, str]
    bytes_received: int
    bytes_sent: int
    # Beyond request and response (absent from files before them: read as HTTP/1.1 with nothing of the kind).
    protocol: str = "http/1.1"
    error_codes: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # kind -> code -> count
    first_byte_ms: Latency | None = None  # streamed responses: time to the first byte
    gap_ms: Latency | None = None  # streamed responses: gaps between reads
    handshake_ms: Latency | None = None  # WebSocket: connection attempt to accepted upgrade
    messages: Messages | None = None  # WebSocket
    stream_events: StreamEvents | None = None  # SSE events received
    held: Held | None = None  # --hold

    @classmethod
    def from_json(cls, block: Mapping[str, Any]) -> Summary:
        return cls(
            **cls.fields_from(block),
            scheduled=None if block["scheduled"] is None else int(block["scheduled"]),
            interim=int(block["interim"]),
            duration_s=float(block["duration_s"]),
            drain_s=float(block["drain_s"]),
            offered_rps=None if block["offered_rps"] is None else float(block["offered_rps"]),
            target_behind=block["target_behind"],
            error_examples=dict(block["error_examples"]),
            bytes_received=int(block["bytes_received"]),
            bytes_sent=int(block["bytes_sent"]),
            protocol=str(block.get("protocol", "http/1.1")),
            error_codes={
                str(kind): {str(code): int(count) for code, count in codes.items()}
                for kind, codes in (block.get("error_codes") or {}).items()
            },
            first_byte_ms=Latency.from_json(block.get("first_byte_ms")),
            gap_ms=Latency.from_json(block.get("gap_ms")),
            handshake_ms=Latency.from_json(block.get("handshake_ms")),
            messages=Messages.from_json(block.get("messages")),
            stream_events=StreamEvents.from_json(block.get("stream_events")),
            held=Held.from_json(block.get("held")),
        )

    def to_json(self) -> Json:
        return self.counts_json() | {
            "scheduled": self.scheduled,
            "interim": self.interim,
            "duration_s": self.duration_s,
            "drain_s": self.drain_s,
            "offered_rps": self.offered_rps,
            "target_behind": self.target_behind,
            "error_examples": dict(self.error_examples),
            "bytes_received": self.bytes_received,
            "bytes_sent": self.bytes_sent,
            "protocol": self.protocol,
            "error_codes": {kind: dict(codes) for kind, codes in self.error_codes.items()},
            "first_byte_ms": _latency_json(self.first_byte_ms),
            "gap_ms": _latency_json(self.gap_ms),
            "handshake_ms": _latency_json(self.handshake_ms),
            "messages": None if self.messages is None else asdict(self.messages),
            "stream_events": None if self.stream_events is None else asdict(self.stream_events),
            "held": None if self.held is None else asdict(self.held),
        }


@dataclass(frozen=True, slots=True)
class CheckCount:
    check: str
    passed: int
    failed: int


@dataclass(frozen=True, slots=True)
class RequestStats(Counts):
    """One named request's own figures (the result's ``requests`` list)."""

    name: str
    method: str
    path: str
    checks: tuple[CheckCount, ...]

    @classmethod
    def from_json(cls, block: Mapping[str, Any]) -> RequestStats:
        checks = tuple(CheckCount(str(c["check"]), int(c["passed"]), int(c["failed"])) for c in block["checks"])
        return cls(
            **cls.fields_from(block),
            name=str(block["name"]),
            method=str(block["method"]),
            path=str(block["path"]),
            checks=checks,
        )

    def to_json(self) -> Json:
        head = {"name": self.name, "method": self.method, "path": self.path}
        checks = [{"check": c.check, "passed": c.passed, "failed": c.failed} for c in self.checks]
        return head | self.counts_json() | {"checks": checks}


@dataclass(frozen=True, slots=True)
class StatusLatency:
    """The responses of one status code and their latency (the result's ``by_status`` list)."""

    status: str
    responses: int
    latency_ms: Latency | None

    @classmethod
    def from_json(cls, block: Mapping[str, Any]) -> StatusLatency:
        return cls(str(block["status"]), int(block["responses"]), Latency.from_json(block["latency_ms"]))

    def to_json(self) -> Json:
        return {"status": self.status, "responses": self.responses, "latency_ms": _latency_json(self.latency_ms)}


TIMELINE_LATENCY = ("p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms")


@dataclass(frozen=True, slots=True)
class Second:
    """One row of the timeline: what ended in that second of the window."""

    second: int
    start_s: float
    end_s: float
    requests: int
    responses: int
    rps: float
    errors: int
    errors_by_kind: Mapping[str, int]
    bytes_received: int
    latency_ms: Mapping[str, float | None]  # by TIMELINE_LATENCY key: "p99_ms" -> 4.1, or None
    generator_cpu: float | None
    generator_lag_max_ms: float | None
    generator_rss_mib: float | None
    held: int | None = None  # --hold: streams held at the second's end

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> Second:
        return cls(
            second=int(row["second"]),
            start_s=float(row["start_s"]),
            end_s=float(row["end_s"]),
            requests=int(row["requests"]),
            responses=int(row["responses"]),
            rps=float(row["rps"]),
            errors=int(row["errors"]),
            errors_by_kind={str(kind): int(count) for kind, count in row["errors_by_kind"].items()},
            bytes_received=int(row["bytes_received"]),
            latency_ms={key: None if row[key] is None else float(row[key]) for key in TIMELINE_LATENCY},
            generator_cpu=row["generator_cpu"],
            generator_lag_max_ms=row["generator_lag_max_ms"],
            generator_rss_mib=row["generator_rss_mib"],
            held=row.get("held"),
        )

    def to_json(self) -> Json:
        return {
            "second": self.second,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "requests": self.requests,
            "responses": self.responses,
            "rps": self.rps,
            "errors": self.errors,
            "errors_by_kind": dict(self.errors_by_kind),
            "bytes_received": self.bytes_received,
            **dict(self.latency_ms),
            "generator_cpu": self.generator_cpu,
            "generator_lag_max_ms": self.generator_lag_max_ms,
            "generator_rss_mib": self.generator_rss_mib,
            "held": self.held,
        }


@dataclass(frozen=True, slots=True)
class Spread3:
    """A generator health spread: p50, p99 and max (ms)."""

    p50: float
    p99: float
    max: float

    @classmethod
    def from_json(cls, block: Mapping[str, Any] | None) -> Spread3 | None:
        return None if block is None else cls(float(block["p50"]), float(block["p99"]), float(block["max"]))

    def to_json(self) -> Json:
        return {"p50": self.p50, "p99": self.p99, "max": self.max}


@dataclass(frozen=True, slots=True)
class ClusterShard:
    """One shard of a ``--cluster`` run: the Dask worker it ran on, that machine, and how its clock was set."""

    shard: int  # its index: the generator's per-worker lists are in this order
    address: str  # the Dask worker's address
    hostname: str
    cpu_model: str
    cpu_count: int | None
    python: str
    asgibench: str
    clock_offset_ms: float  # its wall clock minus the supervisor's, as the readiness barrier measured it
    clock_uncertainty_ms: float  # the offset is known to within this, either way

    @classmethod
    def from_json(cls, block: Mapping[str, Any]) -> ClusterShard:
        count = block.get("cpu_count")
        return cls(
            shard=int(block["shard"]),
            address=str(block["address"]),
            hostname=str(block["hostname"]),
            cpu_model=str(block["cpu_model"]),
            cpu_count=None if count is None else int(count),
            python=str(block["python"]),
            asgibench=str(block["asgibench"]),
            clock_offset_ms=float(block["clock_offset_ms"]),
            clock_uncertainty_ms=float(block["clock_uncertainty_ms"]),
        )

    def to_json(self) -> Json:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ClusterRun:
    """Where a ``--cluster`` run's shards ran, and how far apart they could have started."""

    address: str  # as --cluster gave it (local:N, or the scheduler's address)
    scheduler: str  # the scheduler's own address
    max_skew_ms: float  # --max-skew
    start_skew_ms: float  # the most two shards could have started apart (asgibench.cluster.clock.start_skew)
    shards: tuple[ClusterShard, ...]

    @classmethod
    def from_json(cls, block: Mapping[str, Any] | None) -> ClusterRun | None:
        if block is None:
            return None
        return cls(
            address=str(block["address"]),
            scheduler=str(block["scheduler"]),
            max_skew_ms=float(block["max_skew_ms"]),
            start_skew_ms=float(block["start_skew_ms"]),
            shards=tuple(ClusterShard.from_json(shard) for shard in block["shards"]),
        )

    def to_json(self) -> Json:
        return {
            "address": self.address,
            "scheduler": self.scheduler,
            "max_skew_ms": self.max_skew_ms,
            "start_skew_ms": self.start_skew_ms,
            "shards": [shard.to_json() for shard in self.shards],
        }


@dataclass(frozen=True, slots=True)
class GeneratorHealth:
    """Whether the load generator kept up: when it did not, the figures understate the target."""

    workers: int
    cpu_seconds: tuple[float, ...]
    cpu_fraction: tuple[float, ...]
    connections_opened: int
    connections_peak: int | None
    bottleneck: bool
    reasons: tuple[str, ...]
    worker_failures: tuple[str, ...]
    loop_lag_ms: Spread3 | None
    send_lateness_ms: Spread3 | None
    requests: tuple[int, ...] = ()  # each worker's (shard's) outcomes in the window; empty in older files
    scheduled: tuple[int | None, ...] = ()  # open model: each worker's due requests
    start_late_ms: tuple[float | None, ...] = ()  # how long after time zero each worker began (None: never)
    cluster: ClusterRun | None = None  # a --cluster run's shards, in the order of the lists above

    @classmethod
    def from_json(cls, block: Mapping[str, Any]) -> GeneratorHealth:
        peak = block.get("connections_peak")
        return cls(
            workers=int(block["workers"]),
            cpu_seconds=tuple(float(value) for value in block["cpu_seconds"]),
            cpu_fraction=tuple(float(value) for value in block["cpu_fraction"]),
            connections_opened=int(block["connections_opened"]),
            connections_peak=None if peak is None else int(peak),
            bottleneck=bool(block["bottleneck"]),
            reasons=tuple(block["reasons"]),
            worker_failures=tuple(block["worker_failures"]),
            loop_lag_ms=Spread3.from_json(block.get("loop_lag_ms")),
            send_lateness_ms=Spread3.from_json(block.get("send_lateness_ms")),
            requests=tuple(int(value) for value in block.get("requests") or ()),
            scheduled=tuple(None if value is None else int(value) for value in block.get("scheduled") or ()),
            start_late_ms=tuple(None if value is None else float(value) for value in block.get("start_late_ms") or ()),
            cluster=ClusterRun.from_json(block.get("cluster")),
        )

    def to_json(self) -> Json:
        return {
            "workers": self.workers,
            "cpu_seconds": list(self.cpu_seconds),
            "cpu_fraction": list(self.cpu_fraction),
            "requests": list(self.requests),
            "scheduled": list(self.scheduled),
            "start_late_ms": list(self.start_late_ms),
            "connections_opened": self.connections_opened,
            "connections_peak": self.connections_peak,
            "bottleneck": self.bottleneck,
            "reasons": list(self.reasons),
            "worker_failures": list(self.worker_failures),
            "loop_lag_ms": None if self.loop_lag_ms is None else self.loop_lag_ms.to_json(),
            "send_lateness_ms": None if self.send_lateness_ms is None else self.send_lateness_ms.to_json(),
        } | ({} if self.cluster is None else {"cluster": self.cluster.to_json()})


@dataclass(frozen=True, slots=True)
class ServerUsage:
    """The launched server (``load APP --server``, ``compare``): what it was and what it cost."""

    name: str
    version: str | None
    workers: int | None
    processes: int | None
    cpu_seconds: float | None
    cpu_fraction: float | None  # cores busy over the window
    peak_rss_mib: float | None
    exit_code: int | None
    log_tail: tuple[str, ...]
    profile: str | None
    present: frozenset[str]  # the keys the file had, so to_json writes back what was read

    @classmethod
    def from_json(cls, block: Mapping[str, Any] | None) -> ServerUsage | None:
        if block is None:
            return None

        def number(key: str) -> float | None:
            return None if block.get(key) is None else float(block[key])

        def integer(key: str) -> int | None:
            return None if block.get(key) is None else int(block[key])

        return cls(
            name=str(block["name"]),
            version=block.get("version"),
            workers=integer("workers"),
            processes=integer("processes"),
            cpu_seconds=number("cpu_seconds"),
            cpu_fraction=number("cpu_fraction"),
            peak_rss_mib=number("peak_rss_mib"),
            exit_code=integer("exit_code"),
            log_tail=tuple(block.get("log_tail") or ()),
            profile=block.get("profile"),
            present=frozenset(block),
        )

    def to_json(self) -> Json:
        values: Json = {
            "name": self.name,
            "version": self.version,
            "workers": self.workers,
            "processes": self.processes,
            "cpu_seconds": self.cpu_seconds,
            "cpu_fraction": self.cpu_fraction,
            "peak_rss_mib": self.peak_rss_mib,
            "exit_code": self.exit_code,
            "log_tail": list(self.log_tail),
            "profile": self.profile,
        }
        return {key: value for key, value in values.items() if key in self.present or key == "name"}


@dataclass(frozen=True, slots=True)
class ThresholdOutcome:
    threshold: str
    metric: str
    name: str | None
    status: str | None
    comparison: str
    limit: float
    unit: str
    observed: float | None
    passed: bool

    @classmethod
    def from_json(cls, block: Mapping[str, Any]) -> ThresholdOutcome:
        return cls(
            threshold=str(block["threshold"]),
            metric=str(block["metric"]),
            name=block.get("name"),
            status=block.get("status"),
            comparison=str(block["comparison"]),
            limit=float(block["limit"]),
            unit=str(block["unit"]),
            observed=None if block["observed"] is None else float(block["observed"]),
            passed=bool(block["passed"]),
        )

    def to_json(self) -> Json:
        return {
            "threshold": self.threshold,
            "metric": self.metric,
            "name": self.name,
            "status": self.status,
            "comparison": self.comparison,
            "limit": self.limit,
            "unit": self.unit,
            "observed": self.observed,
            "passed": self.passed,
        }


@dataclass(frozen=True, slots=True)
class Result:
    """One ``asgibench load`` run (or one run of a comparison), as its result file holds it.

    ``environment``, ``config`` and ``histograms`` stay JSON objects: they are
    recorded and compared whole (gate's configuration check, the report's
    description), and the histograms are decoded where they are merged
    (asgibench.report.spectrum).
    """

    schema: str
    created: str
    partial: bool
    partial_reason: str | None
    environment: Mapping[str, Any]
    config: Mapping[str, Any]
    summary: Summary
    requests: tuple[RequestStats, ...]
    by_status: tuple[StatusLatency, ...]
    histograms: Mapping[str, Any]
    timeline: tuple[Second, ...]
    generator: GeneratorHealth
    server: ServerUsage | None
    thresholds: tuple[ThresholdOutcome, ...]
    passed: bool
    failures: tuple[str, ...]
    migrated_from: str | None = None

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Result:
        """Records from a document checked (and migrated) by ``results.schema.result_from``."""
        return cls(
            schema=str(document["schema"]),
            created=str(document["created"]),
            partial=bool(document["partial"]),
            partial_reason=document["partial_reason"],
            environment=dict(document["environment"]),
            config=dict(document["config"]),
            summary=Summary.from_json(document["summary"]),
            requests=tuple(RequestStats.from_json(entry) for entry in document["requests"]),
            by_status=tuple(StatusLatency.from_json(entry) for entry in document.get("by_status") or ()),
            histograms=dict(document["histograms"]),
            timeline=tuple(Second.from_json(row) for row in document["timeline"]),
            generator=GeneratorHealth.from_json(document["generator"]),
            server=ServerUsage.from_json(document.get("server")),
            thresholds=tuple(ThresholdOutcome.from_json(entry) for entry in document["thresholds"]),
            passed=bool(document["passed"]),
            failures=tuple(document["failures"]),
            migrated_from=document.get("migrated_from"),
        )

    def to_json(self) -> Json:
        document: Json = {
            "schema": self.schema,
            "created": self.created,
            "partial": self.partial,
            "partial_reason": self.partial_reason,
            "environment": dict(self.environment),
            "config": dict(self.config),
            "summary": self.summary.to_json(),
            "requests": [entry.to_json() for entry in self.requests],
            "by_status": [entry.to_json() for entry in self.by_status],
            "histograms": dict(self.histograms),
            "timeline": [row.to_json() for row in self.timeline],
            "generator": self.generator.to_json(),
            "thresholds": [entry.to_json() for entry in self.thresholds],
            "passed": self.passed,
            "failures": list(self.failures),
        }
        if self.server is not None:  # only a run that launched its server has one
            document["server"] = self.server.to_json()
        if self.migrated_from is not None:
            document["migrated_from"] = self.migrated_from
        return document

    # What readers ask of a run, answered here once.

    @property
    def model(self) -> Literal["closed", "open"]:
        return "open" if self.config.get("model") == "open" else "closed"

    def named(self, name: str) -> RequestStats | None:
        return next((entry for entry in self.requests if entry.name == name), None)

    def status(self, code: str) -> StatusLatency | None:
        return next((entry for entry in self.by_status if entry.status == code), None)


def results_of(documents: Sequence[Mapping[str, Any]]) -> tuple[Result, ...]:
    return tuple(Result.from_json(document) for document in documents)
