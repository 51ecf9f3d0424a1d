"""Whole runs for the rules added with the full catalogue: correct apps pass, and findings say enough."""

from __future__ import annotations

import os
from typing import Any

from tests.broken_apps import BROKEN_APPS, Receive, Send, compose, correct_lifespan, read_body
from tests.conftest import conform, explain, verdicts

THIS_FILE = os.path.abspath(__file__)


def flagged(report: Any) -> set[str]:
    return {check_id for check_id, verdict in verdicts(report).items() if verdict in {"fail", "warn"}}


async def reads_by_content_length(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Reads until Content-Length bytes are in, as frameworks do, never the final empty message."""
    length = int(dict(scope["headers"]).get(b"content-length", b"0"))
    body = b""
    while len(body) < length or not body and length == 0:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    answer = body or b"hello"
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(answer)).encode())]}
    )
    await send({"type": "http.response.body", "body": answer})


def test_a_body_complete_by_content_length_is_complete() -> None:
    report = conform(compose(http=reads_by_content_length))
    found = verdicts(report)
    assert not flagged(report), explain(report)
    assert found["ST-07"] == "pass" and found["ST-09"] == "pass"


async def uses_every_http_extension(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Early hints first, debug with framework objects, a push while streaming, pathsend with its size."""
    if await read_body(receive) is None:
        return  # the client left; nothing to answer
    extensions = scope.get("extensions") or {}
    if "http.response.early_hint" in extensions:
        await send({"type": "http.response.early_hint", "links": [b"</style.css>; rel=preload; as=style"]})
    if "http.response.debug" in extensions:
        await send({"type": "http.response.debug", "info": {"template": object(), "context": {"n": object()}}})
    size = os.path.getsize(THIS_FILE)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(size).encode())]})
    if "http.response.push" in extensions:
        await send({"type": "http.response.push", "path": "/style.css", "headers": [(b"accept", b"text/css")]})
    if "http.response.pathsend" in extensions:
        await send({"type": "http.response.pathsend", "path": THIS_FILE})
    else:
        with open(THIS_FILE, "rb") as file:
            await send({"type": "http.response.body", "body": file.read()})


def test_correct_use_of_push_debug_early_hints_and_pathsend_raises_nothing() -> None:
    report = conform(compose(http=uses_every_http_extension))
    found = verdicts(report)
    assert not flagged(report), explain(report)
    for check_id in ("EX-06", "EX-08", "EX-11", "EX-12", "SC-20", "HR-04"):
        assert found[check_id] == "pass", f"{check_id}\n{explain(report)}"


