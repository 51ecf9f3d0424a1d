"""Server-side verdicts: from what the probe observed (the app's record and the wire) to findings. Pure.

Each check reads the observations of the cases that exercise it. The
server's advertised ``spec_version`` (from the first HTTP scope; "2.0" when
absent) decides the rules that came later: a rule newer than the server's
version gives N/A, with what would have happened still said.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from asgibench.conformance.findings import Verdict
from asgibench.conformance.observation import AppRecord, Observation, Opaque
from asgibench.conformance.probe.cases import (
    AUTHORITY,
    CHUNKED_BODY,
    CLIENT_CLOSE,
    DISCONNECT_BOUND,
    LATIN_VALUE,
    SCOPE_PATH,
    SCOPE_QUERY,
    SHUTDOWN_CASE,
    SUBPROTOCOLS,
)
from asgibench.conformance.probe.judge_wire import WIRE_RULES
from asgibench.conformance.probe.lifespans import WATCH, LifespanRun
from asgibench.conformance.probe.recording_app import FAILED_MESSAGE, SHUTDOWN_DELAY, STATE_KEY, STATE_VALUE, TRAILER
from asgibench.conformance.probe.responses import head_of, parse_responses, status_of
from asgibench.conformance.probe.server_log import LOGGED_CASES
from asgibench.conformance.probe.server_log import PREFIX as LOG_PREFIX
from asgibench.conformance.values import disallowed_values

FLUSH_BOUND = 0.3  # the first part must be on the wire this long before the app's pause ends (ST-05)
HANG = 2.5  # no answer and no close after this long: the client was left hanging


@dataclass(frozen=True, slots=True)
class ServerFinding:
    check_id: str
    verdict: Verdict
    case: str
    observed: str
    expected: str = ""


@dataclass
class Judgement:
    findings: list[ServerFinding]
    spec_version: str
    observations: dict[str, Observation]
    lifespan: AppRecord


def spec_tuple(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return (2, 0)


class _Judge:
    def __init__(self, observations: dict[str, Observation], lifespan: AppRecord) -> None:
        self.observations = observations
        self.lifespan = lifespan
        self.findings: list[ServerFinding] = []
        scope = next((s for case in observations if (s := self.scope(case)) and s.get("type") == "http"), {})
        asgi = scope.get("asgi") if isinstance(scope.get("asgi"), dict) else {}
        version = asgi.get("spec_version") if isinstance(asgi, dict) else None
        self.spec_version = version if isinstance(version, str) else "2.0"
        self.version = spec_tuple(self.spec_version)

    def spec_of(self, case: str) -> tuple[str, tuple[int, ...]]:
        """The spec_version the case's own scope advertised ("2.0" when absent): a server may give its HTTP and
        WebSocket scopes different ones."""
        asgi = (self.scope(case) or {}).get("asgi")
        text = asgi.get("spec_version") if isinstance(asgi, dict) else None
        text = text if isinstance(text, str) else "2.0"
        return text, spec_tuple(text)

    def add(self, check: str, verdict: Verdict, case: str, observed: str, expected: str = "") -> None:
        self.findings.append(ServerFinding(check, verdict, case, observed, expected))

    def app(self, case: str) -> AppRecord:
        observation = self.observations.get(case)
        return observation.app if observation is not None else AppRecord()

    def scope(self, case: str) -> dict[str, Any] | None:
        scope = self.app(case).scope
        return scope if isinstance(scope, dict) else None

    def wire(self, case: str) -> Any:
        return self.observations[case].wire


def judge(observations: dict[str, Observation], lifespan: AppRecord) -> Judgement:
    judge = _Judge(observations, lifespan)
    for rule in RULES:
        rule(judge)
    return Judgement(judge.findings, judge.spec_version, observations, lifespan)


# -- scope ------------------------------------------------------------------------------------------------------

_KNOWN_TYPES = {"http", "websocket", "lifespan"}


def _scopes(judge: _Judge) -> list[tuple[str, Any]]:
    found = [(case, judge.app(case).scope) for case in judge.observations if judge.app(case).scope is not None]
    if judge.lifespan.scope is not None:
        found.append(("lifespan", judge.lifespan.scope))
    return found


def scope_shape(judge: _Judge) -> None:
    for case, scope in _scopes(judge):
        if not isinstance(scope, dict) or not all(isinstance(key, str) for key in scope):
            judge.add(
                "SC-01",
                Verdict.FAIL,
                case,
                f"the scope is {type(scope).__name__}, or has non-str keys",
                "a dict with str keys",
            )
            continue
        kind = scope.get("type")
        if not isinstance(kind, str) or kind not in _KNOWN_TYPES:
            judge.add("SC-01", Verdict.FAIL, case, f"type {kind!r}", "http, websocket or lifespan")
        else:
            judge.add("SC-01", Verdict.PASS, case, f"type {kind!r}")
        asgi = scope.get("asgi")
        if not isinstance(asgi, dict) or not isinstance(asgi.get("version"), str):
            judge.add("SC-02", Verdict.FAIL, case, f"asgi {asgi!r}", 'a dict with a str "version"')
        elif "spec_version" in asgi and not isinstance(asgi["spec_version"], str):
            judge.add("SC-02", Verdict.FAIL, case, f"spec_version {asgi['spec_version']!r}", "a str")
        else:
            text = f"asgi {asgi!r}" + ("" if "spec_version" in asgi else ' (no spec_version: "2.0" assumed)')
            judge.add("SC-02", Verdict.PASS, case, text)
        problems = disallowed_values(_plain(scope))
        if problems:
            judge.add("SC-15", Verdict.FAIL, case, "; ".join(problems[:3]), "only the ASGI value types")
        else:
            judge.add("SC-15", Verdict.PASS, case, "every scope value is of an allowed type")
        extensions = scope.get("extensions")
        if extensions is not None:
            if not isinstance(extensions, dict) or not all(isinstance(v, dict) for v in extensions.values()):
                judge.add("SC-12", Verdict.FAIL, case, f"extensions {extensions!r}", "a dict of dicts")
            else:
                judge.add("SC-12", Verdict.PASS, case, f"advertises {sorted(extensions) or 'nothing'}")


def _plain(value: Any) -> Any:
    """The scope with Opaque values turned back into something disallowed_values rejects by type."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Opaque):
        return _Unknown(value.type_name)
    return value


class _Unknown:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


