"""The message rules added with the full catalogue, driven through the sans-IO machines."""

from __future__ import annotations

import io
import os
from typing import Any

import pytest

from asgibench.conformance.findings import Finding, Verdict
from asgibench.conformance.http_machine import COMPLETE, HttpResponseMachine
from asgibench.conformance.values import close_code_findings
from asgibench.conformance.websocket_machine import WebSocketMachine

ALL_HTTP_EXTENSIONS = {
    name: {}
    for name in (
        "http.response.trailers",
        "http.response.pathsend",
        "http.response.zerocopysend",
        "http.response.early_hint",
        "http.response.push",
        "http.response.debug",
    )
}
START = {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
MORE = {"type": "http.response.body", "body": b"he", "more_body": True}
FINAL = {"type": "http.response.body", "body": b"llo"}


def verdicts(findings: list[Finding]) -> list[tuple[str, Verdict]]:
    return [(finding.check_id, finding.verdict) for finding in findings]


def drive(messages: list[Any], extensions: dict[str, Any] | None = None) -> list[tuple[str, Verdict]]:
    machine = HttpResponseMachine(ALL_HTTP_EXTENSIONS if extensions is None else extensions)
    found: list[Finding] = []
    for message in messages:
        found.extend(machine.app_sent(message))
    return verdicts(found)


def test_a_push_while_the_response_streams_is_valid() -> None:
    push = {"type": "http.response.push", "path": "/style.css", "headers": [(b"accept", b"text/css")]}
    assert drive([START, MORE, push, FINAL]) == []
    assert drive([START, push, FINAL]) == []


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([{"type": "http.response.push", "path": "/a", "headers": []}, START, FINAL], ("EX-11", Verdict.FAIL)),
        ([START, FINAL, {"type": "http.response.push", "path": "/a", "headers": []}], ("EX-11", Verdict.FAIL)),
        ([START, {"type": "http.response.push", "path": b"/a", "headers": []}, FINAL], ("EX-11", Verdict.FAIL)),
        ([START, {"type": "http.response.push", "path": "/a"}, FINAL], ("EX-11", Verdict.FAIL)),
    ],
)
def test_a_push_out_of_its_window_or_malformed_fails_ex11(messages: list[Any], expected: tuple[str, Verdict]) -> None:
    assert expected in drive(messages)
    assert not any(check == "HR-04" for check, _ in drive(messages))


def test_early_hints_belong_before_the_start() -> None:
    hint = {"type": "http.response.early_hint", "links": [b"</a.css>; rel=preload"]}
    assert drive([hint, hint, START, FINAL]) == []
    assert drive([START, hint, FINAL]) == [("EX-08", Verdict.WARN)]  # the older text's place: tolerated
    assert drive([START, FINAL, hint]) == [("EX-08", Verdict.FAIL)]
    assert drive([{"type": "http.response.early_hint", "links": [b"<a>\r\nx: y"]}, START, FINAL]) == [
        ("EX-08", Verdict.FAIL)
    ]


def test_debug_info_is_free_form_but_sent_once_before_the_start() -> None:
    debug = {"type": "http.response.debug", "info": {"template": object(), "context": {"user": object()}}}
    assert drive([debug, START, FINAL]) == []  # no SC-20 on the framework's own objects
    assert drive([debug, debug, START, FINAL]) == [("EX-12", Verdict.FAIL)]
    assert drive([START, debug, FINAL]) == [("EX-12", Verdict.FAIL)]
    assert drive([{"type": "http.response.debug", "info": ["x"]}, START, FINAL]) == [("EX-12", Verdict.FAIL)]


def test_a_bytearray_body_fails_once_under_sc20() -> None:
    found = drive([START, {"type": "http.response.body", "body": bytearray(b"hello")}])
    assert [check for check, verdict in found if verdict is not Verdict.INFO] == ["SC-20"]


