"""Turn how each scenario ended into findings for the scenario-level checks.

The state machines judge each message; this module judges the whole run:
did the app answer, return, stop after a disconnect, crash, read the whole
body, answer alike to the same request framed differently. Pure functions of
the outcome's observation and its scenario (no I/O): whoever filled the
record, the fake server or a hand-built test, the verdicts are the same.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from asgibench.conformance.findings import Finding, Verdict
from asgibench.conformance.lifespan_machine import IDLE, STARTED, STARTING, STARTUP_FAILED, STOPPED, STOPPING
from asgibench.conformance.observation import (
    AppEnding,
    ClientSide,
    Departure,
    Ending,
    LifespanSide,
    ResponseSide,
    Step,
)
from asgibench.conformance.outcome import Outcome
from asgibench.conformance.scenarios import Leave, Malformation, Role, Variation


def judge(outcome: Outcome) -> None:
    """Add the scenario-level findings to ``outcome``."""
    scenario = outcome.scenario
    if scenario is None or outcome.ending is Ending.NOT_RUN:
        return
    if scenario.role is Role.UNKNOWN_SCOPE:
        _unknown_scope(outcome)
        return
    _return_value(outcome)
    if scenario.role is not Role.MALFORMED:
        _loop_blocking(outcome)
        _zerocopy_files_closed(outcome)
        _sends_after_disconnect(outcome)
    if scenario.role in {Role.REQUEST, *_REDUCED}:
        _late_response(outcome)
    if scenario.role in _REDUCED and outcome.ending is Ending.TIMED_OUT:
        _timed_out(outcome, left_early=False, disconnect_check="DC-06")
    if scenario.role is Role.REQUEST:
        _request(outcome)
    elif scenario.role is Role.MINIMAL_SCOPE:
        _tolerated(outcome, "SC-18", "with only the required scope and event keys, plus unknown ones")
    elif scenario.role is Role.NO_ASGI_VERSION:
        # Every server sends the version; the spec's default matters to no scope seen in the field.
        _tolerated(outcome, "SC-18", "with no version in scope['asgi']", Verdict.INFO)
    elif scenario.role is Role.UNUSUAL:
        # 501 is what RFC 9110 §9.1 asks for on a method the server does not implement.
        accepted = frozenset({501}) if scenario.variation is Variation.EXTENSION_METHOD else frozenset()
        _tolerated(outcome, "SC-21", f"with {scenario.variation}", accepted=accepted)
    elif scenario.role is Role.NO_LIFESPAN:
        _tolerated(outcome, "LS-11", "before lifespan ran, with no state")
    elif scenario.role is Role.NO_STATE:
        _tolerated(outcome, "LS-11", "after a lifespan cycle without state, with no state")
    elif scenario.role is Role.MALFORMED:
        _malformed(outcome)
    elif scenario.role is Role.WEBSOCKET:
        _websocket(outcome)
    elif scenario.role is Role.WEBSOCKET_MINIMAL:
        _websocket(outcome, crash_check="SC-18")


# HTTP scenarios that vary the usual request and are judged against it (judge_tolerance).
_REDUCED = frozenset({Role.MINIMAL_SCOPE, Role.NO_ASGI_VERSION, Role.UNUSUAL, Role.NO_LIFESPAN, Role.NO_STATE})
_TOLERANCE_CHECKS = {
    Role.MINIMAL_SCOPE: "SC-18",
    Role.NO_ASGI_VERSION: "SC-18",
    Role.UNUSUAL: "SC-21",
    Role.NO_LIFESPAN: "LS-11",
    Role.NO_STATE: "LS-11",
    Role.WEBSOCKET_MINIMAL: "SC-18",
}


def _add(outcome: Outcome, check_id: str, verdict: Verdict, observed: str, expected: str = "") -> None:
    outcome.findings.append(Finding(check_id, verdict, observed, expected))
    outcome.exercised.add(check_id)


def _client(outcome: Outcome) -> ClientSide:
    """The client's side; a record without one (a probe's) reads as a client that never left."""
    return outcome.observation.client or ClientSide()


def _response(outcome: Outcome) -> ResponseSide:
    return outcome.observation.response or ResponseSide()


def _escaped(outcome: Outcome) -> bool:
    """An exception of the app's own left the app.

    Not one asgibench raised into it: a refused message (already reported) or
    the spec 2.4 ClientDisconnected, which apps may let escape.
    """
    end = outcome.end
    return end.kind is Ending.RAISED and not end.refused_send and not end.client_disconnected


def _sent_count(outcome: Outcome) -> int:
    return len(outcome.observation.app.of_kind(Step.SEND))


def _late_response(outcome: Outcome) -> None:
    """HR-11 for a response that did complete, but only after the deadline.

    Synchronous code that blocks the loop can finish its response before the
    deadline's timer gets a chance to fire; the clock still says it was late.
    """
    end = outcome.end
    if end.kind is Ending.TIMED_OUT or not _response(outcome).complete or end.elapsed <= end.deadline:
        return
    _add(
        outcome,
        "HR-11",
        Verdict.FAIL,
        f"the response took {end.elapsed:.2f} s, past the {end.deadline:.2f} s deadline" + _blocked_note(outcome),
        "a complete response within the deadline",
    )


def _return_value(outcome: Outcome) -> None:
    outcome.exercised.add("HR-06")
    end = outcome.end
    _how_called(outcome)
    if end.not_awaitable:
        _add(outcome, "HR-06", Verdict.FAIL, end.exception_message, "a coroutine (async def)")
    elif end.kind is Ending.RETURNED and end.return_value is not None:
        _add(outcome, "HR-06", Verdict.INFO, f"the app returned {end.return_value!r:.60} (servers ignore it)")


def _how_called(outcome: Outcome) -> None:
    """HR-06: a legacy two-callable app (run, and recorded), and calls made from outside the app's loop."""
    end = outcome.end
    if end.legacy_double_callable:
        _add(
            outcome,
            "HR-06",
            Verdict.INFO,
            "legacy ASGI 2 app: app(scope) returns the callable that takes receive and send; asgibench ran it "
            "that way, as servers should try to (asgiref.compatibility.guarantee_single_callable wraps it)",
        )
    if end.other_loop_calls:
        calls = sorted(set(end.other_loop_calls))
        _add(
            outcome,
            "HR-06",
            Verdict.WARN,
            f"{' and '.join(f'{call}()' for call in calls)} called from another event loop or thread than the one "
            "that called the app",
            "await receive() and send() in the app's own event loop",
        )


