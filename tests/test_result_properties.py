"""Property tests: whatever a result file holds, reading, reporting and gating raise a UsageError or nothing.

Valid documents (tests/data/result-v1.json from a real run, tests/data/result-v2.json
by hand) are mutated by hypothesis: a key deleted anywhere, a value replaced by
another JSON type, NaN, a huge integer or random text, a list cut short, and,
to reach code the validator lets through, values replaced by others of the same
type (0, the largest number allowed, a tiny float, an empty list). Arbitrary
bytes stand for a file that is not JSON at all.
"""

from __future__ import annotations

import base64
import copy
import json
import math
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asgibench.errors import UsageError
from asgibench.gate import GateConfig, run_gate
from asgibench.gate.metrics import parse_allowances, parse_metrics
from asgibench.report import build_report, load_sources, render_html, render_markdown
from asgibench.results.schema import load_result, result_from
from asgibench.results.validate import LARGEST_COUNT, LARGEST_NUMBER

DATA = Path(__file__).parent / "data"
GOLDEN = {name: json.loads((DATA / f"result-{name}.json").read_text()) for name in ("v1", "v2")}
# Every metric the gate knows, so each reads its keys (named ones read the per-name entries of version 2).
GATE_METRICS = ["p50,p99,p999,max,mean,rps,error_rate,service_p99", "p99{name:fast},rps{name:slow}"]
SETTINGS = settings(
    max_examples=200,
    deadline=None,
    database=None,  # no .hypothesis directory left in the checkout
    suppress_health_check=[HealthCheck.too_slow],
)

Step = str | int
Path_ = tuple[Step, ...]

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([-1, 10**400, -(10**400), 2**63, 2**64, LARGEST_COUNT + 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -0.0, 5e-324]),
    st.text(max_size=20),
    st.sampled_from(["", "HISTFAAA", "HISTFAAAAB", "not base64!", "[[load.stages]]", "1e999", "NaN"]),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=6,
)


def same_type(value: Any) -> st.SearchStrategy[Any]:
    """Another value of the kind ``value`` is, within what the validator accepts: reaches the readers' arithmetic."""
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return st.one_of(st.sampled_from([0, 1, LARGEST_COUNT]), st.integers(0, LARGEST_COUNT))
    if isinstance(value, float):
        edges = st.sampled_from([0.0, 5e-324, 1e-300, 1e-9, LARGEST_NUMBER, 0.999999])
        return st.one_of(edges, st.floats(0, LARGEST_NUMBER))
    if isinstance(value, str):
        return st.one_of(st.text(max_size=30), st.sampled_from(["", "open", "closed", "[bold]x[/]", "</script>"]))
    if isinstance(value, list):
        return st.integers(0, len(value)).map(lambda keep: value[:keep])
    return st.just(value)


