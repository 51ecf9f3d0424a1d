"""Checking a JSON document against a declarative layout: key path -> what the key must hold.

A layout is an ordered mapping from a key path to a ``Key``::

    "summary.latency_ms": Key(OBJECT, nullable=True),     # present; an object or null
    "summary.latency_ms.p99": Key(LATENCY),               # checked when its parent is an object
    "timeline[].p99_ms": Key(LATENCY, nullable=True),     # in every element of the list
    "summary.statuses.*": Key(COUNT),                     # every value of the object
    "server": Key(OBJECT, nullable=True, required=False), # may be absent
    "config.model": Key(STRING, choices=("closed", "open")),

Kinds: STRING, BOOLEAN, OBJECT, LIST, CONTAINER (list or object), COUNT (an
integer, 0 to 2**63-1), INTEGER (signed), NUMBER (finite, 0 to 1e15; bool is
never a number), LATENCY (ms: 0, or 1 µs to an hour), RATE (/s) and HISTOGRAM
(a string that decodes as the format's HdrHistogram; see ``decode_histogram``).

A key is checked only where its parent is present and of its container type
(the parent's own key reports it otherwise), so every path's parent must be
declared before it (``layout`` refuses a layout that forgets one). Keys a
layout does not name are accepted and left alone: a newer writer may add some.

``check(document, layout, path)`` raises a UsageError naming the file and the
first offending key as a concrete path (``timeline[3].p50_ms``), with how many
other problems there are. Rules that span keys (a number required only in the
open model) are plain functions from the document to their problems.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from asgibench.errors import UsageError

# No count, rate, duration or latency asgibench records comes near these (1e15 ms is 30,000 years);
# the bounds keep every sum, ratio, logarithm and chart axis computed from a file finite.
LARGEST_NUMBER = 1e15
LARGEST_COUNT = 2**63 - 1
# Latencies (ms) and rates (/s): either 0 or within what a run can measure. Beyond these a latency or a rate
# is not a measurement, and ratios of such values (the gate's log-scale intervals) overflow.
SHORTEST_LATENCY_MS = 0.001  # the histograms' 1 µs
LONGEST_LATENCY_MS = 3_600_000.0  # the histograms' highest value, an hour
SLOWEST_RATE = 1e-6  # one response in eleven days
# The histograms' parameters, fixed by the format (docs/result-file.md): histograms of every file can be added.
HISTOGRAM_LOWEST_US = 1
HISTOGRAM_HIGHEST_US = 3_600_000_000
HISTOGRAM_SIGNIFICANT_DIGITS = 3


@dataclass(frozen=True, slots=True)
class Kind:
    """A type a key may hold: ``expected`` names it; ``found`` is None for a good value, else what was found."""

    expected: str
    found: Callable[[Any], str | None]


@dataclass(frozen=True, slots=True)
class Key:
    """What one key path holds: a kind, whether null is allowed, whether it may be absent, allowed values."""

    kind: Kind
    nullable: bool = False
    required: bool = True
    choices: tuple[Any, ...] = ()


Layout = Mapping[str, Key]
MISSING = "is missing"  # the problem of a required key that is absent
# A rule across keys: the document -> its problems as (concrete key path, what is wrong).
Rule = Callable[[Mapping[str, Any]], Iterator[tuple[str, str]]]


def describe(value: Any) -> str:
    """A JSON value, briefly, as a message shows what it found."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if abs(value) < 10**30 else f"an integer of {len(str(abs(value)))} digits"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:40] + "…"
        return f"a string ({shown!r})"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _typed(expected: type | tuple[type, ...]) -> Callable[[Any], str | None]:
    def found(value: Any) -> str | None:
        # bool is an int to Python but never a number in a result file.
        ok = isinstance(value, expected) and not (isinstance(value, bool) and expected is not bool)
        return None if ok else describe(value)

    return found


