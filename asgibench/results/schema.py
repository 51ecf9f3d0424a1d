"""The result file: versioned JSON, written atomically, read back with a clear error for what it can't read.

History of the schema (docs/result-file.md is the contract):
  asgibench.result/1  first version: environment, config, summary, histograms
                      (HdrHistogram base64), timeline, generator health, thresholds.
  asgibench.result/2  every request of the window has one outcome: ``requests`` =
                      ``ok`` + ``errors.total`` (version 1 counted only answers);
                      error kinds status, check, refused, reset, timeout, truncated,
                      protocol, tls, other, unsent (with reasons), abandoned; per-name
                      ``requests`` and histograms; drain, offered rate, statuses,
                      ``failures``. Version 1 files are migrated on reading.

A reader accepts the versions listed in ``READABLE`` and refuses anything else
with a message naming the file and the version it found. ``load_result`` reads
a file (``read_document``: at most 256 MiB of UTF-8 JSON, numbers finite) and
``result_from`` checks it against its version's layout (asgibench.results.layouts),
every key report, gate and compare read, and returns it in the version 2 layout.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asgibench.atomicio import write_or_save
from asgibench.boundedio import RESULT_FILE_LIMIT, read_text_bounded
from asgibench.errors import UsageError
from asgibench.results.migrate import V1, V2, from_v1

SCHEMA = V2
READABLE = (V1, V2)  # version 1 is migrated to version 2 on reading
# Other asgibench files, by the start of their schema: what each is, and what writes it.
OTHER_FILES = {
    "asgibench.conformance/": ("an asgibench conformance report", "asgibench conform --json"),
    "asgibench.gate/": ("an asgibench gate report", "asgibench gate --json"),
    "asgibench.comparison/": ("an asgibench comparison file", "asgibench compare --out"),
}
# A conformance report's own keys, to know one whose schema key was lost.
CONFORMANCE_KEYS = frozenset({"target", "summary", "checks", "scenarios"})


def write_result(path: str | Path, result: dict[str, Any], *, option: str = "--json") -> None:
    """Write ``result`` atomically (``-``: standard output); if that fails it is saved elsewhere, as the error says."""
    failure = write_or_save(path, json.dumps(result, indent=2) + "\n", option=option, stem="asgibench-result")
    if failure is not None:
        raise failure


def read_document(path: str | Path) -> Any:
    """The JSON in ``path``; a file that cannot be read or parsed is a UsageError naming it.

    At most ``RESULT_FILE_LIMIT`` bytes of UTF-8 are read. NaN, Infinity and
    -Infinity, which Python's json accepts, are refused: every number is finite.
    Duplicate keys are accepted (the last one counts), as JSON parsers do.
    """
    return parse_document(read_text_bounded(path, limit=RESULT_FILE_LIMIT), path)


@dataclass(frozen=True, slots=True)
class _Constant:
    """What the parser makes of NaN, Infinity or -Infinity, so the key holding it can be named."""

    token: str


# A JSON string (skipped) or the token looked for: the first token outside strings is the one the parser met.
_TOKEN = r'"(?:[^"\\]|\\.)*"|(?P<hit>{})'
_NOT_FINITE = re.compile(_TOKEN.format(r"-?Infinity|NaN"))
_LONG_INTEGER = re.compile(_TOKEN.format(r"-?\d{4300,}(?![\d.eE])"))


def _line_of(text: str, pattern: re.Pattern[str]) -> int | None:
    found = next((match for match in pattern.finditer(text) if match.group("hit")), None)
    return None if found is None else text.count("\n", 0, found.start()) + 1


def _first_constant(document: Any) -> tuple[str, _Constant] | None:
    """The key path of the first NaN or infinity in ``document``, in document order (iteratively: no depth limit)."""
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, _Constant):
            return where or "(top level)", value
        if isinstance(value, dict):
            stack.extend(reversed([(f"{where}.{key}" if where else str(key), child) for key, child in value.items()]))
        elif isinstance(value, list):
            stack.extend(reversed([(f"{where}[{index}]", child) for index, child in enumerate(value)]))
    return None


def json_files_in(directory: Path) -> list[Path]:
    """The ``*.json`` files of a directory that stands for its runs (gate DIR, report DIR), in name order."""
    return [path for path in sorted(directory.glob("*.json")) if path.is_file()]


def parse_document(text: str, path: str | Path) -> Any:
    """``text`` (read from ``path``) parsed as JSON: a UsageError naming the file and the line for what is not.

    NaN, Infinity and -Infinity are refused naming the key that holds one.
    """
    source = Path(path)
    constants: list[_Constant] = []

    def constant(token: str) -> _Constant:
        constants.append(_Constant(token))
        return constants[-1]

    try:
        document = json.loads(text.removeprefix("\ufeff"), parse_constant=constant)
    except json.JSONDecodeError as error:
        raise UsageError(f"{source}:{error.lineno}: not valid JSON ({error.msg}).") from None
    except ValueError:  # Python refuses to convert an integer of more than 4300 digits
        line = _line_of(text, _LONG_INTEGER)
        raise UsageError(f"{source}:{line}: not valid JSON (an integer of more than 4300 digits).") from None
    except RecursionError:
        raise UsageError(f"{source}: not valid JSON (lists or objects nested too deeply).") from None
    if constants:
        found = _first_constant(document)
        where, token = found if found else ("(a key)", constants[0])
        raise UsageError(
            f"{source}:{_line_of(text, _NOT_FINITE)}: {where}: {token.token} is not a number asgibench reads; "
            "the numbers in its files are finite."
        )
    return document


def other_file(document: Any) -> tuple[str, str] | None:
    """(what it is, what writes it) when ``document`` is an asgibench file that is not a result file."""
    if not isinstance(document, dict):
        return None
    schema = document.get("schema")
    for prefix, found in OTHER_FILES.items():
        if isinstance(schema, str) and schema.startswith(prefix):
            return found
    if schema is None and CONFORMANCE_KEYS <= document.keys() and isinstance(document.get("checks"), list):
        return OTHER_FILES["asgibench.conformance/"]
    return None


def is_result(document: Any) -> bool:
    return isinstance(document, dict) and str(document.get("schema", "")).startswith("asgibench.result/")


def load_result(path: str | Path) -> dict[str, Any]:
    """Read a result file; bad JSON, another tool's file or an unknown version is a UsageError naming the file."""
    return result_from(read_document(path), path)