def http_scope(judge: _Judge) -> None:
    case = "scope"
    if case not in judge.observations:
        return
    scope = judge.scope(case)
    if scope is None:
        judge.add("SC-05", Verdict.FAIL, case, "the app never saw the request", "a scope")
        return
    version = scope.get("http_version")
    judge.add(
        "SC-03",
        Verdict.PASS if version == "1.1" else Verdict.FAIL,
        case,
        f"http_version {version!r} for HTTP/1.1",
        '"1.1"',
    )
    old = judge.scope("http10")
    if old is not None:
        value = old.get("http_version")
        judge.add(
            "SC-03",
            Verdict.PASS if value == "1.0" else Verdict.FAIL,
            "http10",
            f"http_version {value!r} for an HTTP/1.0 request line",
            '"1.0"',
        )
    method, scheme = scope.get("method"), scope.get("scheme", "http")
    if method != "GET":
        judge.add("SC-04", Verdict.FAIL, case, f"method {method!r}", '"GET"')
    elif not isinstance(scheme, str) or not scheme:
        judge.add("SC-04", Verdict.FAIL, case, f"scheme {scheme!r}", "a non-empty str")
    else:
        judge.add("SC-04", Verdict.PASS, case, f"method {method!r}, scheme {scheme!r}")
    expected_path = unquote_to_bytes(SCOPE_PATH).decode("utf-8")
    path = scope.get("path")
    judge.add(
        "SC-05",
        Verdict.PASS if path == expected_path else Verdict.FAIL,
        case,
        f"path {path!r} for {SCOPE_PATH.decode()}",
        repr(expected_path),
    )
    if "raw_path" not in scope or scope["raw_path"] is None:
        judge.add("SC-06", Verdict.PASS, case, "raw_path absent (it is optional)")
    else:
        raw = scope["raw_path"]
        judge.add(
            "SC-06", Verdict.PASS if raw == SCOPE_PATH else Verdict.FAIL, case, f"raw_path {raw!r}", repr(SCOPE_PATH)
        )
    query = scope.get("query_string")
    judge.add(
        "SC-07",
        Verdict.PASS if query == SCOPE_QUERY else Verdict.FAIL,
        case,
        f"query_string {query!r}",
        repr(SCOPE_QUERY),
    )
    root = scope.get("root_path", "")
    if isinstance(root, str):
        judge.add("SC-08", Verdict.INFO, case, f"root_path {root!r}")
    else:
        judge.add("SC-08", Verdict.FAIL, case, f"root_path {root!r}", "a str")
    _headers(judge, case, scope)
    _addresses(judge, case, scope)


def _headers(judge: _Judge, case: str, scope: dict[str, Any]) -> None:
    raw = scope.get("headers")
    pairs = []
    for item in raw if isinstance(raw, list | tuple) else []:
        if not (isinstance(item, list | tuple) and len(item) == 2 and all(isinstance(x, bytes) for x in item)):
            judge.add("SC-09", Verdict.FAIL, case, f"header {item!r}", "[bytes, bytes]")
            return
        pairs.append((item[0], item[1]))
    if not isinstance(raw, list | tuple):
        judge.add("SC-09", Verdict.FAIL, case, f"headers {raw!r}", "an iterable of [bytes, bytes]")
        return
    lowered = [(name.lower(), value) for name, value in pairs]
    dups = [value for name, value in lowered if name == b"x-dup"]
    if dups != [b"one", b"two"]:
        judge.add("SC-09", Verdict.FAIL, case, f"x-dup values {dups!r}", "[b'one', b'two'], in that order")
    elif any(name != name.lower() for name, _ in pairs):
        upper = [name for name, _ in pairs if name != name.lower()]
        judge.add("SC-09", Verdict.WARN, case, f"names not lower-cased: {upper[:3]!r}", "lower-case names")
    else:
        judge.add("SC-09", Verdict.PASS, case, "duplicates kept in order; names lower-cased")
    latin = [value for name, value in lowered if name == b"x-latin"]
    under = [value for name, value in lowered if name == b"x_under"]
    if latin != [LATIN_VALUE]:
        judge.add("SC-10", Verdict.FAIL, case, f"x-latin {latin!r}", repr([LATIN_VALUE]))
    elif not under:
        judge.add(
            "SC-10",
            Verdict.FAIL,
            case,
            "the header X_Under (a name with an underscore) was dropped",
            "every header the client sent",
        )
    else:
        judge.add("SC-10", Verdict.PASS, case, "latin-1 bytes intact; no header dropped")


def _addresses(judge: _Judge, case: str, scope: dict[str, Any]) -> None:
    for key in ("client", "server"):
        value = scope.get(key)
        if value is None:
            judge.add("SC-11", Verdict.PASS, case, f"{key} absent (optional)")
            continue
        ok = (
            isinstance(value, list | tuple)
            and len(value) == 2
            and isinstance(value[0], str)
            and (isinstance(value[1], int) and not isinstance(value[1], bool) or value[1] is None)
        )
        judge.add("SC-11", Verdict.PASS if ok else Verdict.FAIL, case, f"{key} {value!r}", "[str host, int port]")


# -- request bodies ---------------------------------------------------------------------------------------------


def _request_messages(record: AppRecord) -> tuple[list[dict[str, Any]], list[Any]]:
    """The http.request messages, and what receive() gave after the final one."""
    requests: list[dict[str, Any]] = []
    after: list[Any] = []
    final = False
    for event in record.events:
        if event.kind == "receive":
            message = event.value
            if final:
                after.append(message)
            elif isinstance(message, dict) and message.get("type") == "http.request":
                requests.append(message)
                final = not message.get("more_body", False)
        elif event.kind == "timeout" and final:
            after.append(None)
    return requests, after


def bodies(judge: _Judge) -> None:
    for case, expected in (("scope", b""), ("length-body", b"hello world"), ("chunked-body", b"hello world!")):
        record = judge.app(case)
        if record.scope is None:
            continue
        requests, after = _request_messages(record)
        body = b"".join(message.get("body", b"") for message in requests if isinstance(message.get("body", b""), bytes))
        finals = [message for message in requests if not message.get("more_body", False)]
        if body != expected:
            judge.add("ST-01", Verdict.FAIL, case, f"body {body!r} from {len(requests)} message(s)", repr(expected))
        else:
            judge.add("ST-01", Verdict.PASS, case, f"{body!r} in {len(requests)} message(s)")
        late = [m for m in after if isinstance(m, dict) and m.get("type") == "http.request"]
        if len(finals) != 1 or late:
            judge.add(
                "ST-02",
                Verdict.FAIL,
                case,
                f"{len(finals)} final message(s), {len(late)} after the final",
                "exactly one final, nothing after",
            )
        else:
            judge.add("ST-02", Verdict.PASS, case, f"one final http.request after {len(requests) - 1} more")
        if case == "scope":
            judge.add(
                "ST-03",
                Verdict.PASS if requests else Verdict.FAIL,
                case,
                f"{len(requests)} http.request message(s) for a request with no body",
                "one",
            )
        if case == "chunked-body":
            framing = any(b"\r\n" in message.get("body", b"") for message in requests)
            judge.add(
                "ST-04",
                Verdict.WARN if framing else Verdict.PASS,
                case,
                ("chunk framing reached the app" if framing else "de-chunked")
                + f": {len(requests)} message(s) for {len(CHUNKED_BODY) - 1} chunks",
                "plain body bytes",
            )


