"""Server-side verdicts read off the wire: HTTP/2 multiplexing (HR-15), Transfer-Encoding and Content-Length
where HTTP forbids them (HR-16), the Date header (HR-17), and back-pressure on the response (ST-06). Pure.

Each rule takes the probe's judge (see ``judge.py``, which runs them with its
own) and adds findings from the observations of the cases that feed it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from asgibench.conformance.findings import Verdict
from asgibench.conformance.observation import Observation
from asgibench.conformance.probe.cases import MULTIPLEXED
from asgibench.conformance.probe.recording_app import APP_DATE, FLOOD_LIMIT
from asgibench.conformance.probe.responses import head_of, parse_responses, status_of

if TYPE_CHECKING:
    from asgibench.conformance.probe.judge import _Judge

# RFC 9110 §5.6.7: the one form a sender generates, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
IMF_FIXDATE = re.compile(
    rb"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    rb"\d\d:\d\d:\d\d GMT"
)
MIB = 1024 * 1024


def _notes(observation: Observation) -> dict[str, str]:
    """The case's ``key=value`` notes."""
    return dict(note.split("=", 1) for note in observation.notes if "=" in note)


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None


# -- HR-15: one scope per HTTP/2 request, each answer on its own stream ------------------------------------------


def multiplexing(judge: _Judge) -> None:
    case = "h2-multiplex"
    observation = judge.observations.get(case)
    if observation is None:
        return
    notes = _notes(observation)
    streams = _literal(notes.get("h2-streams", "")) or []
    wrong = []
    for stream_id, path, status, body, reset in streams:
        expected = b"answer to " + path
        if status != 200 or body != expected:
            got = f"reset {reset}" if reset is not None else f"status {status}, body {body!r}"
            wrong.append(f"stream {stream_id} ({path.decode()}) got {got}")
    requested = [path.decode() for path, _ in MULTIPLEXED]
    scopes = [event.value for event in observation.app.of_kind("scope") if isinstance(event.value, dict)]
    seen = [scope.get("path") for scope in scopes]
    after = [
        event.value.get("path-after-wait")
        for event in observation.app.of_kind("note")
        if isinstance(event.value, dict) and "path-after-wait" in event.value
    ]
    if sorted(map(str, seen)) != sorted(requested):
        wrong.append(f"the app saw {len(scopes)} scope(s) with paths {seen!r} for the requests {requested!r}")
    elif sorted(map(str, after)) != sorted(requested):
        wrong.append(f"after its wait each app call read the path {after!r}: a scope changed under it")
    order = _answer_order(notes, streams)
    if wrong or len(streams) != len(MULTIPLEXED):
        problem = "; ".join(wrong) or f"{len(streams)} stream(s) answered of {len(MULTIPLEXED)}"
        error = notes.get("h2-error", "")
        judge.add(
            "HR-15",
            Verdict.WARN,
            case,
            problem + (f" ({error})" if error else ""),
            "each stream answered with its own request's answer; one scope per request",
        )
        return
    judge.add(
        "HR-15",
        Verdict.PASS,
        case,
        f"{len(streams)} concurrent requests, {len(scopes)} scopes, each answer on its own stream; {order}",
    )


def _answer_order(notes: dict[str, str], streams: list[tuple[int, bytes, int, bytes, int | None]]) -> str:
    """How the streams ended, by path: out of request order shows the server did not hold answers back."""
    ended = _literal(notes.get("h2-ended-order", "")) or []
    paths = {stream_id: path.decode() for stream_id, path, *_ in streams}
    names = [paths.get(stream_id, str(stream_id)) for stream_id in ended]
    asked = [paths[stream_id] for stream_id, *_ in streams]
    how = "in request order" if names == asked else "out of request order"
    return f"ended {how}: {', '.join(names)}"


# -- HR-16: Transfer-Encoding and Content-Length where HTTP forbids them -----------------------------------------


def _framing_headers(head: list[tuple[bytes, bytes]]) -> list[bytes]:
    return [name + b": " + value for name, value in head if name in (b"transfer-encoding", b"content-length")]


def _interim_heads(data: bytes) -> list[tuple[int, list[tuple[bytes, bytes]]]]:
    """The 1xx heads at the start of ``data``, each with its headers."""
    heads = []
    while (status := status_of(data)) and 100 <= status < 200:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            break
        heads.append((status, head_of(data)))
        data = data[end + 4 :]
    return heads


def forbidden_framing(judge: _Judge) -> None:
    observation = judge.observations.get("no-content-204")
    if observation is not None and status_of(observation.wire.received) == 204:
        found = _framing_headers(head_of(observation.wire.received))
        if found:
            judge.add(
                "HR-16",
                Verdict.FAIL,
                "no-content-204",
                f"the 204 carries {b', '.join(found)!r}",
                "no Transfer-Encoding or Content-Length on a 204 (RFC 9112 §6.1, RFC 9110 §8.6)",
            )
        else:
            judge.add(
                "HR-16", Verdict.PASS, "no-content-204", "the 204 has neither Transfer-Encoding nor Content-Length"
            )
    observation = judge.observations.get("expect-continue")
    if observation is not None:
        for status, head in _interim_heads(observation.wire.received):
            found = _framing_headers(head)
            if found:
                judge.add(
                    "HR-16",
                    Verdict.FAIL,
                    "expect-continue",
                    f"the {status} carries {b', '.join(found)!r}",
                    "no Transfer-Encoding or Content-Length on a 1xx (RFC 9112 §6.1, RFC 9110 §8.6)",
                )
            else:
                judge.add(
                    "HR-16",
                    Verdict.PASS,
                    "expect-continue",
                    f"the {status} has neither Transfer-Encoding nor Content-Length",
                )
    _http10(judge)