def paths_of(value: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    """The path of every value inside ``value`` (not ``value`` itself)."""
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for step, child in children:
        yield (*prefix, step)
        yield from paths_of(child, (*prefix, step))


def parent_of(document: Any, path: Path_) -> Any:
    for step in path[:-1]:
        document = document[step]
    return document


@st.composite
def mutated(draw: st.DrawFn, *, preserve_types: bool) -> dict[str, Any]:
    """A golden document with one to three mutations."""
    document: dict[str, Any] = copy.deepcopy(GOLDEN[draw(st.sampled_from(["v1", "v2"]))])
    # hypothesis favours the first elements of a sampled_from; a seeded Random picks a path evenly.
    chooser = draw(st.randoms(use_true_random=False))
    for _ in range(draw(st.integers(1, 3))):
        paths = [path for path in paths_of(document) if path != ("schema",)]
        path = chooser.choice(paths)
        parent, step = parent_of(document, path), path[-1]
        operation = draw(st.sampled_from(["replace", "null"] if preserve_types else ["delete", "replace", "any"]))
        if operation == "delete":
            del parent[step]
        elif operation == "null":
            parent[step] = None
        elif operation == "replace":
            parent[step] = draw(same_type(parent[step]))
        else:
            parent[step] = draw(JSON_VALUES)
    return document


HISTOGRAM_PLACES = (("histograms", "latency"), ("histograms", "service_time"), ("histograms", "requests", 1, "latency"))


@st.composite
def with_mutated_histogram(draw: st.DrawFn) -> dict[str, Any]:
    """The version 2 golden with one histogram's inflated payload changed (bytes replaced, cut) and re-encoded.

    It reaches hdrh's decoder (and what reads a decoded histogram) with well-formed base64 and zlib.
    """
    document: dict[str, Any] = copy.deepcopy(GOLDEN["v2"])
    *parents, last = draw(st.sampled_from(HISTOGRAM_PLACES))
    parent = parent_of(document, (*parents, last))
    raw = base64.b64decode(parent[last])
    payload = bytearray(zlib.decompress(raw[8:]))
    for _ in range(draw(st.integers(1, 4))):
        payload[draw(st.integers(0, len(payload) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        del payload[draw(st.integers(0, len(payload))) :]
    compressed = zlib.compress(bytes(payload))
    cookie = struct.unpack(">I", raw[:4])[0]
    parent[last] = base64.b64encode(struct.pack(">II", cookie, len(compressed)) + compressed).decode("ascii")
    return document


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("properties")
    (directory / "good.json").write_text(json.dumps(GOLDEN["v2"]))
    return directory


def read_report_and_gate(path: Path, good: Path) -> None:
    """Everything that reads a result file: report (model, Markdown, HTML) and gate (every metric), each way round."""
    report = build_report(load_sources([path, good]))
    render_markdown(report, report_directory=path.parent, title="t")
    render_html(report, report_directory=path.parent, title="t")
    for texts in GATE_METRICS:
        metrics = parse_metrics([texts])
        allowances = parse_allowances([], metrics)
        # One run a side, then repeats (the t interval over runs only exists with three runs or more).
        for baseline, current in (((path,), (good,)), ((good, good), (path, path))):
            run_gate(GateConfig(baseline, current, metrics, allowances, allow_partial=True))


def only_usage_errors(path: Path, good: Path) -> None:
    try:
        read_report_and_gate(path, good)
    except UsageError:
        pass


@SETTINGS
@given(document=mutated(preserve_types=False))
def test_a_mutated_document_is_refused_or_read_without_a_crash(document: dict[str, Any], workspace: Path) -> None:
    try:
        result_from(copy.deepcopy(document), "mutated.json")
    except UsageError as error:
        assert "mutated.json" in error.message
    path = workspace / "mutated.json"
    path.write_text(json.dumps(document))  # NaN and Infinity written as Python writes them
    only_usage_errors(path, workspace / "good.json")


@SETTINGS
@given(document=mutated(preserve_types=True))
def test_values_the_validator_accepts_never_crash_report_or_gate(document: dict[str, Any], workspace: Path) -> None:
    path = workspace / "accepted.json"
    path.write_text(json.dumps(document))
    only_usage_errors(path, workspace / "good.json")


@settings(SETTINGS, max_examples=60)  # most damaged payloads still decode, so each example runs everything
@given(document=with_mutated_histogram())
def test_a_damaged_histogram_is_refused_or_read_without_a_crash(document: dict[str, Any], workspace: Path) -> None:
    path = workspace / "histogram.json"
    path.write_text(json.dumps(document))
    only_usage_errors(path, workspace / "good.json")


@SETTINGS
@given(content=st.binary(max_size=400))
def test_arbitrary_bytes_are_a_usage_error(content: bytes, workspace: Path) -> None:
    path = workspace / "bytes.json"
    path.write_bytes(content)
    with pytest.raises(UsageError, match="bytes.json"):
        load_result(path)
    with pytest.raises(UsageError, match="bytes.json"):
        read_report_and_gate(path, workspace / "good.json")


@SETTINGS
@given(document=JSON_VALUES)
def test_arbitrary_json_is_a_usage_error(document: Any, workspace: Path) -> None:
    path = workspace / "other.json"
    path.write_text(json.dumps(document))
    with pytest.raises(UsageError, match="other.json"):
        load_result(path)
    with pytest.raises(UsageError, match="other.json"):
        read_report_and_gate(path, workspace / "good.json")


@SETTINGS
@given(document=mutated(preserve_types=False))
def test_what_result_from_accepts_is_in_the_version_2_layout(document: dict[str, Any]) -> None:
    try:
        read = result_from(document, "mutated.json")
    except UsageError:
        return
    assert read["schema"] == "asgibench.result/2"
    # Reading twice gives the same document: a migrated file is a valid version 2 file.
    assert result_from(copy.deepcopy(read), "again.json") == read