# -- responses --------------------------------------------------------------------------------------------------


def response_headers(judge: _Judge) -> None:
    case = "headers"
    if case not in judge.observations:
        return
    wire = judge.wire(case)
    responses = parse_responses(wire.received, closed=wire.closed_by_server)
    if not responses or responses[0].status != 200:
        judge.add("HR-08", Verdict.FAIL, case, f"no 200 answer ({status_of(wire.received) or 'nothing'})", "200")
        return
    ours = [(name, value) for name, value in responses[0].headers if name in (b"set-cookie", b"x-probe-order")]
    expected = [(b"set-cookie", b"a=1"), (b"x-probe-order", b"1"), (b"set-cookie", b"b=2"), (b"x-probe-order", b"2")]
    if ours == expected:
        judge.add("HR-08", Verdict.PASS, case, "order kept; two Set-Cookie lines")
    else:
        judge.add("HR-08", Verdict.FAIL, case, f"on the wire: {ours!r}", repr(expected))


def framing(judge: _Judge) -> None:
    case = "no-length"
    if case not in judge.observations:
        return
    wire = judge.wire(case)
    responses = parse_responses(wire.received, closed=wire.closed_by_server)
    first = responses[0] if responses else None
    if first is None or not first.complete or first.error:
        judge.add("HR-09", Verdict.FAIL, case, f"response {first!r}", "a complete, valid response")
        return
    how = "chunked" if b"chunked" in b",".join(first.header_values(b"transfer-encoding")) else "ended by the close"
    if first.body == b"one,two,three":
        judge.add("HR-09", Verdict.PASS, case, f"body intact, {how}")
    else:
        judge.add("HR-09", Verdict.FAIL, case, f"body {first.body!r} ({how})", "b'one,two,three'")


def flushing(judge: _Judge) -> None:
    case = "stream"
    if case not in judge.observations:
        return
    wire, record = judge.wire(case), judge.app(case)
    pause = next((event.at for event in record.of_kind("note") if event.value == "pausing"), None)
    first = next((at for at, chunk in wire.reads if b"first" in chunk), None)
    if pause is None or first is None:
        judge.add(
            "ST-05",
            Verdict.FAIL,
            case,
            "the first part never arrived" if pause else "the app never paused",
            "the first part on the wire during the pause",
        )
        return
    delay = first - pause
    verdict = Verdict.PASS if delay < FLUSH_BOUND else Verdict.FAIL
    judge.add(
        "ST-05",
        verdict,
        case,
        f"the first part arrived {delay * 1000:.0f} ms after send() returned",
        f"within {FLUSH_BOUND * 1000:.0f} ms, while the app waited 500 ms",
    )


def _send_errors(record: AppRecord) -> list[dict[str, Any]]:
    return [event.value for event in record.of_kind("send-error") if isinstance(event.value, dict)]


def invalid_sends(judge: _Judge) -> None:
    for case, what in (("bad-status-type", "a str status"), ("unknown-message", "an unknown message type")):
        record = judge.app(case)
        if record.scope is None:
            continue
        errors = _send_errors(record)
        if errors:
            judge.add("HR-10", Verdict.PASS, case, f"send() raised {errors[0]['type']} on {what}")
        else:
            wire = judge.wire(case)
            judge.add(
                "HR-10",
                Verdict.WARN,
                case,
                f"send() accepted {what}; on the wire: {wire.received[:60]!r}",
                "send() raises",
            )


# -- disconnects ------------------------------------------------------------------------------------------------


def after_response(judge: _Judge) -> None:
    case = "scope"
    record = judge.app(case)
    if record.scope is None:
        return
    _, after = _request_messages(record)
    types = [m.get("type") if isinstance(m, dict) else "blocked" for m in after]
    if not types:
        judge.add("DC-01", Verdict.FAIL, case, "the app's receive() calls after the response were not seen", "")
        return
    first = types[0]
    if first == "http.disconnect":
        judge.add("DC-01", Verdict.PASS, case, "the first receive() after the response: http.disconnect")
    else:
        judge.add("DC-01", Verdict.FAIL, case, f"the first receive() after the response: {first}", "http.disconnect")
    if len(types) > 1:
        if types[1] == "http.disconnect":
            judge.add("DC-02", Verdict.PASS, case, "the second receive() returned http.disconnect again")
        else:
            judge.add("DC-02", Verdict.FAIL, case, f"the second receive(): {types[1]}", "http.disconnect again")


def client_leaves(judge: _Judge) -> None:
    case = "client-leaves"
    observation = judge.observations.get(case)
    if observation is None or observation.app.scope is None:
        return
    left = next((float(note.split("=", 1)[1]) for note in observation.notes if note.startswith("left_at=")), None)
    record = observation.app
    waiting = next((event.at for event in record.of_kind("note") if event.value == "waiting"), None)
    heard = next(
        (event for event in record.events if event.kind == "receive" and waiting is not None and event.at >= waiting),
        None,
    )
    if (
        left is None
        or heard is None
        or not isinstance(heard.value, dict)
        or heard.value.get("type") != "http.disconnect"
    ):
        what = "nothing" if heard is None else repr(heard.value)
        judge.add(
            "DC-03",
            Verdict.FAIL,
            case,
            f"after the client left, receive() gave {what}",
            f"http.disconnect within {DISCONNECT_BOUND:.0f} s",
        )
    else:
        delay = heard.at - left
        verdict = Verdict.PASS if delay <= DISCONNECT_BOUND else Verdict.FAIL
        judge.add(
            "DC-03",
            verdict,
            case,
            f"http.disconnect {max(delay, 0) * 1000:.0f} ms after the client left",
            f"within {DISCONNECT_BOUND:.0f} s",
        )
    errors = _send_errors(record)
    sends = [event for event in record.of_kind("send")]
    if not sends:
        return
    if not errors:
        if judge.spec_of(case)[1] >= (2, 4):
            judge.add(
                "DC-04",
                Verdict.WARN,
                case,
                "send() after the disconnect returned (a no-op)",
                f"an OSError subclass at spec_version {judge.spec_of(case)[0]}",
            )
        else:
            judge.add(
                "DC-04",
                Verdict.PASS,
                case,
                f"send() after the disconnect was a no-op (spec_version {judge.spec_of(case)[0]})",
            )
    elif errors[0].get("oserror"):
        judge.add("DC-04", Verdict.PASS, case, f"send() after the disconnect raised {errors[0]['type']} (an OSError)")
    else:
        judge.add(
            "DC-04",
            Verdict.WARN,
            case,
            f"send() after the disconnect raised {errors[0]['type']}",
            "an OSError subclass, or a no-op before 2.4",
        )