# A loop late by more than this was blocked by synchronous code (HR-13).
BLOCKING_LIMIT = 0.25


def _blocked(end: AppEnding) -> bool:
    return end.loop_blocked or end.max_loop_lag > BLOCKING_LIMIT


def _blocked_note(outcome: Outcome) -> str:
    end = outcome.end
    if not _blocked(end):
        return ""
    where = f" at {end.blocking_call.where}" if end.blocking_call else ""
    lag = max(end.max_loop_lag, end.blocking_call.lateness if end.blocking_call else 0.0)
    return f"; the event loop was blocked for {lag * 1000:.0f} ms{where} (synchronous code in the app)"


def _loop_blocking(outcome: Outcome) -> None:
    """HR-13: synchronous code stalled the event loop, and a stack sample shows whose."""
    outcome.exercised.add("HR-13")
    end = outcome.end
    call = end.blocking_call
    # A late loop with no app or package code on its stack was the machine's
    # doing (another process had the CPU), not the app's.
    if call is None or not _blocked(end):
        return
    lag = max(end.max_loop_lag, call.lateness)
    _add(
        outcome,
        "HR-13",
        Verdict.WARN,
        f"the event loop was blocked for {lag * 1000:.0f} ms at {call.where}",
        "await, or run synchronous work in a thread (asyncio.to_thread)",
    )


