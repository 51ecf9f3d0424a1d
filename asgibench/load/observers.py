"""Things that watch a run second by second: the HDR interval log and ``--abort-on-fail``."""

from __future__ import annotations

import datetime
from pathlib import Path

from hdrh.log import HistogramLogWriter

from asgibench.atomicio import AtomicFile, check_output
from asgibench.load.aggregate import Aggregate, Second
from asgibench.load.summary import by_status, outcome_figures, summarize
from asgibench.load.thresholds import Threshold, evaluate, percentiles_wanted


class IntervalLog:
    """Writes each merged second to an HdrHistogram interval log (``--hdr-log``).

    The log is written to a temporary file beside the target and renamed into
    place by ``close``, so a reader never sees half a file; a run cut short
    still gets a log of the seconds it measured. The path is checked as every
    output is (asgibench.atomicio: a UsageError here, before the run); a write
    that fails mid-run (a full disk) does not stop the run: ``close`` raises
    the OutputError naming --hdr-log, the path and the reason.
    """

    def __init__(self, path: Path, started_at: float) -> None:
        check_output(path, option="--hdr-log")
        self.path = path
        self._file = AtomicFile(path, option="--hdr-log")
        self._writer = HistogramLogWriter(self._file)
        self._writer.output_comment("asgibench load: interval latencies in microseconds; max column in milliseconds")
        self._writer.output_log_format_version()
        # Written by hand: hdrh's output_start_time mistakes milliseconds for seconds.
        stamp = datetime.datetime.fromtimestamp(started_at, datetime.UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
        self._file.write(f"#[StartTime: {started_at:.3f} (seconds since epoch), {stamp}]\n")
        self._writer.output_legend()

    def on_second(self, second: Second) -> None:
        # The writer takes "no timestamp" for 0; nudging the first start by a microsecond keeps it explicit.
        self._writer.output_interval_histogram(
            second.latency, max(second.start, 1e-6), max(second.end, 2e-6), max_value_unit_ratio=1000.0
        )

    def close(self) -> None:
        """Put the log in place; an OutputError (exit 2) when it cannot be, and no temporary file left."""
        self._file.commit()

    def discard(self) -> None:
        """Drop the log (the run never started): no temporary file is left behind."""
        self._file.discard()


class AbortCheck:
    """``--abort-on-fail``: after each second, the thresholds that can already decide, on everything so far."""

    def __init__(self, thresholds: tuple[Threshold, ...], *, open_model: bool) -> None:
        self.thresholds = tuple(threshold for threshold in thresholds if threshold.can_abort)
        self.open_model = open_model
        self._extra = percentiles_wanted(self.thresholds)

    def breached(self, aggregate: Aggregate, elapsed: float) -> str | None:
        if not self.thresholds or elapsed <= 0:
            return None
        summary = summarize(aggregate, duration=elapsed, open_model=self.open_model, extra_percentiles=self._extra)
        requests = [
            {"name": name, **outcome_figures(outcomes, duration=elapsed, open_model=self.open_model,
                                             extra_percentiles=self._extra)}
            for name, outcomes in zip(aggregate.names, aggregate.by_name, strict=True)
        ] if any(threshold.name is not None for threshold in self.thresholds) else []  # fmt: skip
        statuses = (
            by_status(aggregate, extra_percentiles=self._extra)
            if any(threshold.status is not None for threshold in self.thresholds)
            else []
        )
        for verdict in evaluate(self.thresholds, summary, requests, statuses):
            if not verdict.passed and verdict.observed is not None:
                return f"aborted: threshold {verdict.threshold.text!r} failed after {elapsed:.0f} s"
        return None