# -- errors -----------------------------------------------------------------------------------------------------


def _answer(judge: _Judge, case: str) -> tuple[int, bool, float | None]:
    """The first status on the wire (0: none), whether the server closed, and when it closed."""
    wire = judge.wire(case)
    return status_of(wire.received), wire.closed_by_server or wire.reset, wire.closed_at


def errors(judge: _Judge) -> None:
    if "raise-before-start" in judge.observations:
        status, closed, _ = _answer(judge, "raise-before-start")
        if 500 <= status < 600:
            judge.add("ER-01", Verdict.PASS, "raise-before-start", f"answered {status}")
        elif closed:
            judge.add("ER-01", Verdict.PASS, "raise-before-start", "the connection was closed without an answer")
        else:
            judge.add(
                "ER-01",
                Verdict.FAIL,
                "raise-before-start",
                f"status {status or 'none'}, connection left open",
                "a 5xx, or the connection closed",
            )
    if "return-without-response" in judge.observations:
        status, closed, _ = _answer(judge, "return-without-response")
        if status >= 500 or closed:
            judge.add(
                "ER-02",
                Verdict.PASS,
                "return-without-response",
                f"answered {status}" if status else "the connection was closed",
            )
        else:
            judge.add(
                "ER-02",
                Verdict.WARN,
                "return-without-response",
                f"no answer and the connection left open ({HANG:.1f} s)",
                "an error answer or a close",
            )
    if "raise-after-start" in judge.observations:
        wire = judge.wire("raise-after-start")
        record = judge.app("raise-after-start")
        raised = next((event.at for event in record.of_kind("end")), None)
        if wire.closed_at is not None or wire.reset:
            delay = (wire.closed_at - raised) if (wire.closed_at and raised) else 0.0
            judge.add(
                "ER-03",
                Verdict.PASS,
                "raise-after-start",
                f"the connection ended {max(delay, 0) * 1000:.0f} ms after the app raised",
            )
        else:
            judge.add(
                "ER-03",
                Verdict.FAIL,
                "raise-after-start",
                "the connection stayed open with the body unfinished",
                "the connection ended",
            )
    record = judge.app("body-after-complete")
    if record.scope is not None:
        errors_ = _send_errors(record)
        wire = judge.wire("body-after-complete")
        responses = parse_responses(wire.received, closed=wire.closed_by_server)
        body = responses[0].body if responses else b""
        if body != b"ok":
            judge.add("ER-05", Verdict.FAIL, "body-after-complete", f"the answer's body was {body!r}", "b'ok'")
        elif errors_:
            judge.add(
                "ER-05",
                Verdict.INFO,
                "body-after-complete",
                f"send() raised {errors_[0]['type']}; the wire stayed intact",
                "ignored (the spec's text)",
            )
        else:
            judge.add("ER-05", Verdict.PASS, "body-after-complete", "ignored; the wire stayed intact")


# -- lifespan ---------------------------------------------------------------------------------------------------


def lifespan(judge: _Judge) -> None:
    record = judge.lifespan
    scope = record.scope
    if scope is None:
        for check in ("LS-01", "LS-02", "LS-06"):
            judge.add(check, Verdict.NOT_APPLICABLE, "lifespan", "the server ran no lifespan scope")
        return
    asgi = scope.get("asgi")
    spec = asgi.get("spec_version") if isinstance(asgi, dict) else None
    # The lifespan spec has its own versions (1.0, 2.0): an HTTP spec version here misstates which one is served.
    if scope.get("type") == "lifespan" and isinstance(asgi, dict) and spec in (None, "1.0", "2.0"):
        judge.add("LS-01", Verdict.PASS, "lifespan", f"asgi {asgi!r}")
    else:
        judge.add(
            "LS-01",
            Verdict.FAIL,
            "lifespan",
            f"scope {scope!r}",
            'type "lifespan", asgi, spec_version "2.0" (the lifespan spec\'s own version) or absent',
        )
    complete = next(
        (event.at for event in record.events if event.kind == "sent" and event.value == "lifespan.startup.complete"),
        None,
    )
    arrivals = [at for case in judge.observations if (at := judge.app(case).scope_at) is not None]
    first_request = min(arrivals, default=None)
    if complete is None:
        judge.add("LS-02", Verdict.FAIL, "lifespan", "startup.complete was never sent", "")
    elif first_request is not None and first_request < complete:
        judge.add(
            "LS-02",
            Verdict.FAIL,
            "lifespan",
            f"a request reached the app {complete - first_request:.3f} s before startup completed",
            "no request before startup.complete",
        )
    else:
        judge.add("LS-02", Verdict.PASS, "lifespan", "no request reached the app before startup completed")
    state = (judge.scope("scope") or {}).get("state")
    if "state" not in scope:
        judge.add(
            "LS-06", Verdict.NOT_APPLICABLE, "lifespan", "the lifespan scope has no state (the feature is optional)"
        )
    elif isinstance(state, dict) and state.get(STATE_KEY) == STATE_VALUE:
        judge.add("LS-06", Verdict.PASS, "scope", "the value set at startup is in the request's state")
    else:
        judge.add("LS-06", Verdict.FAIL, "scope", f"request state {state!r}", f"{{{STATE_KEY!r}: {STATE_VALUE!r}}}")


# -- WebSocket --------------------------------------------------------------------------------------------------


def _first_received(record: AppRecord) -> Any:
    received = record.received()
    return received[0] if received else None