async def negotiates(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Picks a subprotocol only from those offered; sends accept headers only from spec 2.1."""
    await receive()
    spec = tuple(int(part) for part in scope.get("asgi", {}).get("spec_version", "2.0").split("."))
    offered = list(scope.get("subprotocols") or [])
    accept: dict[str, Any] = {"type": "websocket.accept", "subprotocol": offered[-1] if offered else None}
    if spec >= (2, 1):
        accept["headers"] = [(b"x-served-by", b"asgibench-test")]
    await send(accept)
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        await send({"type": "websocket.send", "text": message.get("text") or "bytes"})


def test_a_negotiating_websocket_app_passes_at_every_spec_version() -> None:
    report = conform(compose(websocket=negotiates))
    found = verdicts(report)
    assert not flagged(report), explain(report)
    assert found["WS-14"] == "pass" and found["WS-11"] == "pass"


def test_the_fake_server_varies_what_it_advertises() -> None:
    seen: list[dict[str, Any]] = []

    async def records(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        seen.append(scope)
        if scope["type"] == "lifespan":
            await correct_lifespan(scope, receive, send)
        elif scope["type"] == "websocket":
            await negotiates(scope, receive, send)
        elif scope["type"] == "http":
            await reads_by_content_length(scope, receive, send)
        else:
            raise RuntimeError("unsupported")

    conform(records)
    websockets = [scope for scope in seen if scope["type"] == "websocket" and "spec_version" in scope["asgi"]]
    minimal = [scope for scope in seen if scope["type"] == "websocket" and "spec_version" not in scope["asgi"]]
    assert minimal and not {"subprotocols", "client", "server", "scheme"} & set(minimal[0])  # SC-18's WebSocket twin
    assert {tuple(scope["subprotocols"]) for scope in websockets} == {(), ("asgibench.v2", "asgibench.v1")}
    assert {scope["asgi"]["spec_version"] for scope in websockets} >= {"2.0", "2.4", "2.5"}
    assert {bool(scope["extensions"]) for scope in websockets} == {True, False}
    http = [scope for scope in seen if scope["type"] == "http"]
    advertised = [scope for scope in http if scope.get("extensions")]
    assert advertised and len(advertised) < len(http)
    assert {"http.response.push", "http.response.debug"} <= set(advertised[0]["extensions"])


def test_the_blocking_call_is_named() -> None:
    broken = next(b for b in BROKEN_APPS if b.name == "sleeps_on_head")
    report = conform(broken.app, timeout=broken.timeout or 1.5)
    hr13 = next(result for result in report.checks if result.check.id == "HR-13")
    assert hr13.verdict.value == "warn", explain(report)
    assert "tests/broken_apps.py:" in hr13.message and "in sleeps_on_head: time.sleep(0.4)" in hr13.message


def test_websocket_disconnect_carries_reason_only_from_spec_2_5() -> None:
    disconnects: dict[str, dict[str, Any]] = {}

    async def watches(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        while (message := await receive())["type"] != "websocket.disconnect":
            pass
        disconnects[scope["asgi"]["spec_version"]] = message

    conform(compose(websocket=watches))
    assert "reason" in disconnects["2.5"] and "reason" not in disconnects["2.4"]


def test_starlette_error_reply_after_a_disconnect_is_not_counted() -> None:
    # ServerErrorMiddleware answers 500 for the ClientDisconnect it re-raises:
    # an error handler's last word, not an app that goes on sending.
    from reference_apps.starlette_app import app

    report = conform(app, ("POST:/echo",), timeout=2.0)
    assert verdicts(report)["DC-08"] == "pass", explain(report)


def test_the_minimal_scenarios_hand_over_events_without_optional_keys_and_with_unknown_ones() -> None:
    received: list[tuple[str, dict[str, Any]]] = []

    def recording(handler: Any) -> Any:
        async def wrapped(scope: dict[str, Any], receive: Receive, send: Send) -> None:
            # Only the minimal scopes leave out asgi.spec_version; the no-version scope leaves out both keys.
            kind = "full" if "spec_version" in scope["asgi"] else "minimal" if scope["asgi"] else "no version"

            async def spy() -> dict[str, Any]:
                message = await receive()
                received.append((kind, message))
                return message

            await handler(scope, spy, send)

        return wrapped

    conform(compose(http=recording(compose()), websocket=recording(compose())))
    minimal = [message for kind, message in received if kind == "minimal"]
    requests = [m for m in minimal if m["type"] == "http.request"]
    assert requests and all(set(m) == {"type", "asgibench.unknown_key"} for m in requests)
    data = [m for m in minimal if m["type"] == "websocket.receive"]
    assert {tuple(sorted(m)) for m in data} == {("asgibench.unknown_key", "bytes", "text", "type")}
    assert [m.get("text") is None for m in data] == [False, True]
    closing = next(m for m in minimal if m["type"] == "websocket.disconnect")
    assert closing["code"] == 1005 and closing["reason"] is None
    full_requests = [m for kind, m in received if kind == "full" and m["type"] == "http.request"]
    assert all("asgibench.unknown_key" not in m and "more_body" in m for m in full_requests)


def test_a_legacy_two_callable_app_is_recognised_and_an_asgi3_one_is_not() -> None:
    from functools import partial

    from asgibench.conformance.harness import is_legacy_double_callable

    class Legacy:
        def __init__(self, scope: dict[str, Any]) -> None: ...

    class Instance:
        async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None: ...

    def legacy_function(scope: dict[str, Any]) -> Any: ...

    async def asgi3(scope: dict[str, Any], receive: Receive, send: Send) -> None: ...

    assert is_legacy_double_callable(Legacy) and is_legacy_double_callable(legacy_function)
    assert not any(map(is_legacy_double_callable, (Instance(), asgi3, partial(asgi3), compose())))


def test_a_legacy_app_is_run_and_judged_like_any_other() -> None:
    broken = next(b for b in BROKEN_APPS if b.name == "legacy_double_callable")
    report = conform(broken.app, ("GET:/stream",))
    assert not flagged(report), explain(report)
    hr06 = next(result for result in report.checks if result.check.id == "HR-06")
    assert "legacy ASGI 2 app" in hr06.message and verdicts(report)["HR-01"] == "pass"


def test_a_scope_changed_after_its_call_returned_is_reported_as_late() -> None:
    broken = next(b for b in BROKEN_APPS if b.name == "mutates_scope_later")
    report = conform(broken.app)
    sc16 = next(result for result in report.checks if result.check.id == "SC-16")
    assert sc16.verdict.value == "warn"
    assert all("after the app call had returned" in e.finding.observed for e in sc16.evidence), explain(report)


def test_a_head_repeating_the_get_s_own_wrong_length_is_left_to_hr05() -> None:
    broken = next(b for b in BROKEN_APPS if b.name == "content_length_mismatch")
    found = verdicts(conform(broken.app))
    assert found["HR-05"] == "fail" and found["HR-14"] == "pass"


def test_sc21_compares_the_status_with_the_usual_request() -> None:
    broken = next(b for b in BROKEN_APPS if b.name == "lower_case_header_lookup")
    report = conform(broken.app)
    sc21 = next(result for result in report.checks if result.check.id == "SC-21")
    assert "answered 415 with mixed-case header names, but 200 to the usual request" in sc21.message, explain(report)


def _conditional_app(seen: list[bytes | None], not_modified_length: bytes | None, page_length: bytes = b"5") -> Any:
    """A page with an ETag that answers its revalidation with 304, declaring ``not_modified_length`` if given."""

    async def http(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if await read_body(receive) is None:
            return  # the client left; nothing to answer
        condition = dict(scope["headers"]).get(b"if-none-match")
        seen.append(condition)
        if condition == b'"v1"':
            headers = [(b"etag", b'"v1"')]
            if not_modified_length is not None:
                headers.append((b"content-length", not_modified_length))
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers = [(b"content-length", page_length), (b"etag", b'"v1"')]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"hello"})

    return compose(http=http)


def test_a_304_without_or_with_the_200_s_content_length_passes_and_was_asked_for() -> None:
    for declared in (None, b"5"):
        seen: list[bytes | None] = []
        report = conform(_conditional_app(seen, declared))
        assert not flagged(report), explain(report)
        assert seen.count(b'"v1"') == 1, "the GET was repeated once with If-None-Match"
        assert verdicts(report)["HR-12"] == "pass"


def test_a_304_repeating_the_200_s_own_wrong_length_is_left_to_hr05() -> None:
    report = conform(_conditional_app([], b"9", page_length=b"9"))
    found = verdicts(report)
    assert found["HR-05"] == "fail" and found["HR-12"] == "pass", explain(report)


def test_an_app_without_validators_is_not_revalidated() -> None:
    seen: list[bytes | None] = []

    async def http(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        seen.append(dict(scope["headers"]).get(b"if-none-match"))
        await _correct_http(scope, receive, send)

    conform(compose(http=http))
    assert seen and set(seen) == {None}


async def _correct_http(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    body = await read_body(receive)
    if body is None:
        return
    answer = body or b"hello"
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(answer)).encode())]}
    )
    await send({"type": "http.response.body", "body": answer})


async def strict_about_events(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Raises on any http.request that is not exactly as the spec types it, or on an unknown event type."""
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        if message["type"] != "http.request":
            raise ValueError(f"unexpected event {message['type']!r}")
        chunk, more = message.get("body", b""), message.get("more_body", False)
        if not isinstance(chunk, bytes) or not isinstance(more, bool):
            raise TypeError("invalid http.request")
        body += chunk
        if not more:
            break
    await _answer_with(send, body or b"hello")


async def strict_websocket(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "websocket.accept"})
    while (message := await receive())["type"] != "websocket.disconnect":
        text, data = message.get("text"), message.get("bytes")
        if (text is None) == (data is None) or not isinstance(text, str | None) or not isinstance(data, bytes | None):
            raise ValueError("invalid websocket.receive")


