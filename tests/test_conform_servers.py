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
        # Granian gives ports as str and HTTP/1.0 as "1".
        ("granian", ("scope", "http10"), {"SC-11": Verdict.FAIL, "SC-03": Verdict.FAIL, "SC-05": Verdict.PASS}),
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