def websocket(judge: _Judge) -> None:
    vanish = judge.app("ws-vanish")
    if vanish.scope is not None:
        _disconnect(judge, "ws-vanish", vanish, expected_code=1006, reason=None)
    case = "ws-echo"
    if case not in judge.observations:
        return
    record = judge.app(case)
    if record.scope is None:
        judge.add("WS-01", Verdict.FAIL, case, "the app never saw the WebSocket", "a websocket scope")
        return
    first = _first_received(record)
    first_type = first.get("type") if isinstance(first, dict) else first
    wire = judge.wire(case)
    accept_sent = next(
        (
            event.at
            for event in record.events
            if event.kind == "send" and isinstance(event.value, dict) and event.value.get("type") == "websocket.accept"
        ),
        None,
    )
    early = wire.first_byte_at is not None and accept_sent is not None and wire.first_byte_at < accept_sent
    if first_type != "websocket.connect":
        judge.add("WS-01", Verdict.FAIL, case, f"first event {first_type!r}", "websocket.connect")
    elif early:
        judge.add("WS-01", Verdict.FAIL, case, "the handshake's answer went out before the app accepted", "")
    else:
        judge.add("WS-01", Verdict.PASS, case, "websocket.connect first; the 101 only after accept")
    offered = record.scope.get("subprotocols")
    ok = isinstance(offered, list | tuple) and list(offered) == list(SUBPROTOCOLS)
    judge.add(
        "SC-14", Verdict.PASS if ok else Verdict.FAIL, case, f"subprotocols {offered!r}", repr(list(SUBPROTOCOLS))
    )
    status = status_of(wire.received)
    head = head_of(wire.received)
    chosen = [value for name, value in head if name == b"sec-websocket-protocol"]
    accept_header = [value for name, value in head if name == b"x-probe-accept"]
    if status != 101:
        judge.add("WS-02", Verdict.FAIL, case, f"handshake answered {status or 'nothing'}", "101")
    elif chosen != [SUBPROTOCOLS[0].encode()]:
        judge.add("WS-02", Verdict.FAIL, case, f"Sec-WebSocket-Protocol {chosen!r}", repr(SUBPROTOCOLS[0]))
    elif judge.spec_of(case)[1] >= (2, 1) and accept_header != [b"1"]:
        judge.add(
            "WS-02",
            Verdict.FAIL,
            case,
            "the accept message's x-probe-accept header is not in the 101",
            "accept headers sent (spec_version 2.1+)",
        )
    else:
        judge.add(
            "WS-02",
            Verdict.PASS,
            case,
            "subprotocol" + (" and accept headers" if judge.spec_of(case)[1] >= (2, 1) else "") + " in the 101",
        )
    _disconnect(judge, case, record, expected_code=CLIENT_CLOSE[0], reason=CLIENT_CLOSE[1])


def _disconnect(judge: _Judge, case: str, record: AppRecord, *, expected_code: int, reason: str | None) -> None:
    message = next(
        (m for m in record.received() if isinstance(m, dict) and m.get("type") == "websocket.disconnect"), None
    )
    if message is None:
        judge.add("WS-05", Verdict.FAIL, case, "no websocket.disconnect reached the app", "websocket.disconnect")
        return
    judge.add("WS-05", Verdict.PASS, case, f"websocket.disconnect {message!r}")
    code = message.get("code")
    if expected_code == 1006 and code == 1005:
        # No close frame at all: RFC 6455 §7.1.5 calls that 1006; 1005 is the spec's word for a frame without a code.
        judge.add(
            "WS-06",
            Verdict.WARN,
            case,
            "code 1005 for a connection lost without a close frame",
            "1006 (abnormal closure, RFC 6455 §7.1.5)",
        )
    elif code != expected_code:
        judge.add("WS-06", Verdict.FAIL, case, f"code {code!r}", str(expected_code))
    elif reason is not None and judge.spec_of(case)[1] >= (2, 5) and message.get("reason") != reason:
        judge.add("WS-06", Verdict.FAIL, case, f"reason {message.get('reason')!r}", f"{reason!r} (spec_version 2.5+)")
    else:
        judge.add(
            "WS-06",
            Verdict.PASS,
            case,
            f"code {code}" + (f", reason {message.get('reason')!r}" if "reason" in message else ""),
        )


def websocket_ends(judge: _Judge) -> None:
    if "ws-close-before-accept" in judge.observations:
        wire = judge.wire("ws-close-before-accept")
        status = status_of(wire.received)
        verdict = Verdict.PASS if status == 403 else Verdict.FAIL
        judge.add("WS-03", verdict, "ws-close-before-accept", f"answered {status or 'nothing'}", "HTTP 403, no upgrade")
    if "ws-raise-before-accept" in judge.observations:
        wire = judge.wire("ws-raise-before-accept")
        status = status_of(wire.received)
        if status >= 400:
            judge.add("WS-04", Verdict.PASS, "ws-raise-before-accept", f"answered {status}")
        elif wire.closed_by_server or wire.reset:
            judge.add("WS-04", Verdict.PASS, "ws-raise-before-accept", "the connection was closed without an answer")
        else:
            judge.add(
                "WS-04",
                Verdict.FAIL,
                "ws-raise-before-accept",
                f"status {status or 'none'}, the connection left open",
                "an HTTP error or a close",
            )
    if "ws-app-close" in judge.observations:
        observation = judge.observations["ws-app-close"]
        final = next((note for note in observation.notes if note.startswith("final=")), "")
        wanted = "code=4001"
        with_reason = judge.spec_of("ws-app-close")[1] >= (2, 3)
        if wanted in final and (not with_reason or "probe bye" in final):
            judge.add("WS-07", Verdict.PASS, "ws-app-close", final.removeprefix("final="))
        else:
            judge.add(
                "WS-07",
                Verdict.FAIL,
                "ws-app-close",
                final.removeprefix("final=") or "no close",
                "close frame 4001" + (" 'probe bye'" if with_reason else ""),
            )
    if "ws-deny" in judge.observations:
        record, wire = judge.app("ws-deny"), judge.wire("ws-deny")
        unadvertised = any(event.value == "not advertised" for event in record.of_kind("note"))
        if unadvertised or record.scope is None:
            judge.add("EX-02", Verdict.NOT_APPLICABLE, "ws-deny", "websocket.http.response is not advertised")
            return
        responses = parse_responses(wire.received, closed=wire.closed_by_server)
        response = responses[0] if responses else None
        upgrade = [
            name for name, _ in (response.headers if response else []) if name in (b"upgrade", b"sec-websocket-accept")
        ]
        if response is None or response.status != 401 or response.body != b"denied":
            judge.add("EX-02", Verdict.FAIL, "ws-deny", f"answer {wire.received[:80]!r}", "401 with the body 'denied'")
        elif upgrade or not response.header_values(b"x-probe-denied"):
            judge.add(
                "EX-02",
                Verdict.FAIL,
                "ws-deny",
                f"headers {response.headers!r}",
                "the app's headers, no upgrade headers",
            )
        else:
            judge.add("EX-02", Verdict.PASS, "ws-deny", "401, the app's header and body, no upgrade headers")