def test_tuples_where_lists_belong_are_noted_once_and_header_tuples_are_fine() -> None:
    start = {**START, "headers": [(b"content-type", b"text/plain")], "extra": (1, 2)}
    assert drive([start, {**FINAL, "extra": (3,)}]) == [("SC-20", Verdict.INFO)]
    assert drive([START, FINAL]) == []


@pytest.mark.parametrize("status", [100, 101, 103, 199])
def test_an_interim_status_is_not_a_final_response(status: int) -> None:
    assert ("HR-02", Verdict.FAIL) in drive([{**START, "status": status}, FINAL], {})


def test_no_content_statuses_carry_no_content() -> None:
    assert drive([{**START, "status": 204}, {"type": "http.response.body", "body": b"x"}], {}) == [
        ("HR-12", Verdict.FAIL)
    ]
    assert drive([{**START, "status": 304}, {"type": "http.response.body", "body": b""}], {}) == []
    with_length = {**START, "status": 204, "headers": [(b"content-length", b"0")]}
    assert drive([with_length, {"type": "http.response.body"}], {}) == [("HR-12", Verdict.FAIL)]


def test_an_app_set_transfer_encoding_is_only_recorded() -> None:
    start = {**START, "headers": [(b"transfer-encoding", b"chunked")]}
    assert drive([start, FINAL], {}) == [("HR-05", Verdict.INFO)]


def test_trailers_messages_keep_their_own_ids() -> None:
    declared = {**START, "trailers": True, "headers": [(b"trailer", b"x-sum")]}
    trailers = {"type": "http.response.trailers", "headers": [(b"x-sum", b"1")]}
    assert drive([declared, FINAL, trailers]) == []
    # After the final trailers: the response is complete (HR-04), not "trailers=True missing".
    assert drive([declared, FINAL, trailers, trailers]) == [("HR-04", Verdict.WARN)]
    assert drive([declared, FINAL, {"type": "http.response.trailers", "headers": [(b"host", b"x")]}]) == [
        ("EX-05", Verdict.FAIL),
        ("EX-05", Verdict.WARN),  # host is also not named in the Trailer header
    ]
    assert drive([declared, FINAL, FINAL]) == [("EX-05", Verdict.FAIL)]


def test_pathsend_twice_or_with_body_after_it_is_ex06() -> None:
    path = os.path.abspath(__file__)
    size = os.path.getsize(path)
    start = {**START, "headers": [(b"content-length", str(size).encode())]}
    pathsend = {"type": "http.response.pathsend", "path": path}
    assert drive([start, pathsend]) == []
    assert drive([start, pathsend, pathsend]) == [("EX-06", Verdict.FAIL)]
    assert drive([start, pathsend, FINAL]) == [("EX-06", Verdict.FAIL)]
    assert drive([{**START, "headers": [(b"content-length", b"3")]}, pathsend]) == [("EX-06", Verdict.FAIL)]


def test_zerocopysend_needs_a_real_open_descriptor() -> None:
    assert ("EX-07", Verdict.FAIL) in drive([START, {"type": "http.response.zerocopysend", "file": io.BytesIO(b"x")}])
    with open(__file__, "rb") as file:
        length = {**START, "headers": [(b"content-length", b"10")]}
        machine = HttpResponseMachine(ALL_HTTP_EXTENSIONS)
        machine.app_sent(length)
        assert machine.app_sent({"type": "http.response.zerocopysend", "file": file, "count": 10}) == []
        assert machine.state == COMPLETE and machine.zerocopy_files == [file]
        assert drive([length, {"type": "http.response.zerocopysend", "file": file, "count": 4}]) == [
            ("EX-07", Verdict.FAIL)
        ]
    assert drive([START, {"type": "http.response.zerocopysend", "file": file}]) == [("EX-07", Verdict.FAIL)]


def test_a_lone_surrogate_in_a_close_reason_is_a_finding_not_a_crash() -> None:
    assert verdicts(close_code_findings({"type": "websocket.close", "code": 1000, "reason": "bye \udc80"})) == [
        ("WS-12", Verdict.FAIL)
    ]
    assert verdicts(close_code_findings({"type": "websocket.close", "reason": "é" * 62})) == [("WS-12", Verdict.FAIL)]
    assert close_code_findings({"type": "websocket.close", "reason": "é" * 61}) == []


