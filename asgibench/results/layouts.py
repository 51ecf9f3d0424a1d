"""The layouts of the files asgibench reads: result files (versions 1 and 2) and comparison files.

Each is an ``asgibench.results.validate`` layout, key path -> Key, following
docs/result-file.md and asgibench/results/comparison.py; the keys report, gate
and compare read are all here. To check one more key, add its line: the parent
must come first. A key is optional (``required=False``) only where a file
written by an earlier asgibench, or a version 1 file migrated on reading, may
lack it; readers must then ``.get`` it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from asgibench.results.outcomes import ERROR_KINDS, LATER_ERROR_KINDS, UNSENT_REASONS
from asgibench.results.validate import (
    BOOLEAN,
    CONTAINER,
    COUNT,
    HISTOGRAM,
    HISTOGRAM_HIGHEST_US,
    HISTOGRAM_LOWEST_US,
    HISTOGRAM_SIGNIFICANT_DIGITS,
    INTEGER,
    LATENCY,
    LIST,
    NUMBER,
    OBJECT,
    RATE,
    SIGNED_NUMBER,
    STRING,
    Key,
    Rule,
    layout,
)

ERROR_KINDS_V1 = ("refused", "reset", "timeout", "protocol", "http_4xx", "http_5xx", "unsent", "other")
LATENCY_KEYS = ("min", "mean", "p50", "p75", "p90", "p95", "p99", "p999", "p9999", "max")
TIMELINE_LATENCY_KEYS = ("p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms")

Entries = dict[str, Key]

OPTIONAL_TEXT = Key(STRING, nullable=True, required=False)


def _environment(at: str) -> Entries:
    entries = {at: Key(OBJECT)}
    for name in ("asgibench", "python", "implementation", "os", "machine", "cpu_model", "hostname"):
        entries[f"{at}.{name}"] = OPTIONAL_TEXT
    for name in ("cpu_count", "cpus_usable"):
        entries[f"{at}.{name}"] = Key(COUNT, nullable=True, required=False)
    entries[f"{at}.server"] = Key(OBJECT, nullable=True, required=False)  # the launched server's name and version
    entries[f"{at}.server.name"] = OPTIONAL_TEXT
    entries[f"{at}.server.version"] = OPTIONAL_TEXT
    return entries


def _config(at: str) -> Entries:
    return {
        at: Key(OBJECT),
        f"{at}.target": Key(STRING, nullable=True),  # null in a comparison: each server had its own
        f"{at}.target_source": Key(STRING, nullable=True),
        f"{at}.scenario": Key(STRING, nullable=True),
        f"{at}.model": Key(STRING, choices=("closed", "open")),
        f"{at}.vus": Key(COUNT, nullable=True),
        f"{at}.rate": Key(NUMBER, nullable=True),
        f"{at}.duration_s": Key(NUMBER),
        f"{at}.warmup_s": Key(NUMBER),
        f"{at}.timeout_s": Key(NUMBER),
        f"{at}.drain_s": Key(NUMBER, required=False),  # new in version 2
        f"{at}.think_s": Key(NUMBER),
        f"{at}.workers": Key(COUNT),
        f"{at}.cluster": Key(STRING, nullable=True, required=False),  # --cluster, as given (shards: workers)
        f"{at}.connections": Key(COUNT),
        f"{at}.max_connections": Key(COUNT),
        f"{at}.stages": Key(LIST),
        f"{at}.stages[]": Key(OBJECT),
        f"{at}.stages[].duration_s": Key(NUMBER),
        f"{at}.stages[].target": Key(NUMBER),
        f"{at}.requests": Key(LIST),
        f"{at}.requests[]": Key(OBJECT),
        f"{at}.requests[].name": Key(STRING),
        f"{at}.requests[].method": Key(STRING),
        f"{at}.requests[].path": Key(STRING),
        f"{at}.requests[].headers": Key(CONTAINER),
        f"{at}.requests[].body_bytes": Key(COUNT),
        f"{at}.requests[].weight": Key(NUMBER),
        f"{at}.requests[].expect": Key(OBJECT, required=False),  # new in version 2
        f"{at}.requests[].expect.status": Key(LIST),
        f"{at}.requests[].expect.status[]": Key(STRING),
        f"{at}.requests[].expect.body_contains": Key(STRING, nullable=True),
        f"{at}.requests[].expect.headers": Key(OBJECT),
        f"{at}.requests[].expect.headers.*": Key(STRING),
        f"{at}.thresholds": Key(LIST),
        f"{at}.thresholds[]": Key(STRING),
        # What the load spoke (files before them lack these: HTTP/1.1, one stream, nothing held).
        f"{at}.protocol": Key(STRING, choices=("http/1.1", "h2", "websocket"), required=False),
        f"{at}.streams": Key(COUNT, required=False),
        f"{at}.subprotocols": Key(LIST, required=False),
        f"{at}.subprotocols[]": Key(STRING),
        f"{at}.hold": Key(COUNT, required=False),
        f"{at}.hold_target": Key(STRING, nullable=True, required=False),
        f"{at}.requests[].message": Key(STRING, nullable=True, choices=("text", "binary"), required=False),
        f"{at}.requests[].stream": Key(BOOLEAN, required=False),
    }


def _latency(at: str) -> Entries:
    """A latency block (ms), or null when nothing was measured."""
    entries = {at: Key(OBJECT, nullable=True)}
    entries |= {f"{at}.{name}": Key(LATENCY) for name in LATENCY_KEYS}
    entries[f"{at}.stdev"] = Key(NUMBER)  # a spread, not a latency: may be below a microsecond
    entries[f"{at}.count"] = Key(COUNT)
    entries[f"{at}.percentiles"] = Key(OBJECT)
    entries[f"{at}.percentiles.*"] = Key(LATENCY)
    return entries


def _optional_latency(at: str) -> Entries:
    """A latency block that files written before it lack."""
    entries = _latency(at)
    entries[at] = Key(OBJECT, nullable=True, required=False)
    return entries


def _counts(at: str, names: tuple[str, ...]) -> Entries:
    return {at: Key(OBJECT)} | {f"{at}.{name}": Key(COUNT) for name in names}


def _common(summary: Entries, timeline: Entries) -> Entries:
    """A result file of either version: its summary and timeline parts given."""
    entries: Entries = {
        "schema": Key(STRING),
        "created": Key(STRING),
        "partial": Key(BOOLEAN),
        "partial_reason": Key(STRING, nullable=True),
        **_environment("environment"),
        **_config("config"),
        **summary,
        "histograms": Key(OBJECT),
        "histograms.encoding": Key(STRING, choices=("hdrhistogram-v2-compressed-base64",)),
        "histograms.unit": Key(STRING, choices=("us",)),
        "histograms.lowest": Key(COUNT, choices=(HISTOGRAM_LOWEST_US,)),
        "histograms.highest": Key(COUNT, choices=(HISTOGRAM_HIGHEST_US,)),
        "histograms.significant_digits": Key(COUNT, choices=(HISTOGRAM_SIGNIFICANT_DIGITS,)),
        "histograms.latency": Key(HISTOGRAM, nullable=True),
        "histograms.service_time": Key(HISTOGRAM, nullable=True),
        "histograms.requests": Key(LIST, required=False),  # new in version 2
        "histograms.requests[]": Key(OBJECT),
        "histograms.requests[].name": Key(STRING),
        "histograms.requests[].latency": Key(HISTOGRAM, nullable=True),
        "histograms.requests[].service_time": Key(HISTOGRAM, nullable=True),
        "histograms.by_status": Key(LIST, required=False),  # new in version 2
        "histograms.by_status[]": Key(OBJECT),
        "histograms.by_status[].status": Key(STRING),
        "histograms.by_status[].latency": Key(HISTOGRAM, nullable=True),
        **timeline,
        "generator": Key(OBJECT),
        "generator.workers": Key(COUNT),
        "generator.cpu_seconds": Key(LIST),
        "generator.cpu_seconds[]": Key(NUMBER),
        "generator.cpu_fraction": Key(LIST),
        "generator.cpu_fraction[]": Key(NUMBER),
        "generator.requests": Key(LIST, required=False),  # each worker's outcomes; they add up to the total
        "generator.requests[]": Key(COUNT),
        "generator.scheduled": Key(LIST, required=False),  # open model: each worker's due requests
        "generator.scheduled[]": Key(COUNT, nullable=True),
        "generator.start_late_ms": Key(LIST, required=False),  # how long after time zero each worker began
        "generator.start_late_ms[]": Key(NUMBER, nullable=True),
        "generator.connections_opened": Key(COUNT),
        "generator.connections_peak": Key(COUNT, required=False),  # a migrated version 1 file has none
        "generator.bottleneck": Key(BOOLEAN),
        "generator.reasons": Key(LIST),
        "generator.reasons[]": Key(STRING),
        "generator.worker_failures": Key(LIST),
        "generator.worker_failures[]": Key(STRING),
    }
    entries |= {  # a --cluster run's shards (asgibench.cluster)
        "generator.cluster": Key(OBJECT, required=False),
        "generator.cluster.address": Key(STRING),
        "generator.cluster.scheduler": Key(STRING),
        "generator.cluster.max_skew_ms": Key(NUMBER),
        "generator.cluster.start_skew_ms": Key(NUMBER),
        "generator.cluster.shards": Key(LIST),
        "generator.cluster.shards[]": Key(OBJECT),
        "generator.cluster.shards[].shard": Key(COUNT),
        "generator.cluster.shards[].address": Key(STRING),
        "generator.cluster.shards[].hostname": Key(STRING),
        "generator.cluster.shards[].cpu_model": Key(STRING),
        "generator.cluster.shards[].cpu_count": Key(COUNT, nullable=True),
        "generator.cluster.shards[].python": Key(STRING),
        "generator.cluster.shards[].asgibench": Key(STRING),
        "generator.cluster.shards[].clock_offset_ms": Key(SIGNED_NUMBER),
        "generator.cluster.shards[].clock_uncertainty_ms": Key(NUMBER),
    }
    for spread in ("loop_lag_ms", "send_lateness_ms"):
        entries[f"generator.{spread}"] = Key(OBJECT, nullable=True)
        entries |= {f"generator.{spread}.{name}": Key(NUMBER) for name in ("p50", "p99", "max")}
    entries |= {
        # The launched server's usage: load APP --server and compare only.
        "server": Key(OBJECT, nullable=True, required=False),
        "server.name": Key(STRING),
        "server.version": OPTIONAL_TEXT,
        "server.workers": Key(COUNT, required=False),
        "server.processes": Key(COUNT, required=False),
        "server.cpu_seconds": Key(NUMBER, required=False),
        "server.cpu_fraction": Key(NUMBER, required=False),
        "server.peak_rss_mib": Key(NUMBER, required=False),
        "server.exit_code": Key(INTEGER, nullable=True, required=False),
        "server.log_tail": Key(LIST, required=False),
        "server.log_tail[]": Key(STRING),
        "server.profile": OPTIONAL_TEXT,
        "thresholds": Key(LIST),
        "thresholds[]": Key(OBJECT),
        "thresholds[].threshold": Key(STRING),
        "thresholds[].metric": Key(STRING),
        "thresholds[].name": OPTIONAL_TEXT,  # new in version 2: the named request it is about
        "thresholds[].status": OPTIONAL_TEXT,  # new in version 2: the status code it is about
        "thresholds[].comparison": Key(STRING),
        "thresholds[].limit": Key(NUMBER),
        "thresholds[].unit": Key(STRING),
        "thresholds[].observed": Key(NUMBER, nullable=True),
        "thresholds[].passed": Key(BOOLEAN),
    }
    return entries


def _summary_v2(at: str) -> Entries:
    """``summary`` and each entry of ``requests`` share most keys; ``at`` is either."""
    return {
        f"{at}.requests": Key(COUNT),
        f"{at}.responses": Key(COUNT),
        f"{at}.ok": Key(COUNT),
        f"{at}.rps": Key(RATE),
        f"{at}.ok_rps": Key(RATE),
        f"{at}.error_rate": Key(NUMBER),
        **_counts(f"{at}.errors", tuple(kind for kind in ("total", *ERROR_KINDS) if kind not in LATER_ERROR_KINDS)),
        **{f"{at}.errors.{kind}": Key(COUNT, required=False) for kind in LATER_ERROR_KINDS},
        **_counts(f"{at}.unsent", UNSENT_REASONS),
        f"{at}.statuses": Key(OBJECT),
        f"{at}.statuses.*": Key(COUNT),
        **_latency(f"{at}.latency_ms"),
        **_latency(f"{at}.service_time_ms"),
    }


SUMMARY_V2: Entries = {
    "summary": Key(OBJECT),
    **_summary_v2("summary"),
    "summary.scheduled": Key(COUNT, nullable=True),
    "summary.interim": Key(COUNT),
    "summary.duration_s": Key(NUMBER),
    "summary.drain_s": Key(NUMBER),
    "summary.offered_rps": Key(RATE, nullable=True),
    "summary.target_behind": Key(BOOLEAN, nullable=True),
    "summary.error_examples": Key(OBJECT),
    "summary.error_examples.*": Key(STRING),
    "summary.bytes_received": Key(COUNT),
    "summary.bytes_sent": Key(COUNT),
    # Beyond request and response: absent from files written before them.
    "summary.protocol": Key(STRING, choices=("http/1.1", "h2", "websocket"), required=False),
    "summary.error_codes": Key(OBJECT, required=False),
    "summary.error_codes.*": Key(OBJECT),
    "summary.error_codes.*.*": Key(COUNT),
    **_optional_latency("summary.first_byte_ms"),
    **_optional_latency("summary.gap_ms"),
    **_optional_latency("summary.handshake_ms"),
    "summary.messages": Key(OBJECT, nullable=True, required=False),
    **{f"summary.messages.{name}": Key(COUNT) for name in ("sent", "received", "unmatched")},
    **{f"summary.messages.{name}": Key(RATE) for name in ("sent_per_s", "received_per_s")},
    "summary.stream_events": Key(OBJECT, nullable=True, required=False),
    "summary.stream_events.events": Key(COUNT),
    "summary.stream_events.events_per_s": Key(RATE),
    "summary.held": Key(OBJECT, nullable=True, required=False),
    **{
        f"summary.held.{name}": Key(COUNT)
        for name in ("wanted", "held", "min_held", "opened", "failed", "dropped", "events")
    },
    "requests": Key(LIST),
    "requests[]": Key(OBJECT),
    "requests[].name": Key(STRING),
    "requests[].method": Key(STRING),
    "requests[].path": Key(STRING),
    **_summary_v2("requests[]"),
    "requests[].checks": Key(LIST),
    "requests[].checks[]": Key(OBJECT),
    "requests[].checks[].check": Key(STRING),
    "requests[].checks[].passed": Key(COUNT),
    "requests[].checks[].failed": Key(COUNT),
    "by_status": Key(LIST, required=False),  # latency by status code; a migrated version 1 file has none
    "by_status[]": Key(OBJECT),
    "by_status[].status": Key(STRING),
    "by_status[].responses": Key(COUNT),
    **_latency("by_status[].latency_ms"),
}

TIMELINE_V2: Entries = {
    "timeline": Key(LIST),
    "timeline[]": Key(OBJECT),
    "timeline[].second": Key(COUNT),
    "timeline[].start_s": Key(NUMBER),
    "timeline[].end_s": Key(NUMBER),
    "timeline[].requests": Key(COUNT),
    "timeline[].responses": Key(COUNT),
    "timeline[].rps": Key(RATE),
    "timeline[].errors": Key(COUNT),
    "timeline[].errors_by_kind": Key(OBJECT),
    "timeline[].errors_by_kind.*": Key(COUNT),
    "timeline[].bytes_received": Key(COUNT),
    **{f"timeline[].{name}": Key(LATENCY, nullable=True) for name in TIMELINE_LATENCY_KEYS},
    "timeline[].generator_cpu": Key(NUMBER, nullable=True),
    "timeline[].generator_lag_max_ms": Key(NUMBER, nullable=True),
    "timeline[].generator_rss_mib": Key(NUMBER, nullable=True),
    "timeline[].held": Key(COUNT, nullable=True, required=False),  # --hold: streams held at the second's end
}

SUMMARY_V1: Entries = {
    "summary": Key(OBJECT),
    "summary.requests": Key(COUNT),  # answered requests only, in version 1
    "summary.duration_s": Key(NUMBER),
    "summary.rps": Key(RATE),
    **_counts("summary.errors", ("total", *ERROR_KINDS_V1)),
    "summary.error_rate": Key(NUMBER),
    "summary.bytes_received": Key(COUNT),
    "summary.bytes_sent": Key(COUNT),
    **_latency("summary.latency_ms"),
    **_latency("summary.service_time_ms"),
}

TIMELINE_V1: Entries = {
    key: value for key, value in TIMELINE_V2.items() if key != "timeline[].responses"
}  # version 1's rows: "requests" counted answers, as "responses" does now


def _open_rate(document: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """The open model at a fixed rate names it (with stages, the stages do)."""
    config = document["config"]
    if config["model"] == "open" and not config["stages"] and config["rate"] is None:
        yield "config.rate", "the open model without stages needs a rate, found null"


RESULT_V1 = layout({**_common(SUMMARY_V1, TIMELINE_V1), "passed": Key(BOOLEAN, required=False)})
RESULT_V2 = layout(
    {
        **_common(SUMMARY_V2, TIMELINE_V2),
        "passed": Key(BOOLEAN),
        "failures": Key(LIST),
        "failures[]": Key(STRING),
    }
)
RESULT_RULES: tuple[Rule, ...] = (_open_rate,)

COMPARISON = layout(
    {
        "schema": Key(STRING),
        "created": Key(STRING, required=False),
        "partial": Key(BOOLEAN, required=False),
        "app": Key(STRING),
        "wsgi_app": OPTIONAL_TEXT,
        **_environment("environment"),
        **_config("config"),
        "repeat": Key(COUNT),
        "server_workers": Key(COUNT, required=False),
        "cpus": Key(OBJECT, nullable=True, required=False),
        "cpus.server": Key(LIST, nullable=True, required=False),
        "cpus.server[]": Key(COUNT),
        "cpus.generator": Key(LIST, nullable=True, required=False),
        "cpus.generator[]": Key(COUNT),
        "servers": Key(LIST),
        "servers[]": Key(OBJECT),
        "servers[].name": Key(STRING),
        "servers[].version": Key(STRING, nullable=True),
        "servers[].interface": OPTIONAL_TEXT,
        "servers[].app": OPTIONAL_TEXT,
        "servers[].status": Key(STRING, choices=("ok", "failed", "unsupported")),
        "servers[].error": Key(STRING, nullable=True),
        "servers[].reason": OPTIONAL_TEXT,  # why an unsupported server was not run; files before it lack it
        "servers[].log_tail": Key(LIST),
        "servers[].log_tail[]": Key(STRING),
        "servers[].runs": Key(LIST),
        "servers[].runs[]": Key(STRING),
        "servers[].profile": OPTIONAL_TEXT,
        "servers[].profile_error": OPTIONAL_TEXT,
        # Recomputable from the runs; report reads the runs, the terminal table these.
        "servers[].stats": Key(OBJECT, nullable=True, required=False),
        "servers[].stats.requests": Key(COUNT, required=False),
        "servers[].stats.errors": Key(COUNT, required=False),
        "servers[].stats.error_rate": Key(NUMBER, required=False),
        "servers[].stats.generator_bound": Key(BOOLEAN, required=False),
        "servers[].stats.partial": Key(BOOLEAN, required=False),
        "servers[].stats.runs": Key(COUNT, required=False),
    }
)

COMPARISON_RULES: tuple[Rule, ...] = (_open_rate,)