async def _answer_with(send: Send, body: bytes) -> None:
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]}
    )
    await send({"type": "http.response.body", "body": body})


def test_every_malformed_event_is_handed_over_and_an_app_that_raises_passes() -> None:
    report = conform(compose(http=strict_about_events, websocket=strict_websocket))
    assert verdicts(report)["ER-06"] == "pass", explain(report)


def test_carrying_on_after_the_newer_malformed_events_is_recorded_not_warned() -> None:
    report = conform(compose())
    er06 = next(result for result in report.checks if result.check.id == "ER-06")
    assert er06.verdict.value == "info", explain(report)
    observed = " | ".join(e.finding.observed for e in er06.evidence)
    for shape in ("more_body is the int 0", "event of unknown type", "both bytes and text set"):
        assert shape in observed, explain(report)


def test_sc21_lets_an_extension_method_or_an_unknown_path_get_another_status() -> None:
    async def http(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["method"] not in {"GET", "HEAD", "POST"}:
            body, status = b"not implemented", 501
        elif scope["path"] != "/":
            body, status = b"not found", 404
        else:
            body, status = b"hello", 200
        if await read_body(receive) is None:
            return
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-length", str(len(body)).encode())]}
        )
        await send({"type": "http.response.body", "body": body})

    report = conform(compose(http=http))
    assert verdicts(report)["SC-21"] == "pass", explain(report)


def test_an_app_that_runs_lifespan_once_only_is_not_blamed_for_the_missing_state() -> None:
    runs: list[int] = []

    async def once(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        runs.append(1)
        if len(runs) > 1:
            await receive()
            raise RuntimeError("lifespan already ran")
        await correct_lifespan(scope, receive, send)

    report = conform(compose(lifespan=once))
    assert len(runs) == 3, "the first cycle, the one without state, and the control with state"
    assert not flagged(report), explain(report)
    ls11 = next(result for result in report.checks if result.check.id == "LS-11")
    assert "runs lifespan once only" in ls11.message, explain(report)


def test_a_lifespan_that_declines_to_run_without_state_is_recorded() -> None:
    async def declines(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()
        if "state" not in scope:
            await send({"type": "lifespan.startup.failed", "message": "this app needs lifespan state"})
            return
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})

    report = conform(compose(lifespan=declines))
    assert not flagged(report), explain(report)
    ls11 = next(result for result in report.checks if result.check.id == "LS-11")
    assert "this app needs lifespan state" in ls11.message, explain(report)
