"""The sans-IO state tables and value validators, driven with plain dicts."""

from __future__ import annotations

import math

import pytest

from asgibench.conformance.findings import Verdict
from asgibench.conformance.http_machine import COMPLETE, HTTP_TRANSITIONS, HttpResponseMachine
from asgibench.conformance.lifespan_machine import LifespanMachine
from asgibench.conformance.values import close_code_findings, disallowed_values
from asgibench.conformance.websocket_machine import WebSocketMachine

START = {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5")]}
BODY = {"type": "http.response.body", "body": b"hello"}


def ids(findings: list) -> list[str]:  # type: ignore[type-arg]
    return [finding.check_id for finding in findings if finding.verdict is Verdict.FAIL]


def flagged(findings: list) -> list[tuple[str, Verdict]]:  # type: ignore[type-arg]
    return [(finding.check_id, finding.verdict) for finding in findings if finding.verdict is not Verdict.INFO]


def connected(machine: WebSocketMachine) -> WebSocketMachine:
    """As the fake server leaves it once receive() has returned websocket.connect."""
    machine.connect_received = True
    return machine


def test_start_then_final_body_completes_the_response() -> None:
    machine = HttpResponseMachine()
    assert machine.app_sent(START) == []
    assert machine.app_sent(BODY) == []
    assert machine.state == COMPLETE
    assert machine.status == 200 and bytes(machine.body) == b"hello"


@pytest.mark.parametrize(
    ("messages", "check_id"),
    [
        ([BODY], "HR-01"),
        ([START, START], "HR-01"),
        ([START, BODY, {"type": "http.response.trailers", "headers": []}], "EX-01"),
        ([{"type": "http.response.start", "status": 200.0, "headers": []}], "HR-02"),
        ([{"type": "http.response.start", "status": True, "headers": []}], "HR-02"),
        ([{"type": "http.response.start", "status": 200, "headers": [(b"x", "y")]}], "HR-02"),
        ([{"type": "http.response.start", "status": 200, "headers": b"x: y"}], "HR-02"),
        ([START, {"type": "http.response.body", "body": "hello"}], "HR-03"),
        ([START, {"type": "http.response.body", "body": b"hello!"}], "HR-05"),
        ([{"type": "http.response.begin"}], "SC-19"),
        (["http.response.start"], "SC-19"),
        ([{**START, "timing": math.inf}], "SC-20"),
    ],
)
def test_each_broken_sequence_names_its_check(messages: list, check_id: str) -> None:  # type: ignore[type-arg]
    machine = HttpResponseMachine()
    found: list[str] = []
    for message in messages:
        found.extend(ids(machine.app_sent(message)))
    assert check_id in found


def test_a_message_after_the_complete_response_only_warns() -> None:
    machine = HttpResponseMachine()
    machine.app_sent(START)
    machine.app_sent(BODY)
    assert flagged(machine.app_sent(BODY)) == [("HR-04", Verdict.WARN)]


def test_declared_trailers_follow_the_final_body() -> None:
    machine = HttpResponseMachine({"http.response.trailers": {}})
    machine.app_sent(
        {"type": "http.response.start", "status": 200, "trailers": True, "headers": [(b"trailer", b"x-sum")]}
    )
    assert machine.app_sent({"type": "http.response.body", "body": b"x"}) == []
    assert not machine.complete  # still owes the trailers
    assert machine.app_sent({"type": "http.response.trailers", "headers": [(b"x-sum", b"1")]}) == []
    assert machine.complete


def test_trailers_before_the_final_body_break_ex05() -> None:
    machine = HttpResponseMachine({"http.response.trailers": {}})
    machine.app_sent({"type": "http.response.start", "status": 200, "trailers": True})
    machine.app_sent({"type": "http.response.body", "body": b"x", "more_body": True})
    assert ids(machine.app_sent({"type": "http.response.trailers", "headers": []})) == ["EX-05"]


@pytest.mark.parametrize("method, status", [("HEAD", 200), ("GET", 204), ("GET", 304)])
def test_content_length_is_not_checked_where_no_body_is_sent(method: str, status: int) -> None:
    machine = HttpResponseMachine(method=method)
    machine.app_sent({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"10")]})
    assert machine.app_sent({"type": "http.response.body", "body": b""}) == []


