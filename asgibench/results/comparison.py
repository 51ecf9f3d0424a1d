"""The comparison file written by ``asgibench compare --out DIR``: one per comparison, beside its run files.

History of the schema:
  asgibench.comparison/1  first version; later, without a new version (every key added is optional):
                          status "unsupported" and its "reason", the protocols' stats, config "hold_path".

Layout (every path is relative to the comparison file's directory)::

    {
      "schema": "asgibench.comparison/1",
      "created": "2026-11-21T14:33:22+00:00",
      "partial": false,                           # interrupted: what was measured until then
      "partial_reason": null,                     # "interrupted (SIGTERM)", ...
      "app": "reference_apps.raw_app:app",       # the ASGI app every ASGI server ran
      "wsgi_app": "reference_apps.wsgi_app:app",  # the WSGI twin, or null
      "environment": {...},                       # as in a result file, with "server": null
      "config": {...},                            # the load config, as in a result file, with "target"
                                                  # null and, with --hold, "hold_target" null and "hold_path"
                                                  # ("/sse", or "ws:/ws"): each server had its own port
      "repeat": 3,                                # measured runs per server
      "server_workers": 1,                        # processes per server
      "cpus": {"server": [0], "generator": [1]},  # pinning, or null lists when not pinned
      "servers": [
        {
          "name": "uvicorn", "version": "0.38.0", "interface": "asgi",
          "status": "ok",                         # "ok", or "failed" (did not start, or died during a run;
                                                  # the run it died in is kept, left out of its stats), or
                                                  # "unsupported" (cannot serve the load's protocol: not run)
          "error": null,                          # what went wrong when status is "failed"
          "reason": null,                         # why not, when status is "unsupported" (absent before it)
          "log_tail": [],                         # the server's last log lines when it failed
          "runs": ["uvicorn-1.json", ...],        # its result files (asgibench.result/N), in run order
          "profile": "uvicorn.svg",               # py-spy flame graph (--profile), or null
          "stats": {                              # over the measured runs (see asgibench.compare.stats)
            "rps": {"median": ..., "min": ..., "max": ...},
            "p50_ms": {...}, "p99_ms": {...}, "p999_ms": {...},
            "requests": 0, "ok": 0, "errors": 0, "error_rate": 0.0,   # summed over the runs
            "server_cpu": {...},                  # cores busy
            "server_cpu_per_request_us": {...},   # CPU per response
            "server_peak_rss_mib": {...},         # peak resident memory of the process tree
            "messages_rps": {...} | null,         # WebSocket: echoed messages received/s (absent before it)
            "first_byte_p99_ms": {...} | null,    # streamed responses: time to first byte, p99 (idem)
            "gap_p99_ms": {...} | null,           # streamed responses: gaps between reads, p99 (idem)
            "held": {...} | null,                 # --hold: streams held at the window's end (idem)
            "dropped": {...} | null,              # --hold: streams the server ended (idem)
            "offered_rps": {...} | null,          # open model
            "generator_bound": false, "target_behind": false, "failed": false,
            "marks": []                           # why it is never the best: "⚠ generator-bound", ...
          }
        }
      ]
    }
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from asgibench.atomicio import write_or_save
from asgibench.errors import UsageError
from asgibench.results.layouts import COMPARISON, COMPARISON_RULES
from asgibench.results.schema import read_document
from asgibench.results.validate import check

COMPARISON_SCHEMA = "asgibench.comparison/1"
READABLE_COMPARISONS = (COMPARISON_SCHEMA,)


def write_comparison(path: str | Path, comparison: dict[str, Any]) -> None:
    """Write ``comparison`` atomically; if that fails it is saved elsewhere and the OutputError says where."""
    text = json.dumps(comparison, indent=2) + "\n"
    failure = write_or_save(path, text, option="--out", stem="asgibench-comparison", what="comparison")
    if failure is not None:
        raise failure


def is_comparison(document: Any) -> bool:
    return isinstance(document, dict) and str(document.get("schema", "")).startswith("asgibench.comparison/")


def load_comparison(path: str | Path) -> dict[str, Any]:
    """Read a comparison file; anything else is a UsageError naming the file."""
    return comparison_from(read_document(path), path)


def comparison_from(document: Any, path: str | Path) -> dict[str, Any]:
    """``document`` (read from ``path``) checked as a comparison file: its version, then every key report reads.

    A UsageError names the file and the first key missing or of the wrong type
    (``servers[1].runs[0]``); the run files it lists are read as result files by the caller.
    """
    source = Path(path)
    if not is_comparison(document):
        raise UsageError(f"{source} is not an asgibench comparison file.")
    if document["schema"] not in READABLE_COMPARISONS:
        raise UsageError(
            f"{source} has schema {document['schema']!r}; this asgibench reads {', '.join(READABLE_COMPARISONS)}.",
            hint="Upgrade asgibench to read files from newer versions.",
        )
    check(document, COMPARISON, source, COMPARISON_RULES, what="comparison file")
    return dict(document)


def run_paths(comparison_path: str | Path, server: dict[str, Any]) -> list[Path]:
    """The result files of one server's runs, resolved against the comparison file's directory."""
    base = Path(comparison_path).parent
    return [base / name for name in server.get("runs", [])]