def app_transfer_encoding(judge: _Judge) -> None:
    case = "app-transfer-encoding"
    if case not in judge.observations:
        return
    wire = judge.wire(case)
    responses = parse_responses(wire.received, closed=wire.closed_by_server)
    first = responses[0] if responses else None
    if first is None:
        judge.add(
            "HR-07",
            Verdict.FAIL,
            case,
            "no answer at all (the connection ended with no bytes)"
            if wire.closed_by_server or wire.reset
            else "no answer",
            "the body b'ok', framed by the server",
        )
    elif first.status != 200 or first.body != b"ok" or not first.complete or first.error:
        judge.add(
            "HR-07",
            Verdict.FAIL,
            case,
            f"status {first.status}, body {first.body[:40]!r}" + (f", {first.error}" if first.error else ""),
            "200 with the body b'ok', framed by the server",
        )
    else:
        encodings = b", ".join(first.header_values(b"transfer-encoding")).decode("latin-1")
        verdict = Verdict.FAIL if "gzip" in encodings else Verdict.PASS
        judge.add(
            "HR-07",
            verdict,
            case,
            f"200, body intact, transfer-encoding {encodings or 'none'!r}",
            "the app's Transfer-Encoding ignored",
        )


def expect_continue(judge: _Judge) -> None:
    case = "expect-continue"
    observation = judge.observations.get(case)
    if observation is None or observation.app.scope is None:
        return
    reading = next((event.at for event in observation.app.of_kind("note") if event.value == "reading"), None)
    interim = next((at for at, chunk in observation.wire.reads if chunk.startswith(b"HTTP/1.1 100")), None)
    body, _ = _request_messages(observation.app)
    received = b"".join(m.get("body", b"") for m in body)
    if received != b"hello":
        judge.add("ST-06", Verdict.FAIL, case, f"the app received {received!r}", "b'hello'")
    elif interim is None:
        judge.add("ST-06", Verdict.INFO, case, "no 100 Continue: the probe sent the body after 1 s, as curl does")
    elif reading is not None and interim < reading:
        judge.add("ST-06", Verdict.INFO, case, "100 Continue sent before the app called receive()")
    else:
        judge.add("ST-06", Verdict.INFO, case, "100 Continue sent once the app called receive()")


def head_request(judge: _Judge) -> None:
    case = "head"
    if case not in judge.observations:
        return
    wire = judge.wire(case)
    head_end = wire.received.find(b"\r\n\r\n")
    extra = wire.received[head_end + 4 :] if head_end >= 0 else b""
    if status_of(wire.received) != 200:
        judge.add("HR-09", Verdict.FAIL, case, f"HEAD answered {wire.received[:40]!r}", "200, head only")
    elif extra:
        judge.add(
            "HR-09",
            Verdict.FAIL,
            case,
            f"{len(extra)} byte(s) of content after the head of a HEAD answer",
            "no content (RFC 9110 §9.3.2)",
        )
    else:
        judge.add("HR-09", Verdict.PASS, case, "HEAD: the app's body was not sent")


def websocket_messages(judge: _Judge) -> None:
    case = "ws-fragments"
    record = judge.app(case)
    if record.scope is None:
        return
    messages = [m for m in record.received() if isinstance(m, dict) and m.get("type") == "websocket.receive"]
    pong = b"\x8a\x0aprobe-ping" in judge.wire(case).received
    if len(messages) != 1:
        judge.add("WS-08", Verdict.FAIL, case, f"{len(messages)} websocket.receive for one fragmented message", "one")
        return
    text, data = messages[0].get("text"), messages[0].get("bytes")
    if text != "fragmented" or data is not None:
        judge.add("WS-08", Verdict.FAIL, case, f"text {text!r}, bytes {data!r}", "text 'fragmented', bytes None")
    elif not pong:
        judge.add("WS-08", Verdict.FAIL, case, "the ping sent mid-message got no pong", "a pong (RFC 6455 §5.5.2)")
    else:
        judge.add("WS-08", Verdict.PASS, case, "fragments joined into one text message; the ping answered")


def websocket_more_ends(judge: _Judge) -> None:
    record = judge.app("ws-close-no-code")
    if record.scope is not None:
        message = next(
            (m for m in record.received() if isinstance(m, dict) and m.get("type") == "websocket.disconnect"), None
        )
        if message is None:
            judge.add("WS-05", Verdict.FAIL, "ws-close-no-code", "no websocket.disconnect", "websocket.disconnect")
        else:
            code = message.get("code")
            verdict = Verdict.PASS if code == 1005 else Verdict.WARN
            judge.add("WS-06", verdict, "ws-close-no-code", f"code {code!r} for a close frame without a code", "1005")
    record = judge.app("ws-send-after-disconnect")
    if record.scope is not None:
        sends = [
            e for e in record.of_kind("send") if isinstance(e.value, dict) and e.value.get("type") == "websocket.send"
        ]
        if sends:
            errors = _send_errors(record)
            case = "ws-send-after-disconnect"
            if not errors:
                verdict = Verdict.WARN if judge.spec_of(case)[1] >= (2, 4) else Verdict.PASS
                judge.add(
                    "WS-09",
                    verdict,
                    case,
                    f"send() after the disconnect was a no-op (spec_version {judge.spec_of(case)[0]})",
                    "an OSError subclass from 2.4",
                )
            elif errors[0].get("oserror"):
                judge.add("WS-09", Verdict.PASS, case, f"send() after the disconnect raised {errors[0]['type']}")
            else:
                judge.add(
                    "WS-09",
                    Verdict.WARN,
                    case,
                    f"send() after the disconnect raised {errors[0]['type']}",
                    "an OSError subclass, or a no-op before 2.4",
                )


def still_serving(judge: _Judge) -> None:
    case = "still-serving"
    if case not in judge.observations:
        return
    status = status_of(judge.wire(case).received)
    judge.add(
        "ER-04",
        Verdict.PASS if status == 200 else Verdict.FAIL,
        case,
        f"a new request after the faults answered {status or 'nothing'}",
        "200",
    )


# -- event loops, no-content statuses, disconnect logs, HTTP/2, trailers, shutdown -----------------------------


def _loop_of(record: AppRecord) -> tuple[int, int] | None:
    """(pid, loop id) the recording app noted for this call."""
    for event in record.of_kind("note"):
        value = event.value
        if isinstance(value, dict) and isinstance(value.get("loop"), int) and isinstance(value.get("pid"), int):
            return value["pid"], value["loop"]
    return None