def _sends_after_disconnect(outcome: Outcome) -> None:
    """DC-09 for a success answer to a body cut short; DC-08 for any other send after the disconnect.

    An error response (5xx) is an error handler's last word (Starlette's
    ServerErrorMiddleware sends a 500 for ClientDisconnect and re-raises;
    Litestar answers 500 and returns), not the app carrying on: it is not
    counted. Up to RACING_SENDS other sends are a race and only recorded; more
    is an app that keeps sending.
    """
    client = _client(outcome)
    sent: list[tuple[int, Any]] = client.sent_after_disconnect
    if not sent:
        return
    starts = [(i, m) for i, m in sent if isinstance(m, dict) and m.get("type") == "http.response.start"]
    statuses = [m.get("status") for _, m in starts]
    success = next(((i, s) for (i, _), s in zip(starts, statuses, strict=True) if isinstance(s, int) and s < 400), None)
    if success is not None and client.disconnect_mid_body:
        index, status = success
        outcome.findings.append(
            Finding(
                "DC-09",
                Verdict.WARN,
                f"answered {status} to a request whose body was cut short by the disconnect "
                f"({client.body_bytes_delivered} of {client.body_bytes} bytes received)",
                "no success answer for an incomplete upload",
                index,
            )
        )
        return
    error_reply = (
        starts
        and all(isinstance(s, int) and s >= 500 for s in statuses)
        and all(isinstance(m, dict) and m.get("type") in _ERROR_REPLY_TYPES for _, m in sent)
    )
    if error_reply:
        return
    index, message = sent[-1] if len(sent) > RACING_SENDS else sent[0]
    message_type = message.get("type") if isinstance(message, dict) else type(message).__name__
    if len(sent) <= RACING_SENDS:
        # A concurrent app hears of the disconnect in one task while another is mid-send: it stopped soon after.
        outcome.findings.append(
            Finding(
                "DC-08",
                Verdict.INFO,
                f"{len(sent)} send(s) after the disconnect, then it stopped",
                "no send() once the client has gone",
                index,
            )
        )
        return
    outcome.findings.append(
        Finding(
            "DC-08",
            Verdict.WARN,
            f"kept sending after receive() had returned the disconnect: {len(sent)} send(s), the last {message_type}",
            "no send() once the client has gone",
            index,
        )
    )


_ERROR_REPLY_TYPES = frozenset({"http.response.start", "http.response.body"})
# Sends after the disconnect that are still a race, not an app carrying on: a concurrent app (Django's disconnect
# listener cancelling its response task) lets a streaming task send a message or two before the cancellation lands.
RACING_SENDS = 2


def _zerocopy_files_closed(outcome: Outcome) -> None:
    """EX-07: the app closes the files it handed to zerocopysend once it is done."""
    files = _response(outcome).zerocopy_files
    if not files or outcome.ending not in {Ending.RETURNED, Ending.RAISED}:
        return
    still_open = [file for file in files if getattr(file, "closed", True) is False]
    if still_open:
        _add(
            outcome,
            "EX-07",
            Verdict.WARN,
            f"the file sent with zerocopysend is still open after the app returned: {still_open[0]!r:.60}",
            "the app closes the file (servers do not)",
        )


def _request(outcome: Outcome) -> None:
    scenario, client, response = outcome.scenario, _client(outcome), _response(outcome)
    assert scenario is not None
    outcome.exercised.update({"HR-03", "HR-11", "ER-07"})
    left_early = client.gone_at_end and client.left is not Departure.AFTER_COMPLETE_RESPONSE
    disconnect_check = "DC-07" if scenario.send_raises_after_leaving else "DC-06"
    if left_early:
        outcome.exercised.add(disconnect_check)
    _body_reading(outcome)
    if outcome.ending is Ending.TIMED_OUT:
        _timed_out(outcome, left_early, disconnect_check)
        return
    if _escaped(outcome) and not outcome.end.not_awaitable:
        text = outcome.end.exception_text
        if left_early:
            _add(outcome, disconnect_check, Verdict.INFO, f"{text} escaped after the client left (allowed)")
        elif client.gone_at_end:
            _add(
                outcome,
                "ER-07",
                Verdict.WARN,
                f"{text} escaped after the response was complete",
                "no exception once the response is done",
            )
        else:
            where = "before the response started" if not response.started else "mid-response"
            _add(
                outcome,
                "ER-07",
                Verdict.FAIL,
                f"{text} escaped {where} while the client was connected",
                "a response (e.g. 500), not a crash",
            )
        return
    if outcome.ending is Ending.RETURNED and not response.complete and not left_early:
        if not response.started:
            _add(outcome, "HR-03", Verdict.FAIL, "the app returned without sending any response", "a complete response")
        else:
            _add(
                outcome,
                "HR-03",
                Verdict.FAIL,
                "the app returned before the final body (more_body=False never sent)",
                "http.response.body with more_body=False",
            )