def test_a_non_bool_more_body_does_not_move_the_machine() -> None:
    machine = HttpResponseMachine()
    machine.app_sent({"type": "http.response.start", "status": 200})
    assert ids(machine.app_sent({"type": "http.response.body", "body": b"a", "more_body": 1})) == ["HR-03"]
    assert not machine.complete
    assert machine.app_sent({"type": "http.response.body", "body": b"b"}) == []


def test_upper_case_header_names_warn_without_failing() -> None:
    findings = HttpResponseMachine().app_sent(
        {"type": "http.response.start", "status": 200, "headers": [(b"Server", b"x")]}
    )
    assert [(f.check_id, f.verdict) for f in findings] == [("HR-02", Verdict.WARN)]


def test_every_http_transition_starts_from_a_reachable_state() -> None:
    reachable = {"awaiting start"} | set(HTTP_TRANSITIONS.values())
    assert {state for state, _ in HTTP_TRANSITIONS} <= reachable


def test_websocket_accept_send_close() -> None:
    machine = connected(WebSocketMachine(spec_version="2.4"))
    assert machine.app_sent({"type": "websocket.accept", "headers": [(b"x-a", b"1")]}) == []
    assert machine.app_sent({"type": "websocket.send", "text": "hi"}) == []
    assert machine.app_sent({"type": "websocket.close", "code": 4000, "reason": "done"}) == []
    assert flagged(machine.app_sent({"type": "websocket.send", "text": "late"})) == [("WS-10", Verdict.WARN)]


def test_accept_headers_need_spec_2_1() -> None:
    machine = WebSocketMachine(spec_version="2.0")
    assert ids(machine.app_sent({"type": "websocket.accept", "headers": [(b"x-a", b"1")]})) == ["WS-11"]


def test_denial_response_flow_and_its_order() -> None:
    extensions = {"websocket.http.response": {}}
    machine = connected(WebSocketMachine(extensions, spec_version="2.4"))
    assert machine.app_sent({"type": "websocket.http.response.start", "status": 403, "headers": []}) == []
    assert machine.app_sent({"type": "websocket.http.response.body", "body": b"no", "more_body": False}) == []
    assert ids(machine.app_sent({"type": "websocket.accept"})) == ["EX-03"]
    unadvertised = WebSocketMachine(spec_version="2.4")
    assert "EX-01" in ids(unadvertised.app_sent({"type": "websocket.http.response.start", "status": 403}))


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        (1000, True),
        (1011, True),
        (3000, True),
        (4999, True),
        (1005, False),
        (1006, False),
        (2999, False),
        (5000, False),
    ],
)
def test_close_codes_follow_rfc_6455(code: int, valid: bool) -> None:
    assert (close_code_findings({"type": "websocket.close", "code": code}) == []) is valid


def test_lifespan_replies_in_order() -> None:
    machine = LifespanMachine()
    assert ids(machine.app_sent({"type": "lifespan.startup.complete"})) == ["LS-09"]  # before startup arrived
    machine.server_sent("lifespan.startup")
    assert machine.app_sent({"type": "lifespan.startup.complete"}) == []
    assert ids(machine.app_sent({"type": "lifespan.startup.complete"})) == ["LS-09"]  # twice
    machine.server_sent("lifespan.shutdown")
    assert machine.app_sent({"type": "lifespan.shutdown.failed", "message": "disk"}) == []


def test_allowed_value_types() -> None:
    assert disallowed_values({"a": [1, 2.5, "x", b"y", None, True, (1, 2)], "b": {"c": -(2**63)}}) == []
    problems = disallowed_values({"a": math.nan, "b": 2**64, "c": {1, 2}, "d": {1: "x"}})
    assert len(problems) == 4