def result_from(document: Any, path: str | Path) -> dict[str, Any]:
    """``document`` (read from ``path``) checked as a result file and returned in the version 2 layout.

    A UsageError naming the file: for another asgibench file (a conformance or
    gate report, a comparison) or any other JSON; for a version this asgibench
    does not read; for the first key that is missing or holds the wrong type
    (named as a path: ``summary.latency_ms.p99``, ``timeline[3].p50_ms``).
    A version 1 file is checked as version 1, then migrated (asgibench.results.migrate).
    """
    # Imported here: the layouts and their checks are for reading, and `asgibench load` only writes.
    from asgibench.results.layouts import RESULT_RULES, RESULT_V1, RESULT_V2
    from asgibench.results.validate import check

    source = Path(path)
    other = other_file(document)
    if other is not None:
        what, writer = other
        raise UsageError(
            f"{source} is {what}, not a result file.",
            hint=f"{writer} wrote it; report and gate read the result files of load --json and compare --out.",
        )
    version = document.get("schema") if isinstance(document, dict) else None
    if not isinstance(version, str):
        found = (
            "its schema is not a string" if isinstance(document, dict) and "schema" in document else "no 'schema' key"
        )
        raise UsageError(f"{source} is not an asgibench result file ({found}).")
    shown = repr(version if len(version) <= 60 else version[:60] + "…")  # a schema of a megabyte is shown short
    if not version.startswith("asgibench.result/"):
        raise UsageError(f"{source} is not an asgibench result file (its schema is {shown}).")
    if version not in READABLE:
        raise UsageError(
            f"{source} has schema {shown}; this asgibench ({SCHEMA}) reads only {', '.join(READABLE)}.",
            hint="Upgrade asgibench to read files from newer versions.",
        )
    if version == V1:
        check(document, RESULT_V1, source, RESULT_RULES, context=f" ({V1})")
        migrated = from_v1(document)
        check(migrated, RESULT_V2, source, RESULT_RULES, context=f" ({V1}, migrated to {V2})")
        return migrated
    check(document, RESULT_V2, source, RESULT_RULES)
    return dict(document)
