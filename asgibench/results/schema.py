"""The result file: versioned JSON, written atomically, read back with a clear error for what it can't read.

History of the schema:
  asgibench.result/1  first version: environment, config, summary, histograms
                      (HdrHistogram base64), timeline, generator health, thresholds.

A reader accepts the versions listed in ``READABLE`` and refuses anything else
with a message naming the file and the version it found.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from asgibench.atomicio import write_text_atomic
from asgibench.errors import UsageError

SCHEMA = "asgibench.result/1"
READABLE = (SCHEMA,)
REQUIRED_KEYS = ("schema", "environment", "config", "summary", "histograms", "timeline", "generator", "thresholds")


def write_result(path: str | Path, result: dict[str, Any], *, option: str = "--json") -> None:
    write_text_atomic(path, json.dumps(result, indent=2) + "\n", option=option)


def read_document(path: str | Path) -> Any:
    """The JSON in ``path``; a file that cannot be read or parsed is a UsageError naming it."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"Cannot read {str(source)!r}: {error.strerror or error}.") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{source}:{error.lineno}: not valid JSON ({error.msg}).") from None


def is_result(document: Any) -> bool:
    return isinstance(document, dict) and str(document.get("schema", "")).startswith("asgibench.result/")


def load_result(path: str | Path) -> dict[str, Any]:
    """Read a result file; bad JSON, another tool's file or an unknown version is a UsageError naming the file."""
    return result_from(read_document(path), path)


def result_from(document: Any, path: str | Path) -> dict[str, Any]:
    """``document`` (read from ``path``) checked as a result file: a version this asgibench reads, every key."""
    source = Path(path)
    if not isinstance(document, dict) or "schema" not in document:
        raise UsageError(f"{source} is not an asgibench result file (no 'schema' key).")
    version = document["schema"]
    if version not in READABLE:
        raise UsageError(
            f"{source} has schema {version!r}; this asgibench ({SCHEMA}) reads only {', '.join(READABLE)}.",
            hint="Upgrade asgibench to read files from newer versions.",
        )
    missing = [key for key in REQUIRED_KEYS if key not in document]
    if missing:
        raise UsageError(f"{source}: result file lacks {', '.join(repr(key) for key in missing)}.")
    return document