def _timed_out(outcome: Outcome, left_early: bool, disconnect_check: str) -> None:
    """Why an HTTP scenario ran past its deadline, and which check that breaks."""
    client, response = _client(outcome), _response(outcome)
    outcome.exercised.add("HR-11")
    waited = f"{outcome.elapsed:.2f} s"
    if left_early:
        _add(
            outcome,
            disconnect_check,
            Verdict.WARN,
            f"still running {waited} after the client disconnected {client.left}" + _blocked_note(outcome),
            "the app notices the disconnect and returns",
        )
    elif client.gone_at_end:
        _add(
            outcome,
            "HR-11",
            Verdict.WARN,
            f"the response was complete but the app kept running for {waited} (background work?)",
            "return soon after the final body",
        )
    elif client.parked_after_body_at_deadline and not response.started:
        _add(
            outcome,
            "ST-08",
            Verdict.WARN,
            "after the final body chunk (more_body=False) the app waited in receive() and never answered",
            "process the request once more_body is False",
        )
    elif _still_streaming(outcome):
        _add(
            outcome,
            "HR-11",
            Verdict.INFO,
            f"still streaming at the deadline ({response.body_messages} body messages so far): a long-lived "
            "stream; DC-06/DC-07 judge whether it stops when the client leaves",
        )
    else:
        progress = "never sent http.response.start" if not response.started else "started but never sent the final body"
        _add(
            outcome,
            "HR-11",
            Verdict.FAIL,
            f"no complete response within {waited}: the app {progress}" + _blocked_note(outcome),
            "a complete response",
        )


def _still_streaming(outcome: Outcome) -> bool:
    """The app was sending body chunks right up to the deadline (SSE, long polls)."""
    response = _response(outcome)
    sent_at = [event.at for event in outcome.observation.app.of_kind(Step.SEND)]
    if not response.started or response.body_messages < 2 or not sent_at:
        return False
    quiet = outcome.elapsed - max(sent_at)
    return quiet < max(0.25 * outcome.end.deadline, 0.05)


def _body_reading(outcome: Outcome) -> None:
    """ST-07: an app that read part of a multi-message body must not answer success."""
    scenario, client, response = outcome.scenario, _client(outcome), _response(outcome)
    assert scenario is not None
    if len(scenario.body) < 2 or client.body_messages_delivered == 0 or scenario.leave is not Leave.AFTER_RESPONSE:
        return
    outcome.exercised.update({"ST-07", "ST-08"})
    stopped_reading = client.receives_after_start == 0
    # A body complete by its Content-Length is read, final empty message or not.
    if stopped_reading and not client.body_complete and response.complete and (response.status or 0) < 400:
        _add(
            outcome,
            "ST-07",
            Verdict.WARN,
            f"read {client.body_messages_delivered} of {client.body_messages} body messages "
            f"({client.body_bytes_delivered} of {client.body_bytes} bytes), then answered {response.status}",
            "read until more_body=False before answering",
        )


def _tolerated(
    outcome: Outcome,
    check_id: str,
    situation: str,
    verdict: Verdict = Verdict.WARN,
    accepted: frozenset[int] = frozenset(),
) -> None:
    """A crash or a 5xx (not an ``accepted`` one) in a reduced scope.

    judge_tolerance drops the finding when the full scope fails too.
    """
    outcome.exercised.add(check_id)
    status = _response(outcome).status
    if status in accepted:
        status = None
    if _escaped(outcome):
        _add(
            outcome,
            check_id,
            verdict,
            f"{outcome.end.exception_text} escaped {situation}",
            "an answer, not a crash",
        )
    elif status is not None and status >= 500:
        _add(outcome, check_id, verdict, f"answered {status} {situation}", "a non-5xx answer")


def _failed_plainly(outcome: Outcome) -> bool:
    status = _response(outcome).status
    return _escaped(outcome) or (status is not None and status >= 500)


def _usual(outcomes: list[Outcome]) -> dict[object, Outcome]:
    """The usual request of each route: the plain HTTP request, or the first WebSocket scenario."""
    baseline: dict[object, Outcome] = {}
    for outcome in outcomes:
        scenario = outcome.scenario
        if scenario is None:
            continue
        plain_http = (
            scenario.role is Role.REQUEST
            and not scenario.revalidates
            and not scenario.extensions
            and scenario.leave is Leave.AFTER_RESPONSE
            and scenario.http_version == "1.1"
        )
        if plain_http or scenario.role is Role.WEBSOCKET:
            baseline.setdefault(scenario.route, outcome)
    return baseline


