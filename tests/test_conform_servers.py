"""``asgibench conform --server``: real servers on loopback, probed with crafted requests.

The pinned verdicts are server behaviours known from their issue trackers and
seen on loopback: if a server changes, the test says which row moved.
"""

from __future__ import annotations

import html
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from asgibench.conformance.findings import Verdict
from asgibench.conformance.observation import AppEvent, AppRecord, Observation, Opaque, WireRecord, decode, encode
from asgibench.conformance.probe.cases import CASES_BY_NAME
from asgibench.conformance.probe.judge import judge
from asgibench.conformance.probe.responses import parse_responses
from asgibench.conformance.probe.run import probe_server
from tests.test_report import browser, headless

__all__ = ["browser"]  # the fixture, imported for this module's tests

ASGIBENCH = [sys.executable, "-m", "asgibench"]


def findings(result: dict[str, Any], server: str, check: str) -> list[dict[str, str]]:
    entry = next(entry for entry in result["servers"] if entry["name"] == server)
    found: list[dict[str, str]] = entry["verdicts"][check]["findings"]
    return found


def verdicts(result: dict[str, Any], server: str) -> dict[str, str]:
    entry = next(entry for entry in result["servers"] if entry["name"] == server)
    return {check: cell["verdict"] for check, cell in entry["verdicts"].items()}