def _count(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= LARGEST_COUNT:
        return None
    return describe(value)


def _integer(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) <= LARGEST_COUNT:
        return None
    return describe(value)


def _number(value: Any) -> str | None:
    if _is_number(value) and abs(value) <= LARGEST_NUMBER and 0 <= value and math.isfinite(value):
        return None
    return describe(value)


def _signed_number(value: Any) -> str | None:
    if _is_number(value) and abs(value) <= LARGEST_NUMBER and math.isfinite(value):
        return None
    return describe(value)


def _latency(value: Any) -> str | None:
    # Latencies come from histograms of whole microseconds up to an hour: 0, or 0.001 ms to 3,600,000 ms.
    if _is_number(value) and (value == 0 or SHORTEST_LATENCY_MS <= value <= LONGEST_LATENCY_MS):
        return None
    return describe(value)


def _rate(value: Any) -> str | None:
    if _is_number(value) and (value == 0 or SLOWEST_RATE <= value <= LARGEST_NUMBER):
        return None
    return describe(value)


def _histogram(value: Any) -> str | None:
    if not isinstance(value, str):
        return describe(value)
    try:
        decode_histogram(value)
    except ValueError as error:
        return f"{describe(value)}, {error}"
    return None


# A histogram of the format's range has this many counters; inflated, its payload is a 40-byte header
# and at most 9 bytes (a varint) per counter. hdrh inflates without a limit: a zlib bomb would fill memory.
_COUNTERS = HdrHistogram(HISTOGRAM_LOWEST_US, HISTOGRAM_HIGHEST_US, HISTOGRAM_SIGNIFICANT_DIGITS).counts_len
MOST_PAYLOAD_BYTES = 40 + 9 * _COUNTERS
_EXTERNAL_HEADER = 8  # cookie and length, before the zlib stream


def decode_histogram(text: str) -> HdrHistogram:
    """``text`` decoded as the format's HdrHistogram; a ValueError saying why it is not one.

    What hdrh does not check is checked first: base64, a bounded inflated size,
    the format's range and precision (so histograms of any two files can be added).
    """
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error as error:
        raise ValueError(f"which is not base64 ({error})") from None
    inflater = zlib.decompressobj()
    try:
        payload = inflater.decompress(raw[_EXTERNAL_HEADER:], MOST_PAYLOAD_BYTES)
    except zlib.error as error:
        raise ValueError(f"whose payload is not zlib data ({error})") from None
    if inflater.unconsumed_tail:
        raise ValueError(f"whose payload inflates beyond {MOST_PAYLOAD_BYTES:,} bytes")
    if len(payload) >= 40:
        digits, lowest, highest = struct.unpack_from(">IQQ", payload, 12)
        if (lowest, highest, digits) != (HISTOGRAM_LOWEST_US, HISTOGRAM_HIGHEST_US, HISTOGRAM_SIGNIFICANT_DIGITS):
            raise ValueError(f"a histogram of {lowest}–{highest} µs with {digits} digits")
    try:
        return HdrHistogram.decode(text)
    except Exception as error:  # hdrh raises TypeError, ValueError, IndexError, its own exceptions... on garbage
        raise ValueError(f"that does not decode ({type(error).__name__}: {error})") from None


STRING = Kind("a string", _typed(str))
BOOLEAN = Kind("true or false", _typed(bool))
OBJECT = Kind("an object", _typed(dict))
LIST = Kind("a list", _typed(list))
COUNT = Kind(f"a count (an integer from 0 to {LARGEST_COUNT})", _count)
INTEGER = Kind("an integer", _integer)
NUMBER = Kind(f"a number from 0 to {LARGEST_NUMBER:g}", _number)
SIGNED_NUMBER = Kind(f"a number from -{LARGEST_NUMBER:g} to {LARGEST_NUMBER:g}", _signed_number)
LATENCY = Kind(f"a latency in ms (0, or {SHORTEST_LATENCY_MS:g} to {LONGEST_LATENCY_MS:,.0f})", _latency)
RATE = Kind(f"a rate per second (0, or {SLOWEST_RATE:g} to {LARGEST_NUMBER:g})", _rate)
HISTOGRAM = Kind(
    "an HdrHistogram (base64 of a compressed V2 histogram, "
    f"{HISTOGRAM_LOWEST_US}–{HISTOGRAM_HIGHEST_US} µs, {HISTOGRAM_SIGNIFICANT_DIGITS} digits)",
    _histogram,
)
CONTAINER = Kind("a list or an object", _typed((list, dict)))


def layout(entries: Mapping[str, Key]) -> dict[str, Key]:
    """``entries`` as a layout, after checking every path's parent is declared before it as its container."""
    declared: dict[str, Key] = {}
    for path, key in entries.items():
        parent, _ = _split(path)
        if parent:
            container = LIST if path.endswith("[]") else OBJECT
            if parent not in declared or declared[parent].kind is not container:
                raise ValueError(f"layout: {path!r} needs {parent!r} declared before it as {container.expected}")
        declared[path] = key
    return declared


def check(
    document: Any,
    entries: Layout,
    path: str | Path,
    rules: Sequence[Rule] = (),
    *,
    what: str = "result file",
    context: str = "",
) -> None:
    """A UsageError naming ``path`` and the first key of ``document`` that does not hold what ``entries`` says.

    ``what`` names the kind of file ("x.json: result file lacks 'summary.ok'"); ``context``
    follows the file's name (" (asgibench.result/1)"). Rules run once the layout holds.
    """
    problems = list(problems_of(document, entries))
    if not problems:
        for rule in rules:
            problems.extend(rule(document))
    if problems:
        where, problem = problems[0]
        others = len(problems) - 1
        more = f" (and {others} more problem{'s' if others > 1 else ''})" if others else ""
        if problem == MISSING:
            raise UsageError(f"{path}{context}: {what} lacks {where!r}{more}.")
        raise UsageError(f"{path}{context}: {where}: {problem}{more}.")


def problems_of(document: Any, entries: Layout) -> Iterator[tuple[str, str]]:
    """Every (concrete key path, what is wrong) of ``document`` against ``entries``, in the layout's order."""
    if not isinstance(document, dict):
        yield "(top level)", f"expected an object, found {describe(document)}"
        return
    for pattern, key in entries.items():
        parent, last = _split(pattern)
        for where, container in _containers(document, parent):
            if last == "[]":
                if isinstance(container, list):
                    for index, value in enumerate(container):
                        yield from _judge(f"{where}[{index}]", value, key)
            elif not isinstance(container, dict):
                continue
            elif last == "*":
                for name, value in container.items():
                    yield from _judge(_join(where, name), value, key)
            elif last in container:
                yield from _judge(_join(where, last), container[last], key)
            elif key.required:
                yield _join(where, last), MISSING


def _judge(where: str, value: Any, key: Key) -> Iterator[tuple[str, str]]:
    expected = key.kind.expected + (" or null" if key.nullable else "")
    if value is None:
        if not key.nullable:
            yield where, f"expected {expected}, found null"
        return
    found = key.kind.found(value)
    if found is not None:
        yield where, f"expected {expected}, found {found}"
    elif key.choices and value not in key.choices:
        allowed = ", ".join(repr(choice) for choice in key.choices)
        yield where, f"expected one of {allowed}, found {describe(value)}"


def _split(pattern: str) -> tuple[str, str]:
    """A path's parent pattern and its last step: a key, ``*`` (every value) or ``[]`` (every element)."""
    if pattern.endswith("[]"):
        return pattern[:-2], "[]"
    parent, _, last = pattern.rpartition(".")
    return parent, last


def _containers(document: dict[str, Any], pattern: str) -> Iterator[tuple[str, Any]]:
    """The values at ``pattern`` (concrete path, value); absent or null steps end the walk (their key reports it)."""
    if not pattern:
        yield "", document
        return
    parent, last = _split(pattern)
    for where, container in _containers(document, parent):
        if last == "[]" and isinstance(container, list):
            for index, value in enumerate(container):
                if value is not None:
                    yield f"{where}[{index}]", value
        elif last == "*" and isinstance(container, dict):
            for name, value in container.items():
                if value is not None:
                    yield _join(where, name), value
        elif isinstance(container, dict) and container.get(last) is not None:
            yield _join(where, last), container[last]


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name