def same_loop(judge: _Judge) -> None:
    if judge.lifespan.scope is None:
        judge.add("LS-07", Verdict.NOT_APPLICABLE, "lifespan", "the server ran no lifespan scope")
        return
    ours = _loop_of(judge.lifespan)
    if ours is None:
        return
    loops = {case: loop for case in judge.observations if (loop := _loop_of(judge.app(case))) is not None}
    others = sorted(case for case, loop in loops.items() if loop != ours)
    if not loops:
        return
    if others:
        processes = {loops[case][0] for case in others} - {ours[0]}
        where = "in another process" if processes else "in another event loop of the same process"
        judge.add(
            "LS-07",
            Verdict.FAIL,
            others[0],
            f"{len(others)} of {len(loops)} requests ran {where} than the lifespan ({', '.join(others[:4])})",
            "the lifespan's event loop",
        )
    else:
        judge.add("LS-07", Verdict.PASS, "lifespan", f"the lifespan and {len(loops)} requests ran in one event loop")


NEXT_STATUS = b"HTTP/1."


def no_content(judge: _Judge) -> None:
    for status in (204, 304):
        case = f"no-content-{status}"
        if case not in judge.observations:
            continue
        wire, record = judge.wire(case), judge.app(case)
        data = wire.received
        head_end = data.find(b"\r\n\r\n")
        if status_of(data) != status or head_end < 0:
            what = f"answered {data[:40]!r}" if data else "no answer"
            judge.add("HR-09", Verdict.INFO, case, f"{what} to an app that sent {status} with a body", str(status))
            continue
        rest = data[head_end + 4 :]
        following = rest.find(NEXT_STATUS)
        leaked = rest if following < 0 else rest[:following]
        responses = parse_responses(data, closed=wire.closed_by_server)
        second = responses[1] if len(responses) > 1 else None
        errors_ = _send_errors(record)
        if leaked:
            if second is not None and second.complete and not second.error:
                after = "the next response still parsed"
            else:
                why = second.error if second is not None and second.error else "incomplete"
                after = f"the next response on the connection did not parse ({why})"
            judge.add(
                "HR-09",
                Verdict.FAIL,
                case,
                f"{len(leaked)} byte(s) of content after the {status}'s head ({leaked[:30]!r}); {after}",
                f"no content on a {status} (RFC 9110 §15.3.5, §15.4.5)",
            )
            continue
        how = f"send() raised {errors_[0]['type']}" if errors_ else "dropped"
        if second is not None and second.complete and not second.error:
            then = f"the next request on the connection answered {second.status}"
        elif wire.closed_by_server or wire.reset:
            then = "then the connection was closed"
        else:
            then = "the next request on the connection got no answer"
        judge.add("HR-09", Verdict.PASS, case, f"{status}: the app's body was not sent ({how}); {then}")


ERROR_LINE = re.compile(r"traceback|exception|\b(error|critical|fatal)\b", re.IGNORECASE)


def disconnect_logs(judge: _Judge) -> None:
    for case in LOGGED_CASES:
        observation = judge.observations.get(case)
        if observation is None or observation.app.scope is None:
            continue
        lines = [note.removeprefix(LOG_PREFIX) for note in observation.notes if note.startswith(LOG_PREFIX)]
        errors_ = _send_errors(observation.app)
        reraised = any(event.value == "re-raising" for event in observation.app.of_kind("note"))
        raised = (
            f"send() raised {errors_[0]['type']}" + (", raised on by the app" if reraised else "") + "; "
            if errors_
            else ""
        )
        flagged = [line for line in lines if ERROR_LINE.search(line)]
        if flagged:
            judge.add(
                "DC-05",
                Verdict.WARN,
                case,
                raised + f"the server logged {len(flagged)} error line(s) as the client left: {flagged[0][:160]!r}",
                "no error in the server's log",
            )
        else:
            judge.add(
                "DC-05",
                Verdict.PASS,
                case,
                raised + f"nothing logged as an error ({len(lines)} log line(s) while the client left)",
            )


def _note(observation: Observation, key: str) -> str:
    return next((note.split("=", 1)[1] for note in observation.notes if note.startswith(key + "=")), "")


def http2_scope(judge: _Judge) -> None:
    """h2-scope sends :authority and a matching host; h2-trailers sends :authority alone."""
    for case, with_host in (("h2-scope", True), ("h2-trailers", False)):
        observation = judge.observations.get(case)
        if observation is None:
            continue
        scope = observation.app.scope
        if scope is None:
            what = f"status {_note(observation, 'h2-status')}, {_note(observation, 'h2-ended')}"
            judge.add("SC-13", Verdict.FAIL, case, f"the app never saw the HTTP/2 request ({what})", "a scope")
            continue
        version = scope.get("http_version")
        judge.add(
            "SC-03",
            Verdict.PASS if version == "2" else Verdict.FAIL,
            case,
            f"http_version {version!r} for HTTP/2",
            '"2"',
        )
        raw = scope.get("headers")
        headers = [tuple(item) for item in raw if isinstance(item, list | tuple) and len(item) == 2] if raw else []
        names = [name for name, _ in headers if isinstance(name, bytes)]
        pseudo = [name for name in names if name.startswith(b":")]
        hosts = [value for name, value in headers if isinstance(name, bytes) and name.lower() == b"host"]
        sent = "with a matching host header" if with_host else "and no host header"
        if pseudo:
            judge.add("SC-13", Verdict.FAIL, case, f"pseudo-headers in the scope: {pseudo!r}", "none")
        elif hosts != [AUTHORITY]:
            judge.add(
                "SC-13",
                Verdict.FAIL,
                case,
                f"host header(s) {hosts!r} for :authority {sent}",
                f"one host {AUTHORITY!r}",
            )
        elif names[0] == b"host":
            judge.add("SC-13", Verdict.PASS, case, f"no pseudo-headers; host {AUTHORITY!r} first (:authority {sent})")
        elif with_host:
            judge.add("SC-13", Verdict.PASS, case, f"no pseudo-headers; the client's host {AUTHORITY!r} kept in place")
        else:
            judge.add(
                "SC-13",
                Verdict.FAIL,
                case,
                f"host {AUTHORITY!r} at position {names.index(b'host') + 1}, not first (:authority {sent})",
                "host first",
            )


def trailers(judge: _Judge) -> None:
    for case in ("trailers", "h2-trailers"):
        observation = judge.observations.get(case)
        if observation is None or observation.app.scope is None:
            continue
        record = observation.app
        notes = [event.value for event in record.of_kind("note")]
        over = "HTTP/2" if case.startswith("h2") else "HTTP/1.1"
        if "not advertised" in notes:
            judge.add("EX-04", Verdict.NOT_APPLICABLE, case, f"http.response.trailers is not advertised on {over}")
            continue
        name, value = TRAILER
        if case == "h2-trailers":
            text = _note(observation, "h2-trailers")
            arrived = (name, value) in _literal(text)
            where = f"trailers {text}, status {_note(observation, 'h2-status')}"
        else:
            wire = observation.wire
            tail = wire.received[wire.received.find(b"\r\n0\r\n") :] if b"\r\n0\r\n" in wire.received else b""
            arrived = name + b": " + value in tail.lower()
            where = f"after the last chunk: {tail[:60]!r}"
        errors_ = _send_errors(record)
        if arrived:
            judge.add("EX-04", Verdict.PASS, case, f"the app's trailer reached the client over {over}")
        else:
            judge.add(
                "EX-04",
                Verdict.FAIL,
                case,
                f"the trailer did not reach the client ({where})"
                + (f"; send() raised {errors_[0]['type']}" if errors_ else ""),
                f"{name.decode()}: {value.decode()} as a trailer (the client sent TE: trailers)",
            )


