"""No input makes ``load`` run without end, grow without bound, or end in a traceback.

Flags and scenario values are checked (finite, within limits), the pure
counting parts are checked against brute force, and hypothesis writes random
scenario files for the reader: it returns a config or raises a UsageError,
nothing else.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asgibench.errors import UsageError
from asgibench.load.config import RequestSpec, Stage
from asgibench.load.expect import Expectation, parse_status
from asgibench.load.http1 import request_cycle
from asgibench.load.limits import ConnectionLimits
from asgibench.load.mix import LocalMix
from asgibench.load.parsing import parse_duration
from asgibench.load.schedule import ArrivalSchedule, local_count
from asgibench.load.settings import LoadFlags, resolve
from tests.loadkit import asgibench

MACHINE = ConnectionLimits(files_per_process=20_000, ports=28_232)


def config_of(flags: LoadFlags, directory: Path):  # type: ignore[no-untyped-def]
    return resolve(flags, directory, connection_limits=MACHINE)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (LoadFlags(rate=math.nan), "--rate nan: expected a finite number"),
        (LoadFlags(rate=math.inf), "--rate inf: expected a finite number"),
        (LoadFlags(rate=-5.0), "--rate -5.0: expected more than 0"),
        (LoadFlags(rate=1e12), "at most"),
        (LoadFlags(duration="inf"), "--duration 'inf' is not a duration"),
        (LoadFlags(duration="1e308"), "--duration '1e308': at most 7 days"),
        (LoadFlags(duration="nan"), "--duration"),
        (LoadFlags(timeout="2h"), "--timeout '2h': at most 1 hour"),
        (LoadFlags(drain="-1"), "--drain"),
        (LoadFlags(think="-1"), "--think"),
        (LoadFlags(vus=0), "--vus 0"),
        (LoadFlags(rate=10, connections=-5), "--connections -5: expected at least 0"),
        (LoadFlags(rate=10, max_connections=0), "--max-connections 0"),
        (LoadFlags(workers="0"), "--workers 0"),
        (LoadFlags(headers=["X-A: €"]), "--header the value of header 'X-A' holds '€'"),
        (LoadFlags(target="http://127.0.0.1:8000/caf€"), r"percent-encode it, as in '/caf%E2%82%AC'"),
        (LoadFlags(paths=["/a b"]), "--path"),
        (LoadFlags(expect_status="2xx,700"), "--expect-status '700' is not a status code"),
        (LoadFlags(thresholds=["p99{name:nope}<5ms"]), "no request is named 'nope'"),
    ],
)
def test_bad_numbers_and_text_are_refused_naming_the_flag(flags: LoadFlags, message: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        config_of(flags, tmp_path)


def test_vus_and_connections_must_fit_the_machine(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"--vus 1,000,000: this machine can hold at most 19,936") as raised:
        resolve(LoadFlags(vus=1_000_000), tmp_path, connection_limits=ConnectionLimits(20_000, None))
    assert "open files per process" in raised.value.message and raised.value.hint and "--workers" in raised.value.hint
    with pytest.raises(UsageError, match=r"at most 27,976 virtual users .*local ports"):
        config_of(LoadFlags(vus=100_000, workers="8"), tmp_path)
    with pytest.raises(UsageError, match=r"--max-connections \(default 1024\) 1,024"):
        resolve(LoadFlags(rate=10), tmp_path, connection_limits=ConnectionLimits(1_000, 28_232))
    assert config_of(LoadFlags(vus=10_000), tmp_path).vus == 10_000


def test_a_million_vus_is_refused_at_once_by_the_cli() -> None:
    run = asgibench("load", "http://127.0.0.1:9/", "--vus", "1000000", "-d", "1s", timeout=30)
    assert run.returncode == 2 and "this machine can hold at most" in " ".join(run.stderr.split())
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[[requests]]\nweight = inf\n", r"requests\[0\]\.weight: expected a finite number"),
        ("[[requests]]\nweight = nan\n", r"requests\[0\]\.weight: expected a finite number"),
        ("[[requests]]\nweight = -1\n", r"requests\[0\]\.weight: expected more than 0"),
        ("[[requests]]\njson = {when = 1979-05-27T07:32:00Z}\n", r"requests\[0\]\.json: cannot be written as JSON"),
        ("[load]\nstages = [1, 2]\n", r"s\.toml:2: load\.stages: expected \[\[load\.stages\]\] tables"),
        ("[load]\nduration = nan\n", r"load\.duration: expected a finite number"),
        ("[load]\nduration = 1e308\n", r"load\.duration: expected at most"),
        ('[load]\nthink = "-1s"\n', r"load\.think"),
        ("[load]\nthink = -1\n", r"load\.think: expected at least 0"),
        ("[load]\nconnections = -5\n", r"load\.connections: expected at least 0"),
        ("[load]\nrate = nan\n", r"load\.rate: expected a finite number"),
        ('[[load.stages]]\nduration = "1s"\ntarget = inf\n', r"load\.stages\[0\]\.target: expected a finite"),
        ('[[requests]]\nname = "a"\n[[requests]]\nname = "a"\n', r"requests\[1\]\.name: 'a' names an earlier"),
        ('[[requests]]\nheaders = {X-A = "€"}\n', r"requests\[0\]\.headers: the value of header 'X-A' holds"),
        ('[[requests]]\nexpect = {status = ["6xx"]}\n', r"requests\[0\]\.expect\.status: '6xx' is not a status"),
        ('[[requests]]\nexpect = {colour = "red"}\n', r"requests\[0\]\.expect\.colour: unknown key"),
        ("[[requests]]\nbody_file = 3\n", r"requests\[0\]\.body_file: expected a file path"),
    ],
)
def test_bad_scenario_values_name_the_key(content: str, message: str, tmp_path: Path) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text(content)
    with pytest.raises(UsageError, match=message):
        config_of(LoadFlags(scenario=scenario), tmp_path)


def test_scenario_files_that_are_not_text_or_never_end_are_refused(tmp_path: Path) -> None:
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(UsageError, match=r"latin\.toml' is not UTF-8 text: the byte at offset 11 \(0xe9\)"):
        config_of(LoadFlags(scenario=latin), tmp_path)
    with pytest.raises(UsageError, match=r"--scenario '/dev/zero' is larger than 16 MiB"):
        config_of(LoadFlags(scenario=Path("/dev/zero")), tmp_path)
    with pytest.raises(UsageError, match=r"--body-file '/dev/zero' is larger than 256 MiB"):
        config_of(LoadFlags(body_file=Path("/dev/zero")), tmp_path)


def test_messages_with_brackets_are_printed_as_they_are(tmp_path: Path) -> None:
    """Rich markup must not eat [x] in a file name or [[load.stages]] in a message."""
    scenario = tmp_path / "[x].toml"
    scenario.write_text("[load]\nstages = 3\n")
    run = asgibench("load", "--scenario", str(scenario))
    text = " ".join(run.stderr.split())
    assert run.returncode == 2 and "[x].toml" in text and "[[load.stages]]" in text, run.stderr


def test_checks_and_paths_from_flags(tmp_path: Path) -> None:
    config = config_of(
        LoadFlags(paths=["/a", "POST:/b"], expect_status="200,404", expect_body="ok", expect_headers=["X-A: 1"]),
        tmp_path,
    )
    assert [(spec.method, spec.path, spec.label) for spec in config.requests] == [
        ("GET", "/a", "GET /a"),
        ("POST", "/b", "POST /b"),
    ]
    expect = config.requests[0].expect
    assert expect.codes == frozenset({200, 404}) and expect.body_contains == "ok" and expect.headers == (("x-a", "1"),)
    assert expect.check_names() == ["status is 200 or 404", "body contains 'ok'", "header x-a contains '1'"]


def test_expectations() -> None:
    assert parse_status("2xx") == (200, 299) and parse_status("204") == (204, 204)
    assert parse_status("200-204") == (200, 204)
    for bad in ("99", "6xx", "204-200", "ok", ""):
        with pytest.raises(ValueError):
            parse_status(bad)
    default = Expectation()
    assert 200 in default.codes and 399 in default.codes and 404 not in default.codes
    checking = Expectation(body_contains="ok", headers=(("content-type", "json"),))
    assert checking.failed_checks([(b"Content-Type", b"application/json")], b"all ok") == []
    assert checking.failed_checks([(b"Content-Type", b"text/plain")], b"nope") == [1, 2]


@settings(max_examples=200, deadline=None)
@given(
    rate=st.floats(0.5, 500),
    duration=st.floats(0.1, 5),
    warmup=st.floats(0, 2),
    ramp=st.lists(st.tuples(st.floats(0.1, 2), st.floats(0, 300)), max_size=3),
    at=st.floats(0, 10),
)
def test_count_before_agrees_with_every_due_time(
    rate: float, duration: float, warmup: float, ramp: list[tuple[float, float]], at: float
) -> None:
    """The open model counts due requests in O(1); the count must match time_of exactly, at any boundary."""
    stages = [Stage(length, target) for length, target in ramp]
    schedule = ArrivalSchedule.build(rate=rate, duration=duration, stages=stages, warmup=warmup)
    times = []
    index = 0
    while (due := schedule.time_of(index)) is not None:
        times.append(due)
        index += 1
    for seconds in (at, *times[:50], *(times[-3:] if times else [])):
        assert schedule.count_before(seconds) == sum(1 for due in times if due < seconds)


@given(total=st.integers(0, 500), workers=st.integers(1, 9))
def test_workers_split_every_index(total: int, workers: int) -> None:
    assert sum(local_count(total, worker, workers) for worker in range(workers)) == total


@settings(max_examples=100, deadline=None)
@given(
    weights=st.lists(st.floats(0.1, 50), min_size=1, max_size=5),
    workers=st.integers(1, 7),
    first=st.integers(0, 3000),
    length=st.integers(0, 5000),
)
def test_per_name_counts_over_any_range_match_counting_one_by_one(
    weights: list[float], workers: int, first: int, length: int
) -> None:
    specs = [RequestSpec(weight=weight, name=str(index)) for index, weight in enumerate(weights)]
    cycle = request_cycle(specs)
    for worker in range(workers):
        mix = LocalMix(cycle, len(specs), worker=worker, workers=workers)
        expected = [0] * len(specs)
        for local in range(first, first + length):
            expected[cycle[(worker + local * workers) % len(cycle)]] += 1
        assert mix.counts(first, first + length) == expected


# Random scenario files: tables and keys the reader knows, with values of any TOML type.
_VALUES = st.one_of(
    st.integers(-(2**63), 2**63 - 1).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda value: repr(value).lower()),
    st.sampled_from(['"30s"', '"fast"', '"1e308"', '"-1s"', '""', '"/a"', '"GET"', '"2xx"', "true", "1979-05-27",
                     "07:32:00", "1979-05-27T07:32:00Z", "[]", "[1, 2]", '["2xx", 404]', "{}", '{a = "b"}',
                     '{status = [200]}', '{x = 1979-05-27}', '"€"', "0", "-1", "nan", "inf", "-inf"]),
)  # fmt: skip
_KEYS = {
    "load": ["model", "vus", "rate", "duration", "warmup", "timeout", "drain", "think", "connections",
             "max_connections", "workers", "stages", "nonsense"],
    "requests": ["name", "method", "path", "weight", "headers", "body", "body_file", "json", "expect", "nonsense"],
    "load.stages": ["duration", "target", "nonsense"],
}  # fmt: skip


@st.composite
def scenario_text(draw: st.DrawFn) -> str:
    lines = []
    if draw(st.booleans()):
        lines.append(f"target = {draw(_VALUES)}")
    if draw(st.booleans()):
        thresholds = draw(st.sampled_from(["[]", "[1]", '["p99<5ms"]', '["p99<x"]', '["p99{name:a}<1ms"]']))
        lines.append(f"thresholds = {thresholds}")
    for table, keys in _KEYS.items():
        header = "[load]" if table == "load" else f"[[{table}]]"
        for _ in range(draw(st.integers(0, 2))):
            lines.append(header)
            for key in draw(st.lists(st.sampled_from(keys), max_size=4, unique=True)):
                lines.append(f"{key} = {draw(_VALUES)}")
    return "\n".join(lines) + "\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=scenario_text())
def test_random_scenario_files_give_a_config_or_a_usage_error(text: str, tmp_path: Path) -> None:
    scenario = tmp_path / "random.toml"
    scenario.write_text(text)
    try:
        config = config_of(LoadFlags(scenario=scenario), tmp_path)
    except UsageError:
        return
    for number in (config.rate, config.duration, config.warmup, config.timeout, config.drain_seconds, config.think):
        assert math.isfinite(number) and number >= 0
    assert all(math.isfinite(spec.weight) and spec.weight > 0 for spec in config.requests)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20))
def test_any_duration_text_is_a_finite_duration_or_a_value_error(text: str) -> None:
    try:
        seconds = parse_duration(text)
    except ValueError:
        return
    assert math.isfinite(seconds) and seconds >= 0
