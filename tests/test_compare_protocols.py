"""``asgibench compare`` beyond HTTP/1.1: WebSocket, HTTP/2, streamed responses and held streams.

Real servers on loopback, one short run each: a server that cannot speak the comparison's protocol is not
launched but listed as unsupported, with its plugin's reason, in the terminal, comparison.json and both
reports; it never makes the exit code 3, and when no server can take the load the exit code is 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from asgibench.compare.protocols import needed, unsupported_reason
from asgibench.launch.measure import aimed_at
from asgibench.load.config import LoadConfig
from asgibench.load.parsing import parse_target
from asgibench.report.describe import load_line
from asgibench.results.comparison import comparison_from
from asgibench.results.figures import rate
from asgibench.servers import get_plugin
from tests.loadkit import asgibench, read

APP = "reference_apps.raw_app:app"
TWIN = "reference_apps.wsgi_app:app"
SHORT = ("--duration", "1s", "--warmup", "0s", "--repeat", "1", "--vus", "5")


def compare(out: Path, *args: str) -> tuple[int, str, dict[str, Any]]:
    """Run ``compare`` into ``out``; its exit code, its output and comparison.json."""
    done = asgibench("compare", APP, *args, *SHORT, "--out", str(out), timeout=180)
    output = done.stdout + done.stderr
    assert (out / "comparison.json").exists(), output
    return done.returncode, output, read(out / "comparison.json")


def servers_of(comparison: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {server["name"]: server for server in comparison["servers"]}


def run_of(out: Path, server: dict[str, Any]) -> dict[str, Any]:
    assert server["runs"], server
    return read(out / server["runs"][0])


# --- what each server serves ----------------------------------------------------------------------------------


def config(target: str, **more: Any) -> LoadConfig:
    protocol = "websocket" if target.startswith("ws") else more.pop("protocol", "http/1.1")
    return LoadConfig(target=parse_target(target), protocol=protocol, **more)


def test_each_plugin_says_what_it_serves_and_why_not() -> None:
    websocket, h2 = config("ws://127.0.0.1:8000/ws"), config("http://127.0.0.1:8000/", protocol="h2")
    serving = {
        name: tuple(unsupported_reason(get_plugin(name), load) is None for load in (websocket, h2))
        for name in ("uvicorn", "hypercorn", "daphne", "gunicorn", "gunicorn-sync", "granian")
    }
    assert serving == {
        "uvicorn": (True, False),
        "hypercorn": (True, True),
        "daphne": (True, False),
        "gunicorn": (True, False),
        "gunicorn-sync": (False, False),
        "granian": (True, True),
    }
    assert "no HTTP/2" in (get_plugin("uvicorn").unsupported("h2") or "")
    assert "TLS" in (get_plugin("daphne").unsupported("h2") or "")
    assert "WSGI has no WebSocket" in (get_plugin("gunicorn-sync").unsupported("websocket") or "")


def test_held_streams_need_their_own_protocol_too() -> None:
    sse = parse_target("http://127.0.0.1:8000/sse")
    websockets = parse_target("ws://127.0.0.1:8000/ws")
    assert needed(config("http://127.0.0.1:8000/", hold=5, hold_target=sse)) == ("http/1.1",)
    assert needed(config("http://127.0.0.1:8000/", hold=5, hold_target=websockets)) == ("http/1.1", "websocket")
    assert needed(config("ws://127.0.0.1:8000/ws", hold=5)) == ("websocket",)  # held on the target itself
    assert unsupported_reason(get_plugin("gunicorn-sync"), config("http://127.0.0.1:8000/", hold=2,
                                                                   hold_target=websockets))  # fmt: skip


def test_granian_gets_its_http_switch_only_for_an_h2_comparison() -> None:
    granian = get_plugin("granian")
    assert granian.command(APP, host="127.0.0.1", port=1, protocol="h2")[-2:] == ["--http", "auto"]
    assert "--http" not in granian.command(APP, host="127.0.0.1", port=1, protocol="websocket")
    assert get_plugin("hypercorn").command(APP, host="127.0.0.1", port=1, protocol="h2")[-1] == "uvloop"


def test_a_launched_server_keeps_the_scheme_and_path_and_takes_the_hold_target_along() -> None:
    server = cast(Any, SimpleNamespace(url="http://127.0.0.1:4321", port=4321, plugin=SimpleNamespace(name="x")))
    load = config("ws://127.0.0.1:8000/ws?x=1", hold=3, hold_target=parse_target("http://127.0.0.1:8000/sse?e=0"))
    aimed = aimed_at(load, server)
    assert aimed.target.url == "ws://127.0.0.1:4321/ws?x=1"
    assert aimed.hold_target is not None and aimed.hold_target.url == "http://127.0.0.1:4321/sse?e=0"
    assert aimed_at(config("http://localhost:9/a"), server).target.url == "http://127.0.0.1:4321/a"


def test_a_comparison_file_with_an_unsupported_server_is_read_and_an_older_one_still_is(tmp_path: Path) -> None:
    path = Path(__file__).parent / "data" / "no-such-file.json"  # only named in messages
    document = {
        "schema": "asgibench.comparison/1", "app": APP, "environment": {}, "repeat": 1,
        "config": {"target": None, "target_source": "x", "scenario": None, "model": "closed", "vus": 5,
                   "rate": None, "duration_s": 1.0, "warmup_s": 0.0, "timeout_s": 10.0, "think_s": 0.0,
                   "workers": 1, "connections": 0, "max_connections": 1024, "stages": [], "requests": [],
                   "thresholds": []},
        "servers": [{"name": "gunicorn-sync", "version": None, "status": "unsupported", "error": None,
                     "reason": "WSGI has no WebSocket", "log_tail": [], "runs": []}],
    }  # fmt: skip
    assert comparison_from(document, path)["servers"][0]["status"] == "unsupported"
    older = json.loads(json.dumps(document))
    older["servers"][0] |= {"status": "failed", "error": "did not start"}
    del older["servers"][0]["reason"]
    assert comparison_from(older, path)["servers"][0]["status"] == "failed"


def test_the_load_line_says_the_protocol_the_messages_and_what_is_held() -> None:
    line = load_line(
        {"model": "closed", "vus": 5, "duration_s": 1, "workers": 1, "protocol": "websocket", "streams": 1,
         "requests": [{"name": "text 64 B", "message": "text", "path": "/ws"}], "hold": 5,
         "hold_target": "ws://127.0.0.1:4321/ws"}
    )  # fmt: skip
    assert line.endswith("WebSocket · text 64 B messages to /ws · holding 5 streams of ws:/ws")


# --- real comparisons ---------------------------------------------------------------------------------------------


def test_a_websocket_comparison_lists_the_wsgi_server_as_unsupported_and_exits_0(tmp_path: Path) -> None:
    code, output, comparison = compare(tmp_path, "--servers", "uvicorn,granian,gunicorn-sync",
                                       "--wsgi-app", TWIN, "--path", "ws:/ws")  # fmt: skip
    assert code == 0, output
    servers = servers_of(comparison)
    assert {name: server["status"] for name, server in servers.items()} == {
        "uvicorn": "ok", "granian": "ok", "gunicorn-sync": "unsupported"
    }  # fmt: skip
    sync = servers["gunicorn-sync"]
    assert "WSGI has no WebSocket" in sync["reason"] and sync["runs"] == [] and sync["error"] is None
    assert not (tmp_path / "logs" / "gunicorn-sync-1.log").exists()  # never launched
    assert comparison["config"]["protocol"] == "websocket"
    for name in ("uvicorn", "granian"):
        result = run_of(tmp_path, servers[name])
        assert result["summary"]["protocol"] == "websocket" and result["config"]["target"].startswith("ws://")
        assert result["summary"]["errors"]["total"] == 0
        messages = servers[name]["stats"]["messages_rps"]
        assert messages["median"] == result["summary"]["messages"]["received_per_s"] > 0
    assert "msg/s" in output and "gunicorn-sync unsupported: WSGI has no WebSocket" in output
    markdown = (tmp_path / "report.md").read_text()
    for name in ("uvicorn", "granian"):  # the terminal and the report print the same msg/s
        shown = rate(servers[name]["stats"]["messages_rps"]["median"])
        row = next(line for line in markdown.splitlines() if line.startswith((f"| {name}", f"| **{name}")))
        assert f" {shown} " in output and f"| {shown} |" in row.replace("*", ""), (shown, row)
    assert "| msg/s |" in markdown and "msg/s vs best" in markdown and "WebSocket" in markdown
    assert "unsupported: WSGI has no WebSocket" in markdown
    row = next(line for line in markdown.splitlines() if line.startswith("| gunicorn-sync"))
    assert "unsupported" in row and "★" not in row and "failed" not in row
    html = (tmp_path / "report.html").read_text()
    assert '<tr class="unsupported">' in html and "Unsupported: WSGI has no WebSocket" in html
    # The charts count echoed messages, not requests.
    charts = [part.split("</figure>", 1)[0] for part in html.split("<figure")[1:]]
    throughput = next(chart for chart in charts if "messages per second" in chart)
    assert "requests" not in throughput and "Median messages/s" in throughput


def test_an_http2_comparison_runs_hypercorn_and_granian_and_not_uvicorn(tmp_path: Path) -> None:
    code, output, comparison = compare(tmp_path, "--servers", "uvicorn,hypercorn,granian", "--http", "2")
    assert code == 0, output
    servers = servers_of(comparison)
    assert servers["uvicorn"]["status"] == "unsupported" and "HTTP/2" in servers["uvicorn"]["reason"]
    for name in ("hypercorn", "granian"):
        assert servers[name]["status"] == "ok", servers[name]
        result = run_of(tmp_path, servers[name])
        assert result["summary"]["protocol"] == "h2"
        assert result["summary"]["ok"] > 0 and result["summary"]["errors"]["total"] == 0
    assert run_of(tmp_path, servers["granian"])["server"]["command"][-2:] == ["--http", "auto"]
    assert "uvicorn unsupported" in output
    markdown = (tmp_path / "report.md").read_text()
    assert "HTTP/2 (h2c)" in markdown and "uvicorn was not run, unsupported: uvicorn speaks" in markdown


def test_an_sse_comparison_shows_first_byte_and_gap_beside_the_latency(tmp_path: Path) -> None:
    code, output, comparison = compare(tmp_path, "--servers", "uvicorn", "--stream",
                                       "--path", "/sse?events=3&interval_ms=10")  # fmt: skip
    assert code == 0, output
    (server,) = comparison["servers"]
    result = run_of(tmp_path, server)
    assert server["status"] == "ok" and result["summary"]["errors"]["total"] == 0
    stats = server["stats"]
    assert stats["first_byte_p99_ms"]["median"] == result["summary"]["first_byte_ms"]["p99"]
    assert stats["gap_p99_ms"]["median"] == result["summary"]["gap_ms"]["p99"]
    assert 5 <= stats["gap_p99_ms"]["median"] < stats["p99_ms"]["median"]  # events 10 ms apart, three of them
    assert "first-byte" in output and "gap" in output
    markdown = (tmp_path / "report.md").read_text()
    assert "| first-byte p99 ms | gap p99 ms |" in markdown and "(streamed)" in markdown


def test_held_streams_are_counted_per_server(tmp_path: Path) -> None:
    code, output, comparison = compare(tmp_path, "--servers", "uvicorn", "--hold", "5",
                                       "--hold-path", "/sse?events=0&interval_ms=200")  # fmt: skip
    assert code == 0, output
    (server,) = comparison["servers"]
    assert comparison["config"]["hold_path"] == "/sse?events=0&interval_ms=200"
    assert comparison["config"]["hold_target"] is None  # each server held its own
    result = run_of(tmp_path, server)
    assert result["config"]["hold_target"].endswith("/sse?events=0&interval_ms=200")
    assert result["summary"]["held"]["held"] == 5
    assert server["stats"]["held"]["median"] == 5 and server["stats"]["dropped"]["median"] == 0
    markdown = (tmp_path / "report.md").read_text()
    assert "| held | dropped |" in markdown and "holding 5 streams of /sse" in markdown
    row = next(line for line in markdown.splitlines() if line.startswith("| **uvicorn") or line.startswith("| uvicorn"))
    assert "| 5 | 0 |" in row.replace("*", "")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--servers", "uvicorn,gunicorn", "--http", "2"), "None of the servers can serve this load (HTTP/2"),
        (("--servers", "gunicorn-sync", "--wsgi-app", TWIN, "--path", "ws:/ws"), "WSGI has no WebSocket"),
        (("--servers", "uvicorn", "--hold-path", "/sse"), "--hold-path: give --hold N too"),
        (("--servers", "uvicorn", "--path", "ws/x"), "--path must start with '/'"),
    ],
)
def test_a_load_no_server_can_take_or_a_bad_option_is_exit_2(args: tuple[str, ...], said: str) -> None:
    done = asgibench("compare", APP, *args, *SHORT)
    assert done.returncode == 2 and said in done.stderr, done.stdout + done.stderr