def _literal(text: str) -> list[Any]:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return []
    return list(value) if isinstance(value, list) else []


def shutdown(judge: _Judge) -> None:
    observation = judge.observations.get(SHUTDOWN_CASE)
    if observation is None:
        return
    record = judge.lifespan
    if record.scope is None:
        judge.add("LS-05", Verdict.NOT_APPLICABLE, SHUTDOWN_CASE, "the server ran no lifespan scope")
        return
    shutdown_at = next(
        (
            event.at
            for event in record.events
            if event.kind == "receive"
            and isinstance(event.value, dict)
            and event.value.get("type") == "lifespan.shutdown"
        ),
        None,
    )
    complete_at = next(
        (
            event.at
            for event in record.events
            if event.kind == "send"
            and isinstance(event.value, dict)
            and event.value.get("type") == "lifespan.shutdown.complete"
        ),
        None,
    )
    stop_at = _float(_note(observation, "stop_at"))
    exited_at = _float(_note(observation, "exited_at"))
    wire = observation.wire
    responses = parse_responses(wire.received, closed=wire.closed_by_server)
    answered = bool(responses) and responses[0].complete and responses[0].status == 200
    request = "answered 200" if answered else ("closed unanswered" if wire.closed_at or wire.reset else "unanswered")
    # The app's own end, on the server's clock: the probe reads the answer and the close a little later.
    ended_at = next((event.at for event in observation.app.of_kind("end")), None)
    if shutdown_at is None:
        judge.add(
            "LS-05",
            Verdict.FAIL,
            SHUTDOWN_CASE,
            f"stopped, the server never sent lifespan.shutdown (the in-flight request: {request})",
            "lifespan.shutdown once connections are closed",
        )
        return
    if ended_at is None or shutdown_at < ended_at:
        early = f"{(ended_at - shutdown_at) * 1000:.0f} ms before" if ended_at else "while"
        judge.add(
            "LS-05",
            Verdict.FAIL,
            SHUTDOWN_CASE,
            f"lifespan.shutdown reached the app {early} the in-flight request's app call ended ({request})",
            "lifespan.shutdown only after every connection is closed",
        )
    else:
        after = f"{(shutdown_at - stop_at) * 1000:.0f} ms after SIGTERM" if stop_at else "after SIGTERM"
        judge.add(
            "LS-05",
            Verdict.PASS,
            SHUTDOWN_CASE,
            f"the in-flight request ended ({request}), then lifespan.shutdown ({after})",
        )
    if complete_at is None:
        lived = f"{(exited_at - shutdown_at) * 1000:.0f} ms" if exited_at else "a short while"
        judge.add(
            "LS-05",
            Verdict.FAIL,
            SHUTDOWN_CASE,
            f"the process ended {lived} after lifespan.shutdown, before the app's cleanup "
            f"({SHUTDOWN_DELAY:.1f} s) sent lifespan.shutdown.complete",
            "exit only after lifespan.shutdown.complete",
        )
    else:
        judge.add(
            "LS-05",
            Verdict.PASS,
            SHUTDOWN_CASE,
            f"waited {(complete_at - shutdown_at) * 1000:.0f} ms for lifespan.shutdown.complete before exiting",
        )


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


RULES: tuple[Callable[[_Judge], None], ...] = (
    scope_shape,
    http_scope,
    bodies,
    response_headers,
    framing,
    flushing,
    invalid_sends,
    after_response,
    client_leaves,
    errors,
    lifespan,
    websocket,
    websocket_ends,
    app_transfer_encoding,
    expect_continue,
    head_request,
    websocket_messages,
    websocket_more_ends,
    still_serving,
    same_loop,
    no_content,
    disconnect_logs,
    http2_scope,
    trailers,
    shutdown,
    *WIRE_RULES,
)


def judge_lifespans(runs: list[LifespanRun]) -> list[ServerFinding]:
    """LS-03, LS-04 and LS-08 from servers started with a lifespan that raises, fails or returns unanswered."""
    findings: list[ServerFinding] = []
    for run in runs:
        case = f"lifespan-{run.mode}"
        ended = f"exited with status {run.exit_status}" if run.exit_status is not None else "neither served nor exited"
        if run.mode == "raise":
            if run.served:
                findings.append(ServerFinding("LS-03", Verdict.PASS, case, "the server went on and served"))
            else:
                findings.append(
                    ServerFinding(
                        "LS-03",
                        Verdict.FAIL,
                        case,
                        f"the server {ended} within {WATCH:.0f} s",
                        "it continues without lifespan",
                    )
                )
        elif run.mode == "fail":
            logged = any(FAILED_MESSAGE in line for line in run.log_tail)
            if run.exit_status is not None and run.served:
                findings.append(
                    ServerFinding(
                        "LS-04",
                        Verdict.WARN,
                        case,
                        f"served requests after startup.failed, then exited with status {run.exit_status}",
                        "no serving; exit",
                    )
                )
            elif run.exit_status is not None and logged:
                findings.append(
                    ServerFinding(
                        "LS-04", Verdict.PASS, case, f"logged the message and exited with status {run.exit_status}"
                    )
                )
            elif run.exit_status is not None:
                findings.append(
                    ServerFinding(
                        "LS-04",
                        Verdict.WARN,
                        case,
                        f"exited with status {run.exit_status} without the app's message in its log",
                        "the message logged",
                    )
                )
            else:
                what = "kept serving" if run.served else f"neither served nor exited in {WATCH:.0f} s"
                findings.append(
                    ServerFinding(
                        "LS-04",
                        Verdict.WARN,
                        case,
                        f"after startup.failed the server {what}",
                        "log the message, then exit",
                    )
                )
        elif run.mode == "return":
            what = "served anyway" if run.served else (ended if run.exit_status is not None else "did not serve")
            findings.append(
                ServerFinding(
                    "LS-08", Verdict.INFO, case, f"the app returned without answering startup: the server {what}"
                )
            )
    return findings