def judge_tolerance(outcomes: list[Outcome]) -> None:
    """SC-18, SC-21 and LS-11 blame the varied request only when the usual one works.

    An app that crashes on every request crashes without optional keys too;
    that is ER-07's finding, not a missing-key one. SC-21 also compares the
    status: a request that differs only in valid details gets the usual answer
    (not one to another method or path, which may rightly get a 405 or a 404).
    """
    baseline = _usual(outcomes)
    for outcome in outcomes:
        scenario = outcome.scenario
        check_id = _TOLERANCE_CHECKS.get(scenario.role) if scenario is not None else None
        if scenario is None or check_id is None:
            continue
        reference = baseline.get(scenario.route)
        if reference is not None and _failed_plainly(reference):
            outcome.findings = [f for f in outcome.findings if f.check_id != check_id]
        elif reference is not None and scenario.role is Role.UNUSUAL and scenario.variation.keeps_status:
            _same_status(outcome, reference, f"with {scenario.variation}")


def _same_status(outcome: Outcome, reference: Outcome, situation: str) -> None:
    """SC-21: the varied request got the usual request's status (a crash or 5xx is reported already)."""
    usual, answer = _response(reference), _response(outcome)
    if not usual.complete or not answer.complete or usual.status == answer.status:
        return
    if any(f.check_id == "SC-21" for f in outcome.findings):
        return
    _add(
        outcome,
        "SC-21",
        Verdict.WARN,
        f"answered {answer.status} {situation}, but {usual.status} to the usual request",
        f"status {usual.status}",
    )


# Fields a HEAD response may leave out, since only generating the content decides them (RFC 9110 §9.3.2).
_CONTENT_DETERMINED = frozenset({b"content-length", b"transfer-encoding"})


def judge_head(outcomes: list[Outcome]) -> None:
    """HR-14: a HEAD answers as the GET to the same target would, without the content."""
    gets: dict[tuple[str, bytes], Outcome] = {}
    heads: list[Outcome] = []
    for outcome in _usual(outcomes).values():
        route = outcome.scenario.route if outcome.scenario else None
        if route is not None and route.method == "GET":
            gets[(route.path, route.query)] = outcome
        elif route is not None and route.method == "HEAD":
            heads.append(outcome)
    for head in heads:
        assert head.scenario is not None
        get = gets.get((head.scenario.route.path, head.scenario.route.query))
        if get is None or not _response(get).complete or not _response(head).complete:
            continue
        _compare_head(head, _response(head), _response(get))


def _compare_head(outcome: Outcome, head: ResponseSide, get: ResponseSide) -> None:
    outcome.exercised.add("HR-14")
    if head.status != get.status:
        _add(
            outcome,
            "HR-14",
            Verdict.WARN,
            f"HEAD answered {head.status}, GET {get.status}"
            + (" (HEAD not served)" if head.status in {404, 405, 501} else ""),
            f"status {get.status}",
        )
        return
    declared, get_length = _declared_length(head), str(len(get.body)).encode()
    # A GET whose own Content-Length is wrong is HR-05's finding; the HEAD that repeats it is not blamed.
    if declared is not None and declared != get_length and _declared_length(get) in {None, get_length}:
        _add(
            outcome,
            "HR-14",
            Verdict.FAIL,
            f"HEAD declared Content-Length {declared.decode('latin-1')}, but GET sent {len(get.body)} body bytes",
            f"Content-Length {len(get.body)}, or none",
        )
    head_names = {name.lower() for name, _ in head.headers}
    get_names = {name.lower() for name, _ in get.headers}
    missing = sorted(get_names - head_names - _CONTENT_DETERMINED)
    extra = sorted(head_names - get_names - _CONTENT_DETERMINED)
    if missing or extra:
        parts = ([f"lacks {_names(missing)}"] if missing else []) + ([f"adds {_names(extra)}"] if extra else [])
        _add(
            outcome,
            "HR-14",
            Verdict.WARN,
            f"the HEAD response {' and '.join(parts)}, compared with GET",
            "the header fields GET sends",
        )


