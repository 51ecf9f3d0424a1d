"""Server-side verdicts for the ASGI extensions and TLS (EX-09, EX-10, EX-13, EX-14, EX-15). Pure.

An extension the server does not advertise in the case's scope is N/A there,
with the reason; one it advertises must work as docs/extensions.rst (or
specs/tls.rst) says, at the level of the spec's word for it.
"""

from __future__ import annotations

import ast
from typing import Any

from asgibench.conformance.findings import Verdict
from asgibench.conformance.observation import Observation
from asgibench.conformance.probe.cases import AUTHORITY
from asgibench.conformance.probe.extension_behaviours import (
    DEBUG,
    FILE_CONTENT,
    FILE_HEADER,
    HINT_LINKS,
    NOT_ADVERTISED,
    PUSH,
    PUSH_PATH,
    TLS,
    ZEROCOPY_COUNT,
    ZEROCOPY_OFFSET,
    ZEROCOPY_TAIL,
)
from asgibench.conformance.probe.extension_cases import digest
from asgibench.conformance.probe.judge import ServerFinding
from asgibench.conformance.probe.responses import WireResponse, parse_responses
from asgibench.conformance.probe.tls_leg import TLS_CASE_NAMES

Findings = list[ServerFinding]


def judge_extensions(observations: dict[str, Observation]) -> Findings:
    return [
        *file_sends(observations, "EX-13", "pathsend", "http.response.pathsend", FILE_CONTENT),
        *file_sends(
            observations,
            "EX-14",
            "zerocopysend",
            "http.response.zerocopysend",
            FILE_CONTENT[ZEROCOPY_OFFSET : ZEROCOPY_OFFSET + ZEROCOPY_COUNT] + ZEROCOPY_TAIL,
        ),
        *early_hints(observations),
        *push_and_debug(observations),
        *tls(observations),
    ]


# -- what the cases noted ---------------------------------------------------------------------------------------


def _note(observation: Observation, key: str) -> str:
    return next((note.split("=", 1)[1] for note in observation.notes if note.startswith(key + "=")), "")


def _notes(observation: Observation, key: str) -> list[str]:
    return [note.split("=", 1)[1] for note in observation.notes if note.startswith(key + "=")]


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None


def _scope(observation: Observation) -> dict[str, Any] | None:
    scope = observation.app.scope
    return scope if isinstance(scope, dict) else None


def _extensions(scope: dict[str, Any]) -> dict[Any, Any]:
    extensions = scope.get("extensions")
    return extensions if isinstance(extensions, dict) else {}


def _not_advertised(observation: Observation) -> bool:
    return NOT_ADVERTISED in [event.value for event in observation.app.of_kind("note")]


def _send_error(observation: Observation) -> str:
    errors = [event.value for event in observation.app.of_kind("send-error") if isinstance(event.value, dict)]
    return f"; send() raised {errors[0].get('type')}" if errors else ""


def _over(case: str) -> str:
    return "HTTP/2" if case.startswith("h2-") else "HTTP/1.1"


def _final(observation: Observation) -> tuple[WireResponse | None, list[WireResponse], list[WireResponse]]:
    """HTTP/1.1: the first final (2xx-5xx) response, the 1xx responses before it, and any 1xx after it."""
    wire = observation.wire
    responses = parse_responses(wire.received, closed=wire.closed_by_server)
    final = next((response for response in responses if response.status >= 200), None)
    cut = responses.index(final) if final is not None else len(responses)
    informational = [(index, r) for index, r in enumerate(responses) if 100 <= r.status < 200]
    return final, [r for index, r in informational if index < cut], [r for index, r in informational if index > cut]


class _H2Answer:
    """HTTP/2: the stream's answer as the case noted it."""

    def __init__(self, observation: Observation) -> None:
        status = _note(observation, "h2-status")
        self.status = int(status) if status.isdigit() else 0
        headers = _literal(_note(observation, "h2-headers"))
        self.headers: list[tuple[bytes, bytes]] = list(headers) if isinstance(headers, list) else []
        length = _note(observation, "h2-body-length")
        self.length = int(length) if length.isdigit() else -1
        self.digest = _note(observation, "h2-body-digest")
        self.ended = _note(observation, "h2-ended")
        self.complete = self.ended.startswith("True")


