"""The load generator's pure parts: parsing, schedules, thresholds, request bytes, health, settings."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from asgibench.errors import UsageError
from asgibench.load.config import RequestSpec, Stage
from asgibench.load.health import Spread, judge
from asgibench.load.http1 import build_request, connection_error, request_cycle
from asgibench.load.parsing import parse_duration, parse_header, parse_target
from asgibench.load.recorder import HIGHEST_US, LOWEST_US, new_histogram, record_counts
from asgibench.load.schedule import ArrivalSchedule, share, vus_at
from asgibench.load.settings import LoadFlags, resolve
from asgibench.load.thresholds import evaluate, parse_threshold
from asgibench.results import load_result
from tests.resultkit import histogram_of, latency_of, result_document


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30.0), ("1m30s", 90.0), ("500ms", 0.5), ("2h", 7200.0), ("1.5", 1.5), ("250us", 0.00025)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "fast", "10s5", "-1s", "s", "5 minutes"])
def test_bad_durations_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_targets() -> None:
    target = parse_target("http://127.0.0.1:8000/items?page=2")
    assert (target.scheme, target.host, target.port, target.path) == ("http", "127.0.0.1", 8000, "/items?page=2")
    assert target.host_header == "127.0.0.1:8000"
    assert parse_target("https://example.test/").port == 443
    assert parse_target("http://[::1]:9000").host_header == "[::1]:9000"
    unix = parse_target("unix:/tmp/app.sock:/health")
    assert (unix.unix_path, unix.path) == ("/tmp/app.sock", "/health")
    websocket = parse_target("wss://example.test/chat")
    assert (websocket.scheme, websocket.port, websocket.secure) == ("wss", 443, True)
    for bad in ("127.0.0.1:8000", "ftp://host/", "ws://:80/", "http://:80/", "unix:"):
        with pytest.raises(ValueError):
            parse_target(bad)


def test_headers() -> None:
    assert parse_header("Authorization: Bearer x:y") == ("Authorization", "Bearer x:y")
    for bad in ("no colon", ": value", "bad name: x"):
        with pytest.raises(ValueError):
            parse_header(bad)


def test_constant_rate_schedule_is_evenly_spaced() -> None:
    schedule = ArrivalSchedule.build(rate=100, duration=2)
    times = [schedule.time_of(index) for index in range(200)]
    assert times[0] == 0.0 and times[1] == pytest.approx(0.01) and times[199] == pytest.approx(1.99)
    assert schedule.time_of(200) is None


def test_ramp_sends_the_area_under_the_rate_curve() -> None:
    """0 -> 100 req/s over 10 s is 500 requests, denser at the end; then 100 req/s for 5 s is 500 more."""
    schedule = ArrivalSchedule.build(rate=0, duration=0, stages=(Stage(10, 100), Stage(5, 100)))
    count = 0
    while schedule.time_of(count) is not None:
        count += 1
    assert count == 1000
    first_half = sum(1 for index in range(count) if (schedule.time_of(index) or 0) < 5)
    assert first_half == 125  # the count by t grows as t^2: a quarter of the ramp's 500
    assert schedule.rate_at(7.5) == pytest.approx(75)


def test_warmup_comes_first_at_the_starting_rate() -> None:
    schedule = ArrivalSchedule.build(rate=50, duration=1, warmup=2)
    assert schedule.time_of(99) == pytest.approx(1.98)
    assert schedule.time_of(100) == pytest.approx(2.0)
    assert schedule.time_of(150) is None


def test_workers_split_a_schedule_exactly() -> None:
    """Worker k of W takes indexes k, k+W, ...: together they send every request once, on time."""
    schedule = ArrivalSchedule.build(rate=300, duration=1)
    whole = [schedule.time_of(index) for index in range(300)]
    parts = []
    for worker in range(3):
        own = ArrivalSchedule.build(rate=300, duration=1)
        index = worker
        while (due := own.time_of(index)) is not None:
            parts.append(due)
            index += 3
    assert sorted(parts) == whole
    assert [share(10, 3, worker) for worker in range(3)] == [4, 3, 3]


def test_vus_ramp() -> None:
    stages = (Stage(10, 100), Stage(10, 0))
    assert vus_at(0, vus=0, stages=stages) == 0
    assert vus_at(5, vus=0, stages=stages) == 50
    assert vus_at(15, vus=0, stages=stages) == 50
    assert vus_at(25, vus=0, stages=stages) == 0
    assert vus_at(1, vus=4, stages=(), warmup=2) == 4


def test_thresholds_parse_and_judge() -> None:
    summary = result_document(model="open", rate=1200.0, rps=1200.0, duration_s=10.0, errors={"timeout": 3})["summary"]
    assert summary["requests"] == 12003 and summary["errors"]["total"] == 3  # an error rate of 0.025%
    summary["latency_ms"] |= {"p50": 2.0, "p99": 40.0, "p999": 180.0, "max": 300.0, "percentiles": {"99.9": 180.0}}
    summary["service_time_ms"] |= {"p99": 4.0}
    texts = ["p99<50ms", "p99.9<200ms", "error_rate<0.1%", "rps>1000", "max<0.2s", "service_p99<=4ms", "errors<3"]
    verdicts = evaluate(tuple(parse_threshold(text) for text in texts), summary)
    assert [verdict.passed for verdict in verdicts] == [True, True, True, True, False, True, False]
    assert verdicts[1].observed == 180.0 and verdicts[4].observed == 300.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p99 50ms", "is not a threshold"),
        ("p99<50", "give the latency a unit"),
        ("latency<5ms", "unknown metric"),
        ("rps>10ms", "plain number"),
        ("error_rate<1ms", "percentage"),
    ],
)
def test_bad_thresholds_say_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_threshold(text)


def test_request_bytes() -> None:
    target = parse_target("http://127.0.0.1:8000/base")
    get = build_request(RequestSpec(), target)
    assert get.startswith(b"GET /base HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: asgibench/")
    assert get.endswith(b"\r\n\r\n") and b"Content-Length" not in get
    post = build_request(RequestSpec(method="POST", path="/items", body=b"{}", headers=(("X-A", "1"),)), target)
    assert post.startswith(b"POST /items HTTP/1.1\r\n") and b"X-A: 1\r\n" in post
    assert post.endswith(b"Content-Length: 2\r\n\r\n{}")


def test_weighted_cycle_keeps_proportions() -> None:
    cycle = request_cycle([RequestSpec(weight=8), RequestSpec(weight=2)])
    assert len(cycle) == 1000 and cycle.count(1) == 200
    assert cycle != sorted(cycle)  # shuffled: the rare request is spread, not bunched at the end


def test_error_kinds() -> None:
    assert connection_error(ConnectionRefusedError()) == "refused"
    assert connection_error(ConnectionResetError()) == "reset"
    assert connection_error(None) == "reset"
    assert connection_error(TimeoutError()) == "timeout"


def test_health_flags_a_busy_or_late_generator() -> None:
    calm = judge([2.0], 10.0, loop_lag=Spread(0.1, 1.0, 3.0), send_lateness=None)
    assert not calm.bottleneck and calm.cpu_fractions == (0.2,)
    busy = judge([9.5, 2.0], 10.0, loop_lag=None, send_lateness=None)
    assert busy.bottleneck and "95%" in busy.reasons[0]
    late = judge([1.0], 10.0, loop_lag=None, send_lateness=Spread(5.0, 40.0, 90.0), late_writes=50, requests=1000)
    assert late.bottleneck and "5.0% of the requests were written" in late.reasons[0]
    # One stall of the loop (opening many connections at once) makes a few requests late: not a bottleneck.
    stalled = judge([1.0], 10.0, loop_lag=None, send_lateness=Spread(5.0, 40.0, 90.0), late_writes=5, requests=1000)
    assert not stalled.bottleneck


def test_flags_win_over_the_scenario(tmp_path: Path) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        'target = "http://127.0.0.1:9000/"\nthresholds = ["p99<5ms"]\n'
        '[load]\nrate = 50\nduration = "3s"\n'
        '[[requests]]\npath = "/a"\nweight = 3\n[[requests]]\nmethod = "POST"\npath = "/b"\njson = {x = 1}\n'
    )
    config = resolve(LoadFlags(scenario=scenario, duration="1s", thresholds=["rps>1"]), tmp_path)
    assert config.model == "open" and config.rate == 50 and config.duration == 1.0
    assert config.target.port == 9000 and "s.toml" in config.target_source
    assert [spec.weight for spec in config.requests] == [3.0, 1.0]
    assert config.requests[1].body == b'{"x": 1}' and ("Content-Type", "application/json") in config.requests[1].headers
    assert config.thresholds == ("p99<5ms", "rps>1")
    closed = resolve(LoadFlags(scenario=scenario, vus=4), tmp_path)
    assert closed.model == "closed" and closed.vus == 4


def test_target_from_pyproject_then_default(tmp_path: Path) -> None:
    assert resolve(LoadFlags(), tmp_path).target.url == "http://127.0.0.1:8000/"
    (tmp_path / "pyproject.toml").write_text('[tool.asgibench]\ntarget = "http://127.0.0.1:8123/health"\n')
    config = resolve(LoadFlags(), tmp_path)
    assert config.target.path == "/health" and "pyproject.toml" in config.target_source


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (LoadFlags(vus=2, rate=5), "not both"),
        (LoadFlags(duration="soon"), "--duration"),
        (LoadFlags(workers="many"), "--workers"),
        (LoadFlags(rate=10, connections=9, max_connections=4), "--connections 9"),
        (LoadFlags(thresholds=["p99<5"]), "--threshold"),
        (LoadFlags(method="TRACE"), "--method"),
        (LoadFlags(http="3"), "--http"),
        (LoadFlags(streams=4), "--streams"),
        (LoadFlags(binary=True), "--binary"),
        (LoadFlags(hold_target="http://127.0.0.1:1/"), "--hold-target"),
        (LoadFlags(target="ws://127.0.0.1:1/", http="2"), "--http 2"),
        (LoadFlags(target="ws://127.0.0.1:1/", method="POST"), "--method"),
        (LoadFlags(target="localhost:8000"), "TARGET"),
    ],
)
def test_bad_flags_name_the_flag(flags: LoadFlags, message: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=message):
        resolve(flags, tmp_path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[load]\nrate = 5\nduraton = "1s"\n', r"s\.toml:3: load\.duraton: unknown key"),
        ('[load]\nrate = "fast"\n', r"s\.toml:2: load\.rate: expected a number"),
        ('[load]\nmodel = "burst"\n', r"s\.toml:2: load\.model"),
        ('[[requests]]\npath = "/a"\n[[requests]]\nmethod = "TRACE"\n', r"s\.toml:4: requests\[1\]\.method"),
        ('[[requests]]\npath = "a"\n', r"s\.toml:2: requests\[0\]\.path: 'a' must start with '/'"),
        ('[[load.stages]]\nduration = "5s"\n', r"requests|load\.stages\[0\]\.target"),
        ('thresholds = ["p99 < fast"]\n', r"s\.toml:1: thresholds"),
        ("[load\n", r"s\.toml: not valid TOML"),
        ('[[requests]]\nbody_file = "missing.bin"\n', r"requests\[0\]\.body_file: Cannot read"),
        ('target = "ws://h/"\n[[messages]]\nkind = "json"\n', r"s\.toml:3: messages\[0\]\.kind"),
        ('target = "ws://h/"\n[[messages]]\nsize = 8\n', r"s\.toml:3: messages\[0\]\.size"),
        ('[[messages]]\nsize = 64\n[[requests]]\npath = "/"\n', r"messages.*not both"),
        ("[[messages]]\nsize = 64\n", r"\[\[messages\]\] are for a WebSocket target"),
        ('[load]\nhttp = "3"\n', r"s\.toml:2: load\.http"),
        ("[load]\nstreams = 0\n", r"s\.toml:2: load\.streams"),
        ('[[requests]]\nstream = "yes"\n', r"requests\[0\]\.stream: expected true or false"),
    ],
)
def test_bad_scenarios_name_file_line_and_key(content: str, message: str, tmp_path: Path) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text(content)
    with pytest.raises(UsageError, match=message):
        resolve(LoadFlags(scenario=scenario), tmp_path)


def test_shipped_scenarios_are_valid(tmp_path: Path) -> None:
    shipped = sorted(Path(__file__).parent.parent.joinpath("scenarios").glob("*.toml"))
    assert shipped, "scenarios/ ships examples"
    for path in shipped:
        resolve(LoadFlags(scenario=path), tmp_path)


def test_result_files_of_unknown_versions_fail_clearly(tmp_path: Path) -> None:
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({"schema": "asgibench.result/9"}))
    with pytest.raises(UsageError, match=r"newer\.json has schema 'asgibench.result/9'"):
        load_result(newer)
    broken = tmp_path / "broken.json"
    broken.write_text("{\n  oops")
    with pytest.raises(UsageError, match=r"broken\.json:2: not valid JSON"):
        load_result(broken)
    other = tmp_path / "other.json"
    other.write_text("[1, 2]")
    with pytest.raises(UsageError, match="not an asgibench result file"):
        load_result(other)


def test_thresholds_narrowed_to_a_name_or_a_status() -> None:
    by_name = parse_threshold("p99{name:Login Page}<80ms")
    assert (by_name.name, by_name.status, by_name.limit) == ("Login Page", None, 80.0)
    by_status = parse_threshold("p99{status:503}<10ms")
    assert (by_status.name, by_status.status) == (None, "503")
    summary = result_document()["summary"]
    statuses = [{"status": "503", "responses": 3, "latency_ms": latency_of(histogram_of([20_000] * 3))}]
    assert [verdict.passed for verdict in evaluate((by_status,), summary, (), statuses)] == [False]
    assert [verdict.passed for verdict in evaluate((by_status,), summary, (), ())] == [True]  # no 503 at all
    for bad in ("rps{status:200}>5", "p99{status:2xx}<5ms", "service_p99{status:200}<5ms", "p99{name:}<5ms"):
        with pytest.raises(ValueError):
            parse_threshold(bad)


def test_recording_by_counts_fills_a_histogram_as_record_value_does() -> None:
    """record_counts looks each value's position up instead of computing it: the histogram must be the same."""
    rng = random.Random(7)
    for _ in range(40):
        values = [
            rng.choice([0, 1, 999, 1000, 1001, rng.randint(1, 10 ** rng.randint(1, 10)), HIGHEST_US + 5])
            for _ in range(rng.randint(1, 400))
        ]
        expected, recorded = new_histogram(), new_histogram()
        for value, count in Counter(values).items():
            expected.record_value(min(max(value, LOWEST_US), HIGHEST_US), count)
        record_counts(recorded, Counter(values))
        assert recorded.encode() == expected.encode()
        assert (recorded.total_count, recorded.get_min_value(), recorded.get_max_value()) == (
            expected.total_count, expected.get_min_value(), expected.get_max_value(),
        )  # fmt: skip