def _declared_length(response: ResponseSide) -> bytes | None:
    return next((value.strip() for name, value in response.headers if name.lower() == b"content-length"), None)


def _names(names: list[bytes]) -> str:
    return ", ".join(name.decode("latin-1") for name in names)


def judge_revalidation(outcomes: list[Outcome]) -> None:
    """HR-12: a 304 to a conditional repeat of a GET declares no Content-Length but the 200's.

    Body bytes on the 304 are the machine's HR-12 finding already; this compares
    the declared length with the body the plain GET's 200 carried.
    """
    usual = _usual(outcomes)
    for outcome in outcomes:
        scenario = outcome.scenario
        if scenario is None or not scenario.revalidates:
            continue
        reference, answer = usual.get(scenario.route), _response(outcome)
        if reference is None or not answer.complete or answer.status != 304:
            continue
        outcome.exercised.add("HR-12")
        ok = _response(reference)
        declared, length = _declared_length(answer), str(len(ok.body)).encode()
        # A 200 whose own Content-Length is wrong is HR-05's finding; the 304 that repeats it is not blamed.
        if declared is None or declared == length or _declared_length(ok) not in {None, length}:
            continue
        _add(
            outcome,
            "HR-12",
            Verdict.WARN,
            f"the 304 declared Content-Length {declared.decode('latin-1')}, but the 200 to the same request sent "
            f"{len(ok.body)} body bytes",
            f"Content-Length {len(ok.body)}, or none",
        )


def _malformed(outcome: Outcome) -> None:
    # What the app sends after a malformed event is a consequence of asgibench's
    # own bad input (an echo of a str body, say); only the reaction counts.
    outcome.findings.clear()
    outcome.exercised = {"HR-06"}
    scenario, client = outcome.scenario, _client(outcome)
    assert scenario is not None
    malformation = scenario.malformation or Malformation.STR_BODY
    if not client.received_malformed:
        return
    # The unknown-type event comes before the body: one receive() more for an app that reads on.
    reads = client.body_messages + (1 if malformation is Malformation.UNKNOWN_TYPE else 0)
    if not scenario.is_websocket and client.receive_calls > reads:
        # Read by a loop that only waits for http.disconnect (Starlette's listener) and so never looks at it.
        return
    outcome.exercised.add("ER-06")
    if outcome.ending is not Ending.RAISED:
        _add(
            outcome,
            "ER-06",
            Verdict.WARN if malformation.warns else Verdict.INFO,
            f"received {malformation} and did not raise",
            "an exception",
        )


def _unknown_scope(outcome: Outcome) -> None:
    # Messages sent into an unknown scope mean nothing; only the rejection counts.
    outcome.findings.clear()
    outcome.exercised = {"SC-17"}
    sent = _sent_count(outcome)
    if outcome.ending is Ending.RETURNED:
        _add(
            outcome,
            "SC-17",
            Verdict.WARN,
            f"returned normally for scope type 'asgibench.unknown' after sending {sent} message(s)",
            "raise an exception",
        )
    elif outcome.ending is Ending.TIMED_OUT:
        _add(
            outcome,
            "SC-17",
            Verdict.WARN,
            "waited instead of rejecting scope type 'asgibench.unknown'",
            "raise an exception",
        )