@pytest.fixture(scope="module")
def uvicorn_and_hypercorn(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("servers")
    command = [
        *ASGIBENCH,
        "conform",
        "--server",
        "uvicorn,hypercorn",
        "--json",
        str(out / "servers.json"),
        "--junit",
        str(out / "servers.xml"),
        "--html",
        str(out / "servers.html"),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    return run, out


def test_the_matrix_shows_known_differences_and_fails_the_run(
    uvicorn_and_hypercorn: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    run, out = uvicorn_and_hypercorn
    assert run.returncode == 1, run.stdout + run.stderr  # hypercorn breaks a MUST
    result = json.loads((out / "servers.json").read_text())
    uvicorn, hypercorn = verdicts(result, "uvicorn"), verdicts(result, "hypercorn")
    # http.disconnect repeated after the response: uvicorn does, hypercorn blocks on the second receive().
    assert uvicorn["DC-02"] == "pass" and hypercorn["DC-02"] == "fail"
    # hypercorn reports 1006 whatever close code the client sent.
    assert uvicorn["WS-06"] in {"pass", "warn"} and hypercorn["WS-06"] == "fail"
    hypercorn_ws06 = next(e for e in result["servers"] if e["name"] == "hypercorn")["verdicts"]["WS-06"]["findings"]
    assert any("1006" in finding["observed"] for finding in hypercorn_ws06)
    # Both answer a close before accept with 403, and a raise before start with a 500; both survive every fault
    # and join a fragmented WebSocket message.
    for found in (uvicorn, hypercorn):
        assert found["WS-03"] == "pass" and found["ER-01"] == "pass" and found["SC-05"] == "pass"
        assert found["ER-04"] == "pass" and found["WS-08"] == "pass"
    # An app-set Transfer-Encoding: hypercorn answers 500 instead of ignoring it.
    assert hypercorn["HR-07"] == "fail"
    # uvicorn raises its ClientDisconnected (an OSError) on a WebSocket send after the client left.
    assert uvicorn["WS-09"] == "pass"
    # Lifespan faults, each in a server of its own: both carry on when lifespan raises; after startup.failed
    # uvicorn logs the message and exits (status 3), hypercorn keeps serving.
    assert uvicorn["LS-03"] == "pass" and hypercorn["LS-03"] == "pass"
    assert uvicorn["LS-04"] == "pass" and hypercorn["LS-04"] == "warn"
    ls04 = next(e for e in result["servers"] if e["name"] == "uvicorn")["verdicts"]["LS-04"]["findings"]
    assert "status 3" in ls04[0]["observed"]
    # Lifespan and requests share the event loop; stopped with a request in flight, both answer it, then send
    # lifespan.shutdown, and wait for the app's shutdown.complete (its cleanup takes 0.5 s) before exiting.
    for found in (uvicorn, hypercorn):
        assert found["LS-07"] == "pass" and found["LS-05"] == "pass"
    # A body on a 204 or 304 never reaches the wire: uvicorn's send() raises (and it closes the connection),
    # hypercorn drops it and answers the next request on the connection.
    assert uvicorn["HR-09"] == "pass" and hypercorn["HR-09"] == "pass"
    hr09 = {name: findings(result, name, "HR-09") for name in ("uvicorn", "hypercorn")}
    assert any("no-content-204" == f["case"] and "RuntimeError" in f["observed"] for f in hr09["uvicorn"])
    assert any("no-content-304" == f["case"] and "answered 200" in f["observed"] for f in hr09["hypercorn"])
    # uvicorn raises ClientDisconnected on a WebSocket send after the client left; the app raises it on, and
    # uvicorn logs no error for it.
    assert uvicorn["DC-05"] == "pass" and hypercorn["DC-05"] == "pass"
    dc05 = findings(result, "uvicorn", "DC-05")
    assert any("ClientDisconnected, raised on by the app" in f["observed"] for f in dc05)
    # HTTP/2: hypercorn serves h2c on the same port; no pseudo-header reaches the app, :authority is the host,
    # http_version is "2", and trailers (advertised on HTTP/2 only) reach the client. uvicorn: no HTTP/2.
    assert hypercorn["SC-13"] == "pass" and uvicorn["SC-13"] == "n/a"
    assert any(f["case"] == "h2-scope" and f["verdict"] == "pass" for f in findings(result, "hypercorn", "SC-03"))
    assert hypercorn["EX-04"] == "pass" and uvicorn["EX-04"] == "n/a"
    # The evidence is kept: what the app saw, and the wire.
    scope_case = next(e for e in result["servers"] if e["name"] == "uvicorn")["cases"]["scope"]
    assert "GET /a%20b/c%2Fd/%C3%A9?" in scope_case["wire"]["sent"]
    assert scope_case["wire"]["received"].startswith("HTTP/1.1 200")
    assert "DC-02" in run.stdout and "hypercorn" in run.stdout


def test_junit_and_html_carry_the_same_verdicts(
    uvicorn_and_hypercorn: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, out = uvicorn_and_hypercorn
    junit = (out / "servers.xml").read_text()
    assert '<testsuite name="hypercorn' in junit and "DC-02" in junit and "<failure" in junit
    page = (out / "servers.html").read_text()
    assert 'id="matrix"' in page and 'href="#DC-02-1"' in page and 'id="case-1-scope"' in page
    assert "Sent to the application if receive is called after a response has been sent" in page


@pytest.mark.parametrize(
    ("server", "cases", "pinned"),
    [
        # Daphne drops header names with "_", never answers an app that returns without a response,
        # runs no lifespan, and gives code None (not 1005) for a close frame without a code.
        (
            "daphne",
            ("scope", "return-without-response", "ws-close-no-code"),
            {"SC-10": Verdict.FAIL, "ER-02": Verdict.WARN, "LS-02": Verdict.NOT_APPLICABLE, "WS-06": Verdict.WARN},
        ),
        # gunicorn runs uvicorn's workers, so it gives uvicorn's verdicts: the app's Transfer-Encoding reaches the
        # wire, while a disconnect is repeated and underscore headers are kept.
        (
            "gunicorn",
            ("scope", "app-transfer-encoding", "client-leaves"),
            {"HR-07": Verdict.FAIL, "DC-02": Verdict.PASS, "SC-10": Verdict.PASS},
        ),
        # Granian gives ports as str and HTTP/1.0 as "1". Over h2c it turns :authority into the host header and
        # advertises no trailers.
        (
            "granian",
            ("scope", "http10", "h2-scope", "h2-trailers"),
            {
                "SC-11": Verdict.FAIL,
                "SC-03": Verdict.FAIL,
                "SC-05": Verdict.PASS,
                "SC-13": Verdict.PASS,
                "EX-04": Verdict.NOT_APPLICABLE,
            },
        ),
    ],
)
def test_known_server_behaviours(server: str, cases: tuple[str, ...], pinned: dict[str, Verdict]) -> None:
    probe = probe_server(server, cases=tuple(CASES_BY_NAME[name] for name in cases), lifespans=False)
    assert probe.judgement is not None, probe.error
    worst: dict[str, Verdict] = {}
    order = [Verdict.FAIL, Verdict.WARN, Verdict.INFO, Verdict.PASS, Verdict.NOT_APPLICABLE]
    for finding in probe.judgement.findings:
        current = worst.get(finding.check_id)
        if current is None or order.index(finding.verdict) < order.index(current):
            worst[finding.check_id] = finding.verdict
    for check, verdict in pinned.items():
        assert worst.get(check) == verdict, (check, [f for f in probe.judgement.findings if f.check_id == check])


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (["--server", "nosuch"], "no such server"),
        (["reference_apps.raw_app:app", "--server", "uvicorn"], "recording app"),
        (["reference_apps.raw_app:app", "--html", "x.html"], "--html"),
        (["--server", "uvicorn", "--only", "ZZ-99"], "ZZ-99"),
    ],
)
def test_bad_usage_is_named_with_exit_2(arguments: list[str], fragment: str, tmp_path: Path) -> None:
    run = subprocess.run(
        [*ASGIBENCH, "conform", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert fragment in run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr


# -- the pure parts -------------------------------------------------------------------------------------------


def test_values_keep_their_python_types_through_the_log() -> None:
    value = {
        "port": 8000,
        "str_port": "8000",
        "raw": b"caf\xe9",
        "pair": (b"a", b"b"),
        "list": [1, None, True],
        "float": 1.5,
        "bad": float("nan"),
        "keys": {1: "x"},
        "other": object(),
    }
    back = decode(json.loads(json.dumps(encode(value))))
    assert back["port"] == 8000 and back["str_port"] == "8000" and back["raw"] == b"caf\xe9"
    assert back["pair"] == (b"a", b"b") and back["list"] == [1, None, True] and back["keys"] == {1: "x"}
    assert back["bad"] != back["bad"] and isinstance(back["other"], Opaque)


def test_responses_are_read_in_wire_order_with_their_framing() -> None:
    data = (
        b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nX: 1\r\nSet-Cookie: b=2\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\none\r\n0\r\n\r\nHTTP/1.1 404 Not Found\r\n\r\ngone"
    )
    first, second = parse_responses(data, closed=True)
    assert first.status == 200 and first.body == b"one" and first.complete
    assert first.headers[:3] == [(b"set-cookie", b"a=1"), (b"x", b"1"), (b"set-cookie", b"b=2")]
    assert second.status == 404 and second.body == b"gone" and second.complete


def _observation(case: str, events: list[tuple[str, Any]], received: bytes = b"") -> Observation:
    return Observation(
        case,
        AppRecord([AppEvent(float(i), kind, value) for i, (kind, value) in enumerate(events)]),
        WireRecord(received=received),
    )


def test_a_receive_that_blocks_after_the_response_fails_dc_01_and_dc_02() -> None:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "path": "/",
        "headers": [],
    }
    events = [
        ("scope", scope),
        ("receive", {"type": "http.request", "body": b"", "more_body": False}),
        ("send", {"type": "http.response.start"}),
        ("timeout", 1.0),
        ("timeout", 1.0),
        ("end", None),
    ]
    found = judge({"scope": _observation("scope", events)}, AppRecord())
    by_check = {f.check_id: f.verdict for f in found.findings}
    assert by_check["DC-01"] is Verdict.FAIL
    assert found.spec_version == "2.4"


# Runs in the page: every link of the matrix and of the findings must lead somewhere on the page.
LINKS = r"""
(function () {
  const links = [...document.querySelectorAll('a[href^="#"]')].map(a => a.getAttribute("href").slice(1));
  const missing = links.filter(id => !document.getElementById(id));
  const cells = document.querySelectorAll("#matrix tbody td").length;
  const wide = document.querySelector("#matrix").getBoundingClientRect().width;
  const out = document.createElement("pre");
  out.id = "measured";
  out.textContent = JSON.stringify({links: links.length, missing: missing.slice(0, 5), cells: cells, wide: wide});
  document.body.appendChild(out);
})();
"""


def test_the_html_page_lays_out_and_every_link_lands(
    browser: str, uvicorn_and_hypercorn: tuple[subprocess.CompletedProcess[str], Path], tmp_path: Path
) -> None:
    _, out = uvicorn_and_hypercorn
    page = tmp_path / "servers.html"
    page.write_text((out / "servers.html").read_text().replace("</body>", f"<script>{LINKS}</script></body>"))
    done = headless(browser, "--dump-dom", page.as_uri(), home=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(html.unescape(done.stdout.split('<pre id="measured">', 1)[1].split("</pre>", 1)[0]))
    checks = len(json.loads((out / "servers.json").read_text())["checks"])
    assert found["cells"] == 2 * checks  # a cell per server and check
    assert found["links"] > 2 * checks and found["missing"] == []
    assert found["wide"] > 0


def test_github_annotations_name_the_server_and_the_check() -> None:
    from asgibench.conformance.probe.report import ServersReport
    from asgibench.render.github import server_github_lines

    probe = probe_server("uvicorn", cases=(CASES_BY_NAME["scope"], CASES_BY_NAME["ws-vanish"]), lifespans=False)
    lines = server_github_lines(ServersReport([probe]))
    warning = next(line for line in lines if line.startswith("::warning title=uvicorn WS-06 "))
    assert "%2C" in warning.split("::")[1]  # the comma in the title escaped as a property
    assert "ws-vanish: code 1005" in warning
    assert lines[-1].startswith("asgibench conform --server: uvicorn: ") and "1 warn" in lines[-1]
    strict = server_github_lines(ServersReport([probe], strict=True))
    assert any(line.startswith("::error title=uvicorn WS-06 ") for line in strict)


def _lifespan_record(*, shutdown_at: float, complete: bool, loop: int = 1) -> AppRecord:
    events = [
        AppEvent(0.0, "scope", {"type": "lifespan", "asgi": {"version": "3.0"}}),
        AppEvent(0.0, "note", {"loop": loop, "pid": 7}),
        AppEvent(0.1, "send", {"type": "lifespan.startup.complete"}),
        AppEvent(0.1, "sent", "lifespan.startup.complete"),
        AppEvent(shutdown_at, "receive", {"type": "lifespan.shutdown"}),
    ]
    if complete:
        events.append(AppEvent(shutdown_at + 0.5, "send", {"type": "lifespan.shutdown.complete"}))
    return AppRecord(events)


def _in_flight(ended_at: float, loop: int = 1) -> Observation:
    record = AppRecord(
        [
            AppEvent(0.2, "scope", {"type": "http", "asgi": {"version": "3.0"}, "headers": []}),
            AppEvent(0.2, "note", {"loop": loop, "pid": 7}),
            AppEvent(ended_at, "end", {"raised": None}),
        ]
    )
    return Observation(
        "shutdown-in-flight", record, WireRecord(received=b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
    )


def test_shutdown_before_the_request_ends_or_an_exit_before_complete_fails_ls_05() -> None:
    def ls05(observation: Observation, lifespan: AppRecord) -> list[Verdict]:
        found = judge({"shutdown-in-flight": observation}, lifespan).findings
        return [f.verdict for f in found if f.check_id == "LS-05"]

    assert ls05(_in_flight(1.2), _lifespan_record(shutdown_at=1.3, complete=True)) == [Verdict.PASS] * 2
    assert ls05(_in_flight(1.2), _lifespan_record(shutdown_at=1.0, complete=True)) == [Verdict.FAIL, Verdict.PASS]
    assert ls05(_in_flight(1.2), _lifespan_record(shutdown_at=1.3, complete=False)) == [Verdict.PASS, Verdict.FAIL]


def test_a_request_in_another_event_loop_fails_ls_07() -> None:
    found = judge({"shutdown-in-flight": _in_flight(1.2, loop=2)}, _lifespan_record(shutdown_at=1.3, complete=True))
    ls07 = next(f for f in found.findings if f.check_id == "LS-07")
    assert ls07.verdict is Verdict.FAIL and "another event loop of the same process" in ls07.observed


def test_content_on_a_204_that_breaks_the_next_response_fails_hr_09() -> None:
    leaked = (
        b"HTTP/1.1 204 No Content\r\nx-probe: 1\r\n\r\ncontent that must not be sent"
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    )
    events = [("scope", {"type": "http", "asgi": {"version": "3.0"}, "headers": []}), ("end", None)]
    found = judge({"no-content-204": _observation("no-content-204", events, leaked)}, AppRecord()).findings
    hr09 = next(f for f in found if f.check_id == "HR-09")
    assert hr09.verdict is Verdict.FAIL and "did not parse" in hr09.observed


def test_an_error_in_the_server_log_as_the_client_leaves_warns_dc_05() -> None:
    events = [("scope", {"type": "websocket", "asgi": {"version": "3.0"}, "headers": []}), ("end", None)]
    observation = _observation("ws-vanish", events)
    observation.notes.append("server-log: ERROR: Exception in ASGI application")
    observation.notes.append("server-log: ConnectionResetError: [Errno 104] Connection reset by peer")
    found = judge({"ws-vanish": observation}, AppRecord()).findings
    dc05 = next(f for f in found if f.check_id == "DC-05")
    assert dc05.verdict is Verdict.WARN and "Exception in ASGI application" in dc05.observed


def test_pseudo_headers_in_an_http2_scope_fail_sc_13() -> None:
    headers = [(b":authority", b"probe.test:1234"), (b"host", b"probe.test:1234")]
    events = [("scope", {"type": "http", "http_version": "2", "asgi": {"version": "3.0"}, "headers": headers})]
    found = judge({"h2-scope": _observation("h2-scope", events)}, AppRecord()).findings
    sc13 = next(f for f in found if f.check_id == "SC-13")
    assert sc13.verdict is Verdict.FAIL and ":authority" in sc13.observed