def websocket(spec_version: str = "2.4", subprotocols: tuple[str, ...] = ()) -> WebSocketMachine:
    machine = WebSocketMachine(spec_version=spec_version, subprotocols=subprotocols)
    machine.connect_received = True
    return machine


def test_the_accepted_subprotocol_must_have_been_offered() -> None:
    assert websocket(subprotocols=("v2", "v1")).app_sent({"type": "websocket.accept", "subprotocol": "v1"}) == []
    assert verdicts(websocket().app_sent({"type": "websocket.accept", "subprotocol": "v1"})) == [
        ("WS-14", Verdict.FAIL)
    ]
    assert verdicts(websocket(subprotocols=("v1",)).app_sent({"type": "websocket.accept", "subprotocol": ""})) == [
        ("WS-14", Verdict.FAIL)
    ]


def test_websocket_text_must_encode_as_utf8() -> None:
    machine = websocket()
    machine.app_sent({"type": "websocket.accept"})
    assert verdicts(machine.app_sent({"type": "websocket.send", "text": "\ud800"})) == [("WS-11", Verdict.FAIL)]
    assert machine.app_sent({"type": "websocket.send", "bytes": None, "text": "ok"}) == []


def test_fields_newer_than_the_servers_spec_version() -> None:
    old = websocket("2.0")
    assert verdicts(old.app_sent({"type": "websocket.accept", "headers": [(b"x-a", b"1")]})) == [
        ("WS-11", Verdict.FAIL)
    ]
    assert verdicts(old.app_sent({"type": "websocket.close", "reason": "done"})) == [("WS-12", Verdict.INFO)]
    new = websocket("2.3")
    new.app_sent({"type": "websocket.accept"})
    assert new.app_sent({"type": "websocket.close", "reason": "done"}) == []


def test_an_answer_before_the_connect_message_is_recorded() -> None:
    machine = WebSocketMachine(spec_version="2.4")  # receive() never returned websocket.connect
    assert verdicts(machine.app_sent({"type": "websocket.accept"})) == [("WS-10", Verdict.INFO)]


def test_a_denial_cannot_claim_the_upgrade() -> None:
    machine = WebSocketMachine({"websocket.http.response": {}}, spec_version="2.4")
    machine.connect_received = True
    found = machine.app_sent({"type": "websocket.http.response.start", "status": 101, "headers": []})
    assert verdicts(found) == [("EX-03", Verdict.FAIL)]


def test_a_denial_content_length_must_match_its_body() -> None:
    def denial(length: bytes, body: bytes) -> list[tuple[str, Verdict]]:
        machine = WebSocketMachine({"websocket.http.response": {}}, spec_version="2.5")
        machine.connect_received = True
        headers = [(b"content-length", length)]
        found = machine.app_sent({"type": "websocket.http.response.start", "status": 403, "headers": headers})
        found += machine.app_sent({"type": "websocket.http.response.body", "body": body[:2], "more_body": True})
        found += machine.app_sent({"type": "websocket.http.response.body", "body": body[2:]})
        return verdicts(found)

    assert denial(b"9", b"forbidden") == []
    assert denial(b"20", b"forbidden") == [("EX-03", Verdict.FAIL)]


@pytest.mark.parametrize(
    ("value", "joined"),
    [
        (b"session=abc; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT; HttpOnly", False),
        (b"session=abc; Path=/, theme=light; Path=/", True),
        (b"a=1,b=2", True),
    ],
)
def test_set_cookie_values_joined_by_a_comma_are_noted(value: bytes, joined: bool) -> None:
    start = {**START, "headers": [(b"set-cookie", value)]}
    assert (("HR-02", Verdict.INFO) in drive([start, FINAL])) is joined
