"""``asgibench conform --server``: the extensions (EX-09, EX-13, EX-14, EX-15) and the TLS leg (EX-10).

Real servers on loopback pin what each one does today; crafted observations
fed to the pure judge show each check can fail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from asgibench.conformance.findings import Verdict
from asgibench.conformance.observation import AppEvent, AppRecord, Observation, WireRecord
from asgibench.conformance.probe.cases import AUTHORITY
from asgibench.conformance.probe.extension_behaviours import (
    FILE_CONTENT,
    FILE_HEADER,
    HINT_LINKS,
    ZEROCOPY_COUNT,
    ZEROCOPY_OFFSET,
    ZEROCOPY_TAIL,
)
from asgibench.conformance.probe.extension_cases import EXTENSION_CASES, digest
from asgibench.conformance.probe.judge_extensions import judge_extensions
from asgibench.conformance.probe.run import ALL_CASES, probe_server
from asgibench.conformance.probe.tls_leg import TLS_CASES
from asgibench.servers import get_plugin
from asgibench.servers.base import Certificate

NA, PASS, FAIL, WARN, INFO = (
    Verdict.NOT_APPLICABLE,
    Verdict.PASS,
    Verdict.FAIL,
    Verdict.WARN,
    Verdict.INFO,
)
EXTENSION_CHECKS = ("EX-09", "EX-10", "EX-13", "EX-14", "EX-15")

# (check, case) -> verdict, as each server gives it on this machine. "all" is the finding over every scope.
KNOWN: dict[str, dict[tuple[str, str], Verdict]] = {
    # uvicorn advertises no extension on HTTP/1.1 and serves no HTTP/2.
    "uvicorn": {
        ("EX-13", "pathsend"): NA,
        ("EX-14", "zerocopysend"): NA,
        ("EX-15", "early-hint"): NA,
        ("EX-09", "h2-push"): NA,
        ("EX-09", "all"): PASS,
        ("EX-10", "all"): PASS,
        ("EX-10", "tls-scope"): PASS,
        ("EX-10", "tls-ws"): PASS,
    },
    # hypercorn advertises push and early hints on HTTP/2 scopes only, and honours both.
    "hypercorn": {
        ("EX-13", "h2-pathsend"): NA,
        ("EX-15", "early-hint"): NA,
        ("EX-15", "h2-early-hint"): PASS,
        ("EX-09", "h2-push"): PASS,
        ("EX-09", "h2-push-refused"): PASS,
        ("EX-09", "all"): PASS,
        ("EX-10", "tls-scope"): PASS,
        ("EX-10", "tls-ws"): PASS,
    },
    # daphne's WebSocket scope has no scheme at all: "ws" by default, even over TLS.
    "daphne": {
        ("EX-13", "pathsend"): NA,
        ("EX-10", "all"): PASS,
        ("EX-10", "tls-scope"): PASS,
        ("EX-10", "tls-ws"): FAIL,
    },
    # granian advertises pathsend on both protocols and sends the file whole; no push.
    "granian": {
        ("EX-13", "pathsend"): PASS,
        ("EX-13", "h2-pathsend"): PASS,
        ("EX-14", "zerocopysend"): NA,
        ("EX-15", "h2-early-hint"): NA,
        ("EX-09", "h2-push"): NA,
        ("EX-10", "tls-scope"): PASS,
        ("EX-10", "tls-ws"): PASS,
    },
}
CASES = tuple(case for case in EXTENSION_CASES if case.name != "h2-zerocopysend") + TLS_CASES


@pytest.mark.parametrize("server", sorted(KNOWN))
def test_known_extension_behaviours(server: str) -> None:
    probe = probe_server(server, cases=CASES, lifespans=False)
    assert probe.judgement is not None, probe.error
    seen: dict[tuple[str, str], list[Verdict]] = {}
    for finding in probe.judgement.findings:
        if finding.check_id in EXTENSION_CHECKS:
            seen.setdefault((finding.check_id, finding.case), []).append(finding.verdict)
    for key, verdict in KNOWN[server].items():
        assert verdict in seen.get(key, []), (key, seen.get(key), probe.case_errors)
    # The plain leg never advertised tls, and the tls extension is N/A (not advertised) over TLS everywhere.
    assert FAIL not in seen[("EX-10", "all")]
    assert seen[("EX-10", "tls-scope")].count(NA) == 1


def test_the_default_run_includes_the_extension_and_tls_cases() -> None:
    names = {case.name for case in ALL_CASES}
    assert {"pathsend", "h2-push-refused", "early-hint", "tls-scope", "tls-ws"} <= names
    assert [case.name for case in ALL_CASES if case.tls] == ["tls-scope", "tls-ws"]


# -- server command lines over TLS --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "options"),
    [
        ("uvicorn", ["--ssl-certfile", "/c/cert.pem", "--ssl-keyfile", "/c/key.pem"]),
        ("hypercorn", ["--certfile", "/c/cert.pem", "--keyfile", "/c/key.pem"]),
        ("granian", ["--ssl-certificate", "/c/cert.pem", "--ssl-keyfile", "/c/key.pem"]),
        ("gunicorn", ["--certfile", "/c/cert.pem", "--keyfile", "/c/key.pem"]),
    ],
)
def test_tls_options_are_added_only_when_asked(server: str, options: list[str]) -> None:
    plugin = get_plugin(server)
    certificate = Certificate(cert=Path("/c/cert.pem"), key=Path("/c/key.pem"))
    plain = plugin.command("main:app", host="127.0.0.1", port=8000)
    secure = plugin.command("main:app", host="127.0.0.1", port=8000, tls=certificate)
    assert not set(options) & set(plain)
    assert " ".join(options) in " ".join(secure)
    assert secure[: len(plain)] == plain


def test_daphne_listens_on_one_tls_endpoint_with_escaped_paths() -> None:
    certificate = Certificate(cert=Path("/c:1/cert.pem"), key=Path("/c/k=ey.pem"))
    command = get_plugin("daphne").command("main:app", host="127.0.0.1", port=8443, tls=certificate)
    assert "--bind" not in command and "--port" not in command
    endpoint = command[command.index("-e") + 1]
    assert endpoint == r"ssl:8443:privateKey=/c/k\=ey.pem:certKey=/c\:1/cert.pem:interface=127.0.0.1"


# -- every check can fail: crafted observations for the pure judge ------------------------------------------------


def _observation(
    case: str,
    scope: dict[str, Any],
    *,
    received: bytes = b"",
    notes: tuple[str, ...] = (),
    app_notes: tuple[str, ...] = (),
) -> Observation:
    events = [AppEvent(0.0, "scope", scope), *(AppEvent(0.1, "note", note) for note in app_notes)]
    observation = Observation(case, AppRecord(events), WireRecord(received=received, closed_at=1.0))
    observation.notes.extend(notes)
    return observation


def _http_scope(*extensions: str, version: str = "1.1", scheme: str = "http") -> dict[str, Any]:
    return {
        "type": "http",
        "http_version": version,
        "scheme": scheme,
        "extensions": {name: {} for name in extensions},
    }


def _response(body: bytes, *, status: int = 200, extra: bytes = b"") -> bytes:
    head = f"HTTP/1.1 {status} OK\r\ncontent-length: {len(body)}\r\n".encode()
    return head + FILE_HEADER[0] + b": " + FILE_HEADER[1] + b"\r\n" + extra + b"\r\n" + body


def _verdicts(observations: dict[str, Observation], check: str) -> list[Verdict]:
    return [finding.verdict for finding in judge_extensions(observations) if finding.check_id == check]


def test_pathsend_passes_with_the_file_and_fails_when_it_is_altered() -> None:
    scope = _http_scope("http.response.pathsend")
    whole = _observation("pathsend", scope, received=_response(FILE_CONTENT))
    assert _verdicts({"pathsend": whole}, "EX-13") == [PASS]
    text_mode = FILE_CONTENT.replace(b"\n", b"\r\n")  # a server that sent the file as text
    altered = _observation("pathsend", scope, received=_response(text_mode))
    assert _verdicts({"pathsend": altered}, "EX-13") == [FAIL]
    not_advertised = _observation("pathsend", _http_scope(), app_notes=("not advertised",))
    assert _verdicts({"pathsend": not_advertised}, "EX-13") == [NA]


def test_zerocopysend_fails_when_offset_is_ignored() -> None:
    scope = _http_scope("http.response.zerocopysend")
    honoured = FILE_CONTENT[ZEROCOPY_OFFSET : ZEROCOPY_OFFSET + ZEROCOPY_COUNT] + ZEROCOPY_TAIL
    good = _observation("zerocopysend", scope, received=_response(honoured))
    assert _verdicts({"zerocopysend": good}, "EX-14") == [PASS]
    ignored = FILE_CONTENT[:ZEROCOPY_COUNT] + ZEROCOPY_TAIL
    bad = _observation("h2-zerocopysend", _http_scope("http.response.zerocopysend", version="2"), notes=(
        "h2-status=200",
        f"h2-headers={[FILE_HEADER]!r}",
        f"h2-body-length={len(ignored)}",
        f"h2-body-digest={digest(ignored)}",
        "h2-ended=True; reset=None; error=",
    ))  # fmt: skip
    assert _verdicts({"h2-zerocopysend": bad}, "EX-14") == [FAIL]


def test_early_hints_after_the_response_fail_and_missing_ones_warn_over_http2_only() -> None:
    links = b"".join(b"link: " + link + b"\r\n" for link in HINT_LINKS)
    hint = b"HTTP/1.1 103 Early Hints\r\n" + links + b"\r\n"
    final = b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nhinted"
    scope = _http_scope("http.response.early_hint")
    assert _verdicts({"early-hint": _observation("early-hint", scope, received=hint + final)}, "EX-15") == [PASS]
    assert _verdicts({"early-hint": _observation("early-hint", scope, received=final + hint)}, "EX-15") == [FAIL]
    assert _verdicts({"early-hint": _observation("early-hint", scope, received=final)}, "EX-15") == [INFO]
    h2_notes = ("h2-status=200", "h2-headers=[]", "h2-body-length=6", "h2-ended=True; reset=None; error=")
    h2 = _observation("h2-early-hint", _http_scope("http.response.early_hint", version="2"), notes=h2_notes)
    assert _verdicts({"h2-early-hint": h2}, "EX-15") == [WARN]


def test_push_to_a_client_that_refused_it_fails_and_debug_or_http1_push_warn() -> None:
    h2_scope = _http_scope("http.response.push", version="2")
    answered = ("h2-status=200", "h2-headers=[]", "h2-ended=True; reset=None; error=")
    promise = f"h2-promise={[(b':path', b'/pushed'), (b':authority', AUTHORITY)]!r}"
    refused = _observation("h2-push-refused", h2_scope, notes=(*answered, promise))
    assert FAIL in _verdicts({"h2-push-refused": refused}, "EX-09")
    allowed = _observation("h2-push", h2_scope, notes=(*answered, promise, "pushed-app-scope={}"))
    assert _verdicts({"h2-push": allowed}, "EX-09") == [PASS, PASS]
    no_promise = _observation("h2-push", h2_scope, notes=answered)
    assert WARN in _verdicts({"h2-push": no_promise}, "EX-09")
    debug = _observation("scope", _http_scope("http.response.debug"))
    assert _verdicts({"scope": debug}, "EX-09") == [WARN]
    http1_push = _observation("scope", _http_scope("http.response.push"))
    assert _verdicts({"scope": http1_push}, "EX-09") == [PASS, WARN]


GOOD_TLS = {
    "server_cert": None,
    "client_cert_chain": [],
    "client_cert_name": None,
    "client_cert_error": None,
    "tls_version": 0x0304,
    "cipher_suite": 0x1301,
}


@pytest.mark.parametrize(
    ("tls", "scheme", "expected"),
    [
        (GOOD_TLS, "https", [PASS, PASS]),
        (None, "https", [PASS, NA]),
        (None, "http", [FAIL, NA]),
        ({**GOOD_TLS, "tls_version": "TLSv1.3"}, "https", [PASS, FAIL]),
        ({**GOOD_TLS, "tls_version": 0x0303}, "https", [PASS, FAIL]),  # the connection's is 1.3
        ({**GOOD_TLS, "cipher_suite": 0x10000}, "https", [PASS, FAIL]),
        ({key: value for key, value in GOOD_TLS.items() if key != "server_cert"}, "https", [PASS, FAIL]),
        ({**GOOD_TLS, "client_cert_name": "CN=nobody"}, "https", [PASS, FAIL]),
    ],
)
def test_the_tls_scope_is_judged_by_tls_rst(tls: dict[str, Any] | None, scheme: str, expected: list[Verdict]) -> None:
    scope = {"type": "http", "scheme": scheme, "extensions": {} if tls is None else {"tls": tls}}
    observation = _observation("tls-scope", scope, notes=(f"tls-version={0x0304}",))
    assert _verdicts({"tls-scope": observation}, "EX-10") == expected


def test_tls_on_a_cleartext_connection_fails() -> None:
    plain = _observation("scope", {"type": "http", "scheme": "http", "extensions": {"tls": GOOD_TLS}})
    assert _verdicts({"scope": plain}, "EX-10") == [FAIL]
    clean = _observation("scope", {"type": "http", "scheme": "http", "extensions": {}})
    assert _verdicts({"scope": clean}, "EX-10") == [PASS]