def _websocket(outcome: Outcome, crash_check: str = "ER-07") -> None:
    """A WebSocket scenario; a crash while connected fails ER-07, or warns SC-18 on a minimal scope."""
    client, response, text = _client(outcome), _response(outcome), outcome.end.exception_text
    outcome.exercised.update({"WS-10", "WS-13", "ER-07", crash_check})
    sent = _sent_count(outcome) > 0
    if outcome.ending is Ending.TIMED_OUT:
        if not response.answered:
            _add(
                outcome,
                "WS-13",
                Verdict.FAIL,
                "no websocket.accept or websocket.close within the deadline" + _blocked_note(outcome),
                "answer the handshake",
            )
            return
        if client.gone:
            observed = f"still running {outcome.elapsed:.2f} s after the client closed ({client.left})"
        else:
            observed = "still running at the deadline"
        _add(outcome, "WS-13", Verdict.WARN, observed + _blocked_note(outcome), "return once the client has gone")
    elif _escaped(outcome) and not outcome.end.not_awaitable:
        if crash_check != "ER-07" and not client.gone_at_end:
            # judge_tolerance drops it when the usual WebSocket scenario fails the same way.
            _add(
                outcome,
                crash_check,
                Verdict.WARN,
                f"{text} escaped while the client was connected, with only the required scope keys and events "
                "spelled as a server may",
                "an answer, not a crash",
            )
        elif not sent:
            _add(outcome, "SC-17", Verdict.INFO, f"websocket unsupported: raised {text} at once")
        elif client.gone_at_end:
            _add(outcome, "WS-13", Verdict.INFO, f"{text} escaped after the client closed (allowed)")
        else:
            _add(
                outcome,
                "ER-07",
                Verdict.FAIL,
                f"{text} escaped while the client was connected",
                "close the socket, not a crash",
            )
    elif outcome.ending is Ending.RETURNED and not response.answered:
        _add(
            outcome,
            "WS-10",
            Verdict.FAIL,
            "returned without websocket.accept or websocket.close",
            "accept or close (servers answer 403 or 500 otherwise)",
        )


def judge_differential(outcomes: list[Outcome]) -> None:
    """ST-09: requests framed differently must answer as the controls agree."""
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        if outcome.scenario is not None and outcome.scenario.differential:
            groups[outcome.scenario.differential].append(outcome)
    for group in groups.values():
        controls = [o for o in group if o.scenario and o.scenario.control and _response(o).complete]
        if len(controls) < 2:
            continue
        statuses = {_response(o).status for o in controls}
        bodies = {bytes(_response(o).body) for o in controls}
        for variant in (o for o in group if o.scenario and not o.scenario.control and _response(o).complete):
            variant.exercised.add("ST-09")
            reference, answer = _response(controls[0]), _response(variant)
            if len(statuses) == 1 and answer.status != reference.status:
                _add(
                    variant,
                    "ST-09",
                    Verdict.FAIL,
                    f"answered {answer.status}, but {reference.status} to the body in one message",
                    f"status {reference.status}",
                )
            elif len(statuses) == 1 and len(bodies) == 1 and bytes(answer.body) != bytes(reference.body):
                _add(
                    variant,
                    "ST-09",
                    Verdict.FAIL,
                    "body differs from the one-message answer: "
                    + _first_difference(bytes(reference.body), bytes(answer.body)),
                    "the same body",
                )
            elif len(bodies) > 1:
                _add(variant, "ST-09", Verdict.INFO, "two identical requests got different bodies; bodies not compared")


def _first_difference(expected: bytes, got: bytes) -> str:
    index = next(
        (i for i, (a, b) in enumerate(zip(expected, got, strict=False)) if a != b), min(len(expected), len(got))
    )
    return (
        f"{len(got)} bytes vs {len(expected)}, first difference at byte {index}: "
        f"{got[index : index + 16]!r} vs {expected[index : index + 16]!r}"
    )


def judge_lifespan(outcome: Outcome) -> None:
    """The lifespan scope, from the phases its observation records."""
    phases = outcome.observation.lifespan
    if phases is None:
        return
    outcome.exercised.update({"LS-09", "LS-10", "LS-12"})
    if outcome.ending is Ending.NOT_RUN:
        return
    end = outcome.end
    _how_called(outcome)
    own = end.refused_send
    raised = end.kind is Ending.RAISED and not own
    after = phases.state_after_startup
    if after == IDLE:
        if raised:
            _add(outcome, "SC-17", Verdict.INFO, f"lifespan unsupported: raised {end.exception_text} at once")
        elif phases.startup_timed_out:
            _add(outcome, "LS-12", Verdict.FAIL, "never called receive() for lifespan.startup", "a reply to startup")
        else:
            _add(outcome, "LS-09", Verdict.INFO, "returned without reading lifespan.startup (treated as unsupported)")
    elif after == STARTING:
        if phases.startup_timed_out:
            _add(
                outcome,
                "LS-12",
                Verdict.FAIL,
                f"no reply to lifespan.startup within {phases.deadline:.2f} s",
                "lifespan.startup.complete or .failed",
            )
        elif raised:
            _add(
                outcome,
                "LS-10",
                Verdict.WARN,
                f"raised {end.exception_text} during startup",
                "send lifespan.startup.failed",
            )
        elif not own:
            _add(outcome, "LS-09", Verdict.INFO, "returned without answering lifespan.startup")
    elif after == STARTUP_FAILED:
        message = next(
            (
                sent.get("message", "")
                for sent in outcome.observation.app.sent()
                if isinstance(sent, dict) and sent.get("type") == "lifespan.startup.failed"
            ),
            "",
        )
        _add(outcome, "LS-09", Verdict.INFO, f"startup failed: {str(message)[:80]!r} (a server would exit here)")
    elif after == STARTED:
        _shutdown(outcome, phases, raised)