# -- EX-13 / EX-14: the file sends ------------------------------------------------------------------------------


def file_sends(
    observations: dict[str, Observation], check: str, case: str, extension: str, expected: bytes
) -> Findings:
    """The file (or its part) with the app's headers, byte for byte, where the extension is advertised."""
    findings: Findings = []
    for name in (case, "h2-" + case):
        observation = observations.get(name)
        if observation is None:
            continue
        over = _over(name)
        if _scope(observation) is None:
            findings.append(ServerFinding(check, Verdict.NOT_APPLICABLE, name, "the app never saw the request"))
            continue
        if _not_advertised(observation):
            findings.append(
                ServerFinding(check, Verdict.NOT_APPLICABLE, name, f"{extension} is not advertised on {over}")
            )
            continue
        want = f"200 with the app's {FILE_HEADER[0].decode()} header and the {len(expected)} bytes of the file"
        if over == "HTTP/2":
            answer = _H2Answer(observation)
            has_header = FILE_HEADER in answer.headers
            exact = answer.complete and answer.length == len(expected) and answer.digest == digest(expected)
            seen = f"status {answer.status}, {answer.length} bytes (digest {answer.digest}), {answer.ended}"
        else:
            final, _, _ = _final(observation)
            status = final.status if final is not None else 0
            has_header = final is not None and FILE_HEADER[1] in final.header_values(FILE_HEADER[0])
            exact = final is not None and final.complete and final.body == expected
            seen = (
                f"status {final.status}, {len(final.body)} bytes, complete={final.complete}"
                if final is not None
                else f"no response ({observation.wire.received[:60]!r})"
            )
        if over == "HTTP/2":
            status = answer.status
        if status == 200 and has_header and exact:
            findings.append(
                ServerFinding(
                    check, Verdict.PASS, name, f"the file's bytes exactly, with the app's headers, over {over}"
                )
            )
        else:
            missing = "" if has_header else "; the app's header is missing"
            findings.append(ServerFinding(check, Verdict.FAIL, name, seen + missing + _send_error(observation), want))
    return findings


# -- EX-15: early hints -----------------------------------------------------------------------------------------


def early_hints(observations: dict[str, Observation]) -> Findings:
    findings: Findings = []
    for name in ("early-hint", "h2-early-hint"):
        observation = observations.get(name)
        if observation is None:
            continue
        over = _over(name)
        if _scope(observation) is None:
            findings.append(ServerFinding("EX-15", Verdict.NOT_APPLICABLE, name, "the app never saw the request"))
            continue
        if _not_advertised(observation):
            findings.append(
                ServerFinding(
                    "EX-15", Verdict.NOT_APPLICABLE, name, f"http.response.early_hint is not advertised on {over}"
                )
            )
            continue
        findings.append(_early_hint(name, observation, over))
    return findings


def _early_hint(name: str, observation: Observation, over: str) -> ServerFinding:
    wanted = sorted(HINT_LINKS)
    expected = f"a 103 with Link: {b', '.join(HINT_LINKS).decode()} before the final 200"
    if over == "HTTP/2":
        answer = _H2Answer(observation)
        hints = [
            (_literal(text.split("; before_final=")[0]), text.endswith("True"))
            for text in _notes(observation, "h2-103")
        ]
        final_ok = answer.status == 200 and answer.complete
        late = [links for links, before in hints if not before]
        links = [[value for key, value in headers or [] if key == b"link"] for headers, _ in hints]
        final_seen = f"status {answer.status}, {answer.ended}"
    else:
        final, early, late = _final(observation)
        final_ok = final is not None and final.status == 200 and final.complete
        links = [hint.header_values(b"link") for hint in early if hint.status == 103]
        final_seen = f"status {final.status}, complete={final.complete}" if final is not None else "no final response"
    if not final_ok:
        return ServerFinding(
            "EX-15",
            Verdict.FAIL,
            name,
            f"the final response did not arrive whole ({final_seen}){_send_error(observation)}",
            expected,
        )
    if late:
        return ServerFinding(
            "EX-15", Verdict.FAIL, name, "a 103 after the final response", "informational answers first"
        )
    if not links:
        verdict = Verdict.INFO if over == "HTTP/1.1" else Verdict.WARN
        why = "the server may ignore it over HTTP/1.1" if over == "HTTP/1.1" else "the server should attempt it"
        return ServerFinding("EX-15", verdict, name, f"no 103 over {over} ({why})", expected)
    if any(sorted(found) != wanted for found in links):
        return ServerFinding("EX-15", Verdict.WARN, name, f"103 Link values {links!r}", expected)
    return ServerFinding("EX-15", Verdict.PASS, name, f"a 103 with the app's links before the 200, over {over}")