def _http10(judge: _Judge) -> None:
    case = "http10-no-length"
    observation = judge.observations.get(case)
    if observation is None or observation.app.scope is None:
        return
    wire = observation.wire
    head = head_of(wire.received)
    coding = [value for name, value in head if name == b"transfer-encoding"]
    responses = parse_responses(wire.received, closed=wire.closed_by_server)
    first = responses[0] if responses else None
    if coding:
        judge.add(
            "HR-16",
            Verdict.FAIL,
            case,
            f"Transfer-Encoding: {b', '.join(coding).decode('latin-1')} to an HTTP/1.0 client",
            "no Transfer-Encoding to HTTP/1.0 (RFC 9112 §6.1): Content-Length or the close ends the body",
        )
    elif first is None or not first.complete or first.error or first.body != b"one,two,three":
        what = "nothing" if first is None else f"body {first.body!r}, complete {first.complete} {first.error}".strip()
        still = "" if wire.closed_by_server or wire.reset else ", the connection left open"
        judge.add(
            "HR-16",
            Verdict.FAIL,
            case,
            f"an unframed answer to HTTP/1.0: {what}{still}",
            "b'one,two,three' ended by Content-Length or the close",
        )
    else:
        how = "with Content-Length" if first.header_values(b"content-length") else "ended by the close"
        judge.add("HR-16", Verdict.PASS, case, f"HTTP/1.0 answered without Transfer-Encoding, {how}")


# -- HR-17: Date ---------------------------------------------------------------------------------------------------


def date(judge: _Judge) -> None:
    observation = judge.observations.get("scope")
    if observation is not None and status_of(observation.wire.received) == 200:
        dates = [value for name, value in head_of(observation.wire.received) if name == b"date"]
        if not dates:
            judge.add(
                "HR-17",
                Verdict.WARN,
                "scope",
                "no Date on a 200 whose app sent none",
                "a Date from the server (RFC 9110 §6.6.1)",
            )
        elif len(dates) > 1:
            judge.add("HR-17", Verdict.FAIL, "scope", f"{len(dates)} Date lines: {dates!r}", "one Date")
        elif not IMF_FIXDATE.fullmatch(dates[0]):
            judge.add("HR-17", Verdict.FAIL, "scope", f"Date {dates[0]!r}", "an IMF-fixdate (RFC 9110 §5.6.7)")
        else:
            judge.add("HR-17", Verdict.PASS, "scope", f"the server added Date: {dates[0].decode()}")
    observation = judge.observations.get("app-date")
    if observation is None or status_of(observation.wire.received) != 200:
        return
    dates = [value for name, value in head_of(observation.wire.received) if name == b"date"]
    if dates == [APP_DATE]:
        judge.add("HR-17", Verdict.PASS, "app-date", "the app's own Date kept; no second Date added")
    elif len(dates) > 1:
        judge.add(
            "HR-17",
            Verdict.FAIL,
            "app-date",
            f"{len(dates)} Date lines beside the app's: {dates!r}",
            "the app's Date alone (Date is a single-value field, RFC 9110 §5.3)",
        )
    else:
        what = f"replaced by {dates[0]!r}" if dates else "dropped"
        judge.add("HR-17", Verdict.WARN, "app-date", f"the app's Date was {what}", repr(APP_DATE))


# -- ST-06: back-pressure on the response -----------------------------------------------------------------------


def _mib(count: int) -> str:
    return f"{count / MIB:.2f} MiB"


def backpressure(judge: _Judge) -> None:
    case = "flood"
    observation = judge.observations.get(case)
    if observation is None or observation.app.scope is None:
        return
    notes = _notes(observation)
    app_notes = [event.value for event in observation.app.of_kind("note") if isinstance(event.value, dict)]
    flooded = next((note for note in app_notes if "flooded" in note), None)
    accepted = int(notes.get("accepted-unread", "0") or 0)
    received = int(notes.get("body-bytes", "0") or 0)
    if flooded is None:
        errors = [event.value for event in observation.app.of_kind("send-error") if isinstance(event.value, dict)]
        why = f"send() raised {errors[0].get('type')}" if errors else "the app never finished sending"
        judge.add(
            "ST-06",
            Verdict.FAIL,
            case,
            f"{why}; the client read {_mib(received)}",
            "every part the app sent reaches the client",
        )
        return
    total = int(flooded.get("flooded", 0))
    if received != total:
        judge.add(
            "ST-06",
            Verdict.FAIL,
            case,
            f"the app sent {_mib(total)}; the client got {_mib(received)} of body",
            "the whole body",
        )
        return
    if notes.get("send-waited") == "True":
        judge.add(
            "ST-06",
            Verdict.INFO,
            case,
            f"back-pressure: send() returned for {_mib(accepted)} while the client read nothing, then waited; "
            f"the client then read all {_mib(total)}",
        )
    else:
        limit = "the whole" if total >= FLOOD_LIMIT else f"{flooded.get('seconds')} s of"
        judge.add(
            "ST-06",
            Verdict.INFO,
            case,
            f"no back-pressure: send() took in {limit} flood, {_mib(accepted)}, while the client read nothing, "
            f"without ever making the app wait; the client then read all {_mib(total)}",
        )


WIRE_RULES: tuple[Callable[[_Judge], None], ...] = (multiplexing, forbidden_framing, date, backpressure)