def _shutdown(outcome: Outcome, phases: LifespanSide, raised: bool) -> None:
    if not phases.shutdown_sent:
        _add(outcome, "LS-09", Verdict.INFO, "the lifespan call ended before lifespan.shutdown was sent")
    elif phases.shutdown_timed_out:
        _add(
            outcome,
            "LS-12",
            Verdict.FAIL,
            f"no reply to lifespan.shutdown within {phases.deadline:.2f} s",
            "lifespan.shutdown.complete or .failed",
        )
    elif phases.state_after_shutdown == STOPPING:
        if raised:
            _add(
                outcome,
                "LS-10",
                Verdict.INFO,
                f"raised {outcome.end.exception_text} during shutdown (lifespan.shutdown.failed would say so)",
            )
        else:
            _add(outcome, "LS-09", Verdict.INFO, "returned without answering lifespan.shutdown")
    elif phases.state_after_shutdown == STOPPED and phases.returned_after_shutdown is False:
        _add(outcome, "LS-09", Verdict.INFO, "still running after lifespan.shutdown.complete")


def judge_stateless_lifespan(outcome: Outcome, reference: Outcome, control: Outcome | None = None) -> None:
    """LS-11: a second lifespan cycle, its scope without state, goes as the first one did.

    Judged only after a first cycle that started and stopped cleanly. When the
    second cycle goes wrong, ``control`` is a third one with state again: if it
    goes wrong too, the app cannot run lifespan twice, and the missing state is
    not to blame. A startup.failed that says why is the app declining to run
    without the feature, as the spec lets it: recorded. A crash or a missing
    reply is not.
    """
    phases, first = outcome.observation.lifespan, reference.observation.lifespan
    if phases is None or not _clean_cycle(first) or outcome.ending is Ending.NOT_RUN:
        return
    outcome.exercised.add("LS-11")
    if _clean_cycle(phases):
        return
    if control is None or not _clean_cycle(control.observation.lifespan):
        _add(
            outcome,
            "LS-11",
            Verdict.INFO,
            "a second lifespan cycle goes wrong with state in its scope too: the app runs lifespan once only, "
            "so its handling of a scope without state is not known",
        )
        return
    end, situation = outcome.end, "with no state in the lifespan scope, where the same cycle with state succeeds"
    raised = end.kind is Ending.RAISED and not end.refused_send
    expected = "the same startup and shutdown as with state (or startup.failed saying why)"
    if phases.state_after_startup == STARTUP_FAILED:
        message = next(
            (
                sent.get("message", "")
                for sent in outcome.observation.app.sent()
                if isinstance(sent, dict) and sent.get("type") == "lifespan.startup.failed"
            ),
            "",
        )
        last_line = (str(message).strip().splitlines() or [""])[-1]  # a traceback's last line names the error
        _add(outcome, "LS-11", Verdict.INFO, f"startup failed {situation}: {last_line[:160]!r}")
    elif phases.state_after_startup in {IDLE, STARTING}:
        what = f"raised {end.exception_text}" if raised else "gave no reply to lifespan.startup"
        _add(outcome, "LS-11", Verdict.WARN, f"{what} during startup {situation}", expected)
    else:
        what = f"raised {end.exception_text}" if raised else "gave no reply to lifespan.shutdown"
        _add(outcome, "LS-11", Verdict.WARN, f"{what} during shutdown {situation}", expected)


def _clean_cycle(phases: LifespanSide | None) -> bool:
    return phases is not None and phases.state_after_startup == STARTED and phases.state_after_shutdown == STOPPED