# -- EX-09: push (HTTP/2 only, as the client allows) and debug (never in a real server) --------------------------


def push_and_debug(observations: dict[str, Observation]) -> Findings:
    findings: Findings = []
    scopes = [(name, scope) for name, observation in observations.items() if (scope := _scope(observation))]
    debug = [name for name, scope in scopes if DEBUG in _extensions(scope)]
    if debug:
        findings.append(
            ServerFinding(
                "EX-09",
                Verdict.WARN,
                debug[0],
                f"{DEBUG} advertised ({len(debug)} scope(s))",
                "not implemented by a server",
            )
        )
    elif scopes:
        findings.append(
            ServerFinding("EX-09", Verdict.PASS, "all", f"no scope advertised {DEBUG} ({len(scopes)} scopes)")
        )
    for name, scope in scopes:
        if PUSH in _extensions(scope) and scope.get("http_version") != "2":
            kind = scope.get("type")
            version = scope.get("http_version")
            findings.append(
                ServerFinding(
                    "EX-09",
                    Verdict.WARN,
                    name,
                    f"{PUSH} advertised on a {kind} scope over HTTP/{version}",
                    "HTTP/2 scopes only",
                )
            )
    for name, allowed in (("h2-push", True), ("h2-push-refused", False)):
        observation = observations.get(name)
        if observation is None:
            continue
        if _scope(observation) is None:
            findings.append(ServerFinding("EX-09", Verdict.NOT_APPLICABLE, name, "the app never saw the request"))
        elif _not_advertised(observation):
            findings.append(ServerFinding("EX-09", Verdict.NOT_APPLICABLE, name, f"{PUSH} is not advertised on HTTP/2"))
        else:
            findings.append(_push(name, observation, allowed))
    return findings


def _push(name: str, observation: Observation, allowed: bool) -> ServerFinding:
    answer = _H2Answer(observation)
    promises = [_literal(text) for text in _notes(observation, "h2-promise")]
    error = answer.ended.split("error=", 1)[-1] if "error=" in answer.ended else ""
    if not allowed and (promises or "push" in error.lower()):
        return ServerFinding(
            "EX-09",
            Verdict.FAIL,
            name,
            f"a PUSH_PROMISE after SETTINGS_ENABLE_PUSH=0 ({error or promises!r})",
            "no push",
        )
    if answer.status != 200 or not answer.complete:
        return ServerFinding(
            "EX-09",
            Verdict.FAIL,
            name,
            f"the response the push was sent in: status {answer.status}, {answer.ended}",
            "200, whole",
        )
    if not allowed:
        return ServerFinding(
            "EX-09", Verdict.PASS, name, "push refused by the client: no PUSH_PROMISE, the response whole"
        )
    if not promises:
        return ServerFinding(
            "EX-09", Verdict.WARN, name, "no PUSH_PROMISE although the client allows push", "a push attempt"
        )
    headers = dict(promises[0] or [])
    pushed_status = _note(observation, "h2-pushed-status")
    problems = []
    if headers.get(b":path") != PUSH_PATH.encode():
        problems.append(f":path {headers.get(b':path')!r}")
    if headers.get(b":authority") != AUTHORITY:
        problems.append(f":authority {headers.get(b':authority')!r}, not the request's {AUTHORITY!r}")
    if not _note(observation, "pushed-app-scope"):
        problems.append("no new app instance for the pushed request")
    if problems:
        return ServerFinding(
            "EX-09",
            Verdict.WARN,
            name,
            "; ".join(problems) + f" (pushed: {pushed_status})",
            "as the client's own request",
        )
    return ServerFinding(
        "EX-09",
        Verdict.PASS,
        name,
        f"PUSH_PROMISE for {PUSH_PATH}, same :authority, served by the app ({pushed_status})",
    )


# -- EX-10: TLS -------------------------------------------------------------------------------------------------

_SCHEMES = {"tls-scope": "https", "tls-ws": "wss"}


def tls(observations: dict[str, Observation]) -> Findings:
    findings: Findings = []
    plain = [(name, scope) for name, o in observations.items() if name not in TLS_CASE_NAMES and (scope := _scope(o))]
    offending = [name for name, scope in plain if TLS in _extensions(scope)]
    if offending:
        findings.extend(
            ServerFinding("EX-10", Verdict.FAIL, name, "tls advertised on a connection without TLS", "no tls extension")
            for name in offending
        )
    elif plain:
        findings.append(
            ServerFinding("EX-10", Verdict.PASS, "all", f"no cleartext scope advertised tls ({len(plain)} scopes)")
        )
    for name, scheme in _SCHEMES.items():
        observation = observations.get(name)
        if observation is None:
            continue
        scope = _scope(observation)
        if scope is None:
            findings.append(
                ServerFinding("EX-10", Verdict.FAIL, name, "the app never saw the connection over TLS", "a scope")
            )
            continue
        seen = scope.get("scheme")
        verdict = Verdict.PASS if seen == scheme else Verdict.FAIL
        default = "http" if name == "tls-scope" else "ws"
        said = f"scheme {seen!r}" if "scheme" in scope else f"no scheme (so {default!r}, its default)"
        findings.append(ServerFinding("EX-10", verdict, name, f"{said} over TLS", repr(scheme)))
        extension = _extensions(scope).get(TLS)
        if extension is None:
            findings.append(
                ServerFinding("EX-10", Verdict.NOT_APPLICABLE, name, "tls is not advertised (it is optional)")
            )
            continue
        problems = tls_problems(extension, observation)
        if problems:
            findings.append(ServerFinding("EX-10", Verdict.FAIL, name, "; ".join(problems), "tls.rst's keys and types"))
        else:
            findings.append(ServerFinding("EX-10", Verdict.PASS, name, f"tls complete: {sorted(extension)}"))
    return findings


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def tls_problems(extension: Any, observation: Observation) -> list[str]:
    """What in the ``tls`` dict breaks tls.rst, for a client that sent no certificate."""
    if not isinstance(extension, dict):
        return [f"tls is {type(extension).__name__}, not a dict"]
    problems = [f"no {key}" for key in ("server_cert", "tls_version", "cipher_suite") if key not in extension]
    cert = extension.get("server_cert")
    sent = _note(observation, "tls-server-cert").replace("\\n", "\n")
    if cert is not None and not isinstance(cert, str):
        problems.append(f"server_cert is {type(cert).__name__}")
    elif isinstance(cert, str) and sent and "".join(cert.split()) != "".join(sent.split()):
        problems.append("server_cert is not the PEM of the certificate the server sent")
    chain = extension.get("client_cert_chain", [])
    if not isinstance(chain, list | tuple) or not all(isinstance(item, str) for item in chain):
        problems.append(f"client_cert_chain {chain!r:.60} is not an iterable of str")
    elif chain:
        problems.append(f"client_cert_chain has {len(chain)} item(s) though the client sent no certificate")
    for key in ("client_cert_name", "client_cert_error"):
        if extension.get(key) is not None:
            problems.append(f"{key} {extension[key]!r:.60} though the client sent no certificate (None)")
    version = extension.get("tls_version")
    negotiated = _note(observation, "tls-version")
    if version is not None and not _int(version):
        problems.append(f"tls_version is {type(version).__name__}, not an int")
    elif _int(version) and negotiated.isdigit() and version != int(negotiated):
        problems.append(f"tls_version {version:#06x}, the connection's is {int(negotiated):#06x}")
    suite = extension.get("cipher_suite")
    if suite is not None and not (_int(suite) and 0 <= suite <= 0xFFFF):
        problems.append(f"cipher_suite {suite!r:.40} is not a 16-bit int")
    return problems
