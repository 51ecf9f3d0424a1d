"""The check catalogue: stable ids, the rule each check enforces, its level and its basis.

Ids come from the conformance plan; the ones asgibench adds continue each
series. Once published an id keeps its meaning and is never reused or
renumbered. An id names one check on one side. The next free ids are SC-22,
HR-18, ST-10, DC-10, LS-13, WS-15, EX-16 and ER-08 (the plan keeps SC-01..15,
HR-07..10, ST-01..06, DC-01..05, LS-01..08, WS-01..09, EX-02, EX-04, EX-09,
EX-10 and ER-01..05 for server-side checks, and the probe has added HR-15..17
and EX-13..15).

The level follows the spec's own word: MUST / MUST NOT is ``must`` (a
failure), SHOULD / SHOULD NOT is ``should`` (a warning), MAY or nothing at
all is ``info``. Where the spec gives the app no modal word and asgibench
derives one, the check's ``rule`` says why. A check may bundle rules of
different strength: each finding then carries the verdict of the rule it
broke, which may be softer than the check's level (HR-05: a wrong
Content-Length fails, an app-set Transfer-Encoding is only recorded).

Every ``quote`` is verbatim from django/asgiref (specs/asgi.rst,
specs/www.rst, specs/lifespan.rst, specs/tls.rst, docs/extensions.rst). RFC rules are
paraphrased in the rule text and cited by section, without quotes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum


class Level(StrEnum):
    MUST = "must"
    SHOULD = "should"
    INFO = "info"


class Side(StrEnum):
    """Who can break the rule: the app (judged in-process) or the server (probed)."""

    APP = "A"
    SERVER = "S"


class Group(StrEnum):
    SCOPE = "scope"
    HTTP = "http"
    STREAMING = "streaming"
    DISCONNECT = "disconnect"
    LIFESPAN = "lifespan"
    WEBSOCKET = "websocket"
    EXTENSIONS = "extensions"
    ERRORS = "errors"


GROUP_TITLES: dict[Group, str] = {
    Group.SCOPE: "Scope and messages",
    Group.HTTP: "HTTP request/response",
    Group.STREAMING: "Streaming / more_body",
    Group.DISCONNECT: "Disconnect",
    Group.LIFESPAN: "Lifespan",
    Group.WEBSOCKET: "WebSocket",
    Group.EXTENSIONS: "Extensions",
    Group.ERRORS: "Error handling",
}

# The two-letter id prefix of each group, so `--only HR` works as well as `--only http`.
GROUP_PREFIXES: dict[str, Group] = {
    "SC": Group.SCOPE,
    "HR": Group.HTTP,
    "ST": Group.STREAMING,
    "DC": Group.DISCONNECT,
    "LS": Group.LIFESPAN,
    "WS": Group.WEBSOCKET,
    "EX": Group.EXTENSIONS,
    "ER": Group.ERRORS,
}


class Document(Enum):
    """A public document a rule comes from: (its full name, a short name for tables)."""

    ASGI = ("ASGI spec, main specification (asgiref specs/asgi.rst)", "asgi.rst")
    WWW = ("ASGI spec, HTTP & WebSocket (asgiref specs/www.rst)", "www.rst")
    LIFESPAN = ("ASGI spec, Lifespan (asgiref specs/lifespan.rst)", "lifespan.rst")
    EXTENSIONS = ("ASGI extensions (asgiref docs/extensions.rst)", "extensions.rst")
    TLS = ("ASGI TLS extension (asgiref specs/tls.rst)", "tls.rst")
    ASGIREF_579 = ("asgiref pull request #579, Clarify Early Hints message ordering", "asgiref#579")
    RFC6455 = ("RFC 6455", "RFC 6455")
    RFC8297 = ("RFC 8297", "RFC 8297")
    RFC9110 = ("RFC 9110", "RFC 9110")
    RFC9112 = ("RFC 9112", "RFC 9112")
    RFC9113 = ("RFC 9113", "RFC 9113")

    @property
    def title(self) -> str:
        return self.value[0]

    @property
    def short(self) -> str:
        return self.value[1]

    @property
    def is_rfc(self) -> bool:
        return self.short.startswith("RFC")


@dataclass(frozen=True, slots=True)
class Citation:
    """Where a rule is written: a document's section, with its words when quoted."""

    document: Document
    section: str
    quote: str = ""  # verbatim, "[...]" marking an elision; empty when paraphrased

    def __str__(self) -> str:
        if self.document.is_rfc:
            return f"{self.document.title} §{self.section}"
        if not self.section:
            return self.document.title
        return f"{self.document.title}, § {self.section}"

    @property
    def short(self) -> str:
        if self.document.is_rfc:
            return f"{self.document.short} §{self.section}"
        return f"{self.document.short} §{self.section}" if self.section else self.document.short


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    title: str
    level: Level
    rule: str  # what asgibench enforces, with the verdict of each part and why
    basis: tuple[Citation, ...]
    side: Side = Side.APP

    @property
    def group(self) -> Group:
        return GROUP_PREFIXES[self.id[:2]]

    @property
    def quote(self) -> str:
        """The spec's own words for the rule, every quoted passage joined."""
        return " [...] ".join(citation.quote for citation in self.basis if citation.quote)

    @property
    def reference(self) -> str:
        """The sections the rule rests on, short: ``www.rst §Response Start; RFC 9112 §6.3``."""
        shorts: list[str] = []
        for citation in self.basis:
            if citation.short not in shorts:
                shorts.append(citation.short)
        return "; ".join(shorts)


# Citation builders, one per document; the server-side catalogue (probe/catalogue.py) uses them too.
def cite_asgi(section: str, quote: str = "") -> Citation:
    return Citation(Document.ASGI, section, quote)


def cite_www(section: str, quote: str = "") -> Citation:
    return Citation(Document.WWW, section, quote)


def cite_lifespan(section: str, quote: str = "") -> Citation:
    return Citation(Document.LIFESPAN, section, quote)


def cite_extensions(section: str, quote: str = "") -> Citation:
    return Citation(Document.EXTENSIONS, section, quote)


def cite_tls(section: str, quote: str = "") -> Citation:
    return Citation(Document.TLS, section, quote)


def cite_rfc(document: Document, section: str) -> Citation:
    return Citation(document, section)


_asgi, _www, _lifespan, _ext, _rfc = cite_asgi, cite_www, cite_lifespan, cite_extensions, cite_rfc


_HEADER_NAMES_LOWER = "Header names must be lowercased."
_NO_PSEUDO_HEADERS = "Pseudo headers (present in HTTP/2 and HTTP/3) must not be present."
_MIXED_CASE_NOTE = (
    "A mixed-case header name is reported as a warning, softer than the spec's must: field names are "
    "case-insensitive on the wire (RFC 9110 §5.1) and servers case-fold them before sending, so the "
    "client's response is unchanged, while Django sends mixed-case names by design; --strict fails it."
)

CHECKS: tuple[Check, ...] = (
    Check(
        "SC-16",
        "app does not mutate server-owned parts of the scope in place",
        Level.SHOULD,
        "Middleware that changes the scope copies it first. A server-owned part of the scope (headers, asgi, "
        "extensions, client, server) changed in place warns; a top-level value replaced or removed is recorded "
        "(info). The scope is compared when the app call returns and again when the session ends, so a change "
        "made later by a task the app left running is reported too, with the same verdict.",
        (
            _asgi(
                "Middleware",
                "When middleware is modifying the ``scope``, it should make a copy of the ``scope`` object before "
                "mutating it and passing it to the inner application, as changes may leak upstream otherwise.",
            ),
            _asgi(
                "Middleware",
                "thus, do not keep a reference to it and try to mutate it outside of the initial ASGI app call.",
            ),
        ),
    ),
    Check(
        "SC-17",
        "app rejects scope types it does not support by raising",
        Level.SHOULD,
        "On a scope of type 'asgibench.unknown' the app raises; returning or waiting warns. Raising at once on "
        'websocket or lifespan is how an HTTP-only app says "unsupported" and is recorded (info).',
        (
            _asgi(
                "Protocol Specifications",
                "Applications should actively reject any protocol that they do not understand with an `Exception` "
                "(of any type).",
            ),
        ),
    ),
    Check(
        "SC-18",
        "app tolerates absent optional keys and unknown extra keys, in scopes and events",
        Level.SHOULD,
        "Given only the scope keys the spec does not call optional, plus one key no spec defines, the app still "
        "answers: a crash or a 5xx warns (unless the usual request fails the same way). The events of that "
        "request carry the unknown key too, and its http.request has neither `body` nor `more_body`. The "
        "WebSocket twin has only type, asgi, path and headers in its scope (no spec_version: 2.0), events with "
        "the unknown key, websocket.receive with both `bytes` and `text` present (one None), and a disconnect "
        "with code 1005 and reason None; a crash while the client is connected warns. lifespan.startup carries "
        "the unknown key as well; a raise there is LS-10's finding. Level derived: the spec gives each optional "
        "key a default the app has to assume itself, and says extra keys in an event should not raise. One more "
        "GET has a scope whose `asgi` dict holds neither `version` nor `spec_version`: a crash or a 5xx there is "
        'recorded (info), not warned. The spec says a missing version should default to "2.0", but it also '
        "says the `asgi` dict with its version will be present, and every server asgibench probes sends it, so "
        "an app that relies on it breaks under no server in use.",
        (
            _asgi(
                "Applications",
                'The key ``scope["asgi"]`` will also be present as a dictionary containing a '
                '``scope["asgi"]["version"]`` key that corresponds to the ASGI version the server implements. If '
                'missing, the version should default to ``"2.0"``.',
            ),
            _www("HTTP Connection Scope", 'Optional; if missing assume ``"2.0"``.'),
            _www(
                "HTTP Connection Scope",
                'Optional (but must not be empty); default is ``"http"``. [...] Optional; if missing defaults to '
                '``""``.',
            ),
            _www(
                "Request",
                'Optional; if missing defaults to ``b""``. [...] Optional; if missing defaults to ``False``.',
            ),
            _www("Receive", "One or both keys may be present, however."),
            _www("Disconnect", "Optional; if missing or ``None`` default is empty string."),
            _asgi(
                "Error Handling",
                "In both cases, the presence of additional keys in the event dictionary should not raise an exception.",
            ),
        ),
    ),
    Check(
        "SC-19",
        "every sent message is a dict whose `type` is defined for the scope",
        Level.MUST,
        "Every message the app sends is a dict with a str `type` (fail), and that type is one the scope's "
        "protocol or an extension defines (fail). For an unknown type the level is derived: the spec asks "
        "servers to raise on it, so such a message never takes effect.",
        (
            _asgi(
                "Events",
                "Each event is a ``dict`` with a top-level ``type`` key that contains a Unicode string of the "
                "message type.",
            ),
            _asgi(
                "Error Handling",
                "If a server receives an invalid event dictionary - for example, having an unknown ``type``, "
                "missing keys an event type should have, or with wrong Python types for objects (e.g. Unicode "
                "strings for HTTP headers) - it should raise an exception out of the ``send`` awaitable back to "
                "the application.",
            ),
        ),
    ),
    Check(
        "SC-20",
        "sent messages hold only the allowed value types",
        Level.MUST,
        "Every value in a sent message is bytes (exactly: not bytearray or memoryview), str, an int within the "
        "signed 64-bit range, a finite float, a list, a dict with str keys, a bool or None (fail). A tuple where "
        "the spec does not type the field as an iterable is recorded (info): the spec's should is about how a "
        "tuple is encoded when a message is serialised, and in process every server reads it as a list. "
        "Objects an extension defines as free-form (the zerocopysend file, the debug info) are not inspected.",
        (
            _asgi(
                "Events",
                "Because these messages could be sent over a network, they need to be serializable, and so they "
                "are only allowed to contain the following types:",
            ),
            _asgi("Events", "Lists (tuples should be encoded as lists)"),
            _asgi("Events", "Dicts (keys must be Unicode strings)"),
            _asgi(
                "Strings and Unicode",
                "In this document, and all sub-specifications, *byte string* refers to the ``bytes`` type in Python 3.",
            ),
        ),
    ),
    Check(
        "SC-21",
        "app answers unusual but valid requests as it answers the usual ones",
        Level.SHOULD,
        "A POST whose header names are in mixed case (Content-Type, Content-Length...) from an IPv6 client, and "
        "a GET over HTTP/2 with the cookie on two header lines, from a server on a unix socket (`server` is "
        "[path, None], no `client`), get the status the usual request to the same route gets: a crash, a 5xx "
        "or another status warns (unless the usual request fails too). An app that looks a header up by its "
        "lower-case name alone, or formats the server's port, breaks here. Two more requests to the route "
        "may rightly get another status (405, 404), so there only a crash or a 5xx warns: an extension method "
        "(PURGE), where a 501 is the answer RFC 9110 §9.1 asks for and passes, and a GET whose path holds an "
        "encoded slash and non-ASCII characters (`path` '/café/menu', `raw_path` b'/caf%C3%A9%2Fmenu'). An app "
        "that looks its handler up in a fixed table of methods, or encodes the path as ASCII, breaks there. "
        "Level derived: each value is one the spec allows a server to send (RFC 9110 §9.1 lets the set of "
        "methods grow), and the spec asks apps supporting HTTP/2 to take care of the cookie case.",
        (
            _www("HTTP Connection Scope", "``method`` (*Unicode string*) -- The HTTP method name, uppercased."),
            _www(
                "HTTP Connection Scope",
                "``path`` (*Unicode string*) -- HTTP request target excluding any query string, with "
                "percent-encoded sequences and UTF-8 byte sequences decoded into characters.",
            ),
            _www(
                "HTTP Connection Scope",
                "Header names should be lowercased, but it is not required; servers should preserve header case on "
                "a best-effort basis.",
            ),
            _www(
                "HTTP Connection Scope",
                "or ``[path, None]`` where ``path`` is that of the unix socket.",
            ),
            _www(
                "HTTP",
                "For ASGI applications that support HTTP/2, care should be taken to handle the special case for "
                "``Cookie`` noted above.",
            ),
            _rfc(Document.RFC9110, "9.1"),
        ),
    ),
    Check(
        "HR-01",
        "the first response message is `http.response.start`, sent exactly once",
        Level.MUST,
        "The response begins with one http.response.start; a body (or file) message before it, or a second "
        "start, fails.",
        (
            _www(
                "Response Start",
                "Sent by the application to start sending a response to the client. Needs to be followed by at "
                "least one response content message.",
            ),
        ),
    ),
    Check(
        "HR-02",
        "`status` is a final HTTP status; headers are [bytes, bytes] pairs, lower-case, no pseudo-headers",
        Level.MUST,
        "`status` is an int from 200 to 599 (fail). A 1xx status fails too: http.response.start carries the "
        "final response, and a 1xx response is only interim (RFC 9110 §15.2). "
        "Headers are an iterable of [bytes, bytes] pairs whose names are HTTP tokens and whose values hold no "
        "CR, LF or NUL (RFC 9110 §5.1, §5.5), with no pseudo-headers (fail). `trailers` is a bool (fail). "
        + _MIXED_CASE_NOTE
        + " A Set-Cookie value that looks like two cookies joined by a comma is recorded (info): the spec says "
        "they cannot be joined, but an Expires date holds a comma too, so this is a guess.",
        (
            _www(
                "Response Start",
                "``status`` (*int*) -- HTTP status code. [...] " + _HEADER_NAMES_LOWER + " [...] " + _NO_PSEUDO_HEADERS,
            ),
            _www(
                "HTTP",
                "For the ``Set-Cookie`` header in HTTP/1.0, HTTP/1.1 and HTTP2.0, it may appear repeatedly, but "
                "cannot be concatenated by commas (or anything else) into a single header field.",
            ),
            _rfc(Document.RFC9110, "15.2"),
            _rfc(Document.RFC9110, "5.5"),
        ),
    ),
    Check(
        "HR-03",
        "`body` is bytes, `more_body` a bool, and the final body is sent before returning",
        Level.MUST,
        "`body` is bytes and `more_body` a bool (fail); an app that returns after starting a response without "
        "the final body (more_body=False), or without any response, fails. A bytes-like body (bytearray, "
        "memoryview) is SC-20's failure and is reported there once.",
        (
            _www(
                "Response Body",
                "``body`` (*byte string*) -- HTTP body content. [...] ``more_body`` (*bool*) -- Signifies if there "
                "is additional content to come (as part of a *Response Body* message).",
            ),
            _www("Response Start", "Needs to be followed by at least one response content message."),
        ),
    ),
    Check(
        "HR-04",
        "nothing is sent after the response is complete",
        Level.SHOULD,
        "A message sent after the final body (or the final trailers) warns. Level derived: the spec forbids "
        "nothing here, it says the server ignores such messages, so what the app sent is lost; several servers "
        "raise instead. The fake server ignores them, as the spec describes.",
        (
            _www(
                "Response Body",
                "If ``False``, and the server is not expecting *Response Trailers* response will be taken as "
                "complete and closed, and any further messages on the channel will be ignored.",
            ),
            _asgi(
                "Error Handling",
                "Note that messages received by a server after the connection has been closed are generally not "
                "considered errors unless specified by a protocol.",
            ),
        ),
    ),
    Check(
        "HR-05",
        "a Content-Length matches the body sent",
        Level.MUST,
        "A Content-Length header holds one decimal number and equals the body bytes sent (fail): the declared "
        "length frames the message (RFC 9112 §6.3), so a mismatch truncates the response or corrupts the next "
        "one on the connection. Not compared for HEAD, 1xx, 204 and 304 responses; file sends are compared in "
        "EX-06 and EX-07. An app-set Transfer-Encoding is recorded (info): the spec lets the app send it and "
        "tells the server to ignore it.",
        (
            _www(
                "Response Start",
                "You may send a ``Transfer-Encoding`` header in this message, but the server must ignore it.",
            ),
            _rfc(Document.RFC9112, "6.3"),
            _rfc(Document.RFC9110, "8.6"),
        ),
    ),
    Check(
        "HR-06",
        "the application is an async callable",
        Level.MUST,
        "app(scope, receive, send) returns an awaitable (fail): a plain function cannot be driven by an asyncio "
        "server. A value other than None returned from the app is recorded (info): the spec says nothing of it. "
        "A legacy ASGI 2 app (one that takes the scope alone and returns the callable taking receive and send) is "
        "run that way and recorded (info): the spec asks servers to try to support it. receive() or send() "
        "called from another event loop or thread than the one that called the app warns: a server's callables "
        "belong to its loop and are not thread-safe; the spec puts the app on that loop, and the fake server may "
        "still cope, so the finding is a warning.",
        (
            _asgi(
                "Overview",
                "ASGI applications must run as ``async`` / ``await`` compatible coroutines (i.e. "
                "``asyncio``-compatible) (on the main thread; they are free to use threading or other processes if "
                "they need synchronous code).",
            ),
            _asgi("Applications", "ASGI applications should be a single async callable::"),
            _asgi(
                "Applications",
                "servers can easily implement support for it using the ``asgiref.compatibility`` library, and "
                "should try to support it.",
            ),
        ),
    ),
    Check(
        "HR-11",
        "the response completes within the deadline",
        Level.MUST,
        "A response is started and completed within the deadline (--timeout) (fail). Level derived: the spec "
        "requires a body message after the start; the deadline is asgibench's, standing in for a client's "
        "patience. A stream still sending at the deadline is recorded (info). An app still running past the "
        "deadline after its complete response warns: the connection scope lasts until the end of the request.",
        (
            _www(
                "Response Start",
                "Sent by the application to start sending a response to the client. Needs to be followed by at "
                "least one response content message.",
            ),
            _www(
                "HTTP Connection Scope",
                "your application will be called at the start of the request, and will last until the end of that "
                "specific request",
            ),
        ),
    ),
    Check(
        "HR-12",
        "no content and no Content-Length where the status forbids them",
        Level.MUST,
        "A 204 or 304 response sends no body bytes (fail): such a response ends at its header section and cannot "
        "contain content (RFC 9110 §15.3.5, §15.4.5); a server that forwards them corrupts the connection. A 204 "
        "response carries no Content-Length header (fail): RFC 9110 §8.6 says a server must not send one there. "
        "A GET that answered 200 with an ETag or Last-Modified is sent again with If-None-Match or "
        "If-Modified-Since; a 304 to it whose Content-Length is not the number of body bytes the 200 sent warns. "
        "RFC 9110 §8.6 says a server must not send one there unless it equals the 200's; the finding is softer "
        "than that must because a 304 ends at its header section whatever its fields say (RFC 9112 §6.3), so no "
        "recipient frames the message by the wrong number. Body bytes on that 304 fail, as above.",
        (
            _rfc(Document.RFC9110, "15.3.5"),
            _rfc(Document.RFC9110, "15.4.5"),
            _rfc(Document.RFC9110, "8.6"),
            _rfc(Document.RFC9112, "6.3"),
        ),
    ),
    Check(
        "HR-13",
        "the app does not block its event loop",
        Level.SHOULD,
        "While a scenario runs, the event loop is never late by more than a quarter of a second because of "
        "synchronous code in the app (warn). Where a sample of the loop thread's stack catches it, the finding "
        "names the blocking call (file:line function). Level derived: the spec asks for asyncio-compatible "
        "coroutines and points synchronous code to threads or processes; a blocked loop stalls every other "
        "connection the server runs on it.",
        (
            _asgi(
                "Overview",
                "ASGI applications must run as ``async`` / ``await`` compatible coroutines (i.e. "
                "``asyncio``-compatible) (on the main thread; they are free to use threading or other processes if "
                "they need synchronous code).",
            ),
        ),
    ),
    Check(
        "HR-14",
        "a HEAD answers as the GET to the same target would, without the content",
        Level.MUST,
        "Compared with the plain GET to the same path: a HEAD response with another status, or with other header "
        "fields, warns (RFC 9110 §9.3.2: the server should send the same fields; Content-Length and "
        "Transfer-Encoding may be left out, as only the content decides them). A HEAD Content-Length that is "
        "not the number of body bytes the GET sent fails (RFC 9110 §8.6: a server must not send one unless it "
        "equals the GET's). Body bytes sent to HEAD are not judged: servers drop them.",
        (
            _rfc(Document.RFC9110, "9.3.2"),
            _rfc(Document.RFC9110, "8.6"),
        ),
    ),
    Check(
        "ST-07",
        "app reads the request body until `more_body` is False before acting on it",
        Level.SHOULD,
        "An app that read part of a body sent in several messages answers a success only after the message with "
        "more_body=False (warn). A body already complete by its Content-Length counts as read even when the app "
        "never read the final empty message, as frameworks do.",
        (
            _www(
                "Request",
                "If ``True``, the consuming application should wait until it gets a chunk with this set to ``False``.",
            ),
        ),
    ),
    Check(
        "ST-08",
        "app never waits for an `http.request` after the final chunk",
        Level.SHOULD,
        "After the message with more_body=False the app answers instead of waiting in receive() for more (warn).",
        (_www("Request", "If ``False``, the request is complete and should be processed."),),
    ),
    Check(
        "ST-09",
        "the same request framed differently gets the same answer",
        Level.MUST,
        "The same body in one message or in many (some empty) gets the same status and body, provided two "
        "identical requests get the same answer (fail). Level: the spec's instruction is an imperative, read as a "
        "requirement.",
        (
            _www(
                "Request",
                "If ``more_body`` is set, treat as start of body and concatenate on further chunks.",
            ),
        ),
    ),
    Check(
        "DC-06",
        "after a disconnect the app stops and returns within the deadline",
        Level.SHOULD,
        "When the client leaves mid-body or mid-response (spec 2.3: send() then does nothing), the app returns "
        "within the deadline (warn); an exception escaping after the client left is recorded (info). Level "
        "derived: the connection scope ends with the request, and cleanup is the app's to trigger; the deadline "
        "is asgibench's.",
        (
            _www(
                "HTTP Connection Scope",
                "your application will be called at the start of the request, and will last until the end of that "
                "specific request",
            ),
            _www(
                "Disconnect",
                "This is mainly useful for long-polling, where you may want to trigger cleanup code if the "
                "connection closes early.",
            ),
        ),
    ),
    Check(
        "DC-07",
        "app survives `send()` raising an OSError subclass after a disconnect",
        Level.SHOULD,
        "When the client leaves and send() raises an OSError subclass (spec 2.4), the app stops and returns "
        "within the deadline (warn); letting the exception escape is allowed (info).",
        (
            _www(
                "Disconnected Client - send exception",
                "If ``send()`` is called on a closed connection the server should raise a server-specific subclass "
                "of ``OSError``. [...] Applications may catch this exception and do cleanup work before re-raising "
                "it or returning with no exception.",
            ),
            _www(
                "Disconnect",
                "Once you have received this event, you should expect future calls to ``send()`` to raise an "
                "exception, as described above.",
            ),
        ),
    ),
    Check(
        "DC-08",
        "app stops sending once it has received a disconnect",
        Level.SHOULD,
        "Once receive() has handed the app http.disconnect or websocket.disconnect, an app that keeps sending "
        "(more than two messages, an error answer aside) warns; one or two are a concurrent app's race and only "
        "recorded. Level derived: the spec tells the app to expect send() to raise from then on, and the message "
        "can reach no one.",
        (
            _www(
                "Disconnect",
                "Once you have received this event, you should expect future calls to ``send()`` to raise an "
                "exception, as described above.",
            ),
        ),
    ),
    Check(
        "DC-09",
        "app does not act on a request body cut short by a disconnect",
        Level.SHOULD,
        "When the client leaves before the message with more_body=False and the app has received the "
        "http.disconnect, answering with a success status (below 400) warns: the app processed a partial upload "
        "as if it were whole. Judged by what the app sends after the disconnect.",
        (
            _www(
                "Request",
                "If ``True``, the consuming application should wait until it gets a chunk with this set to ``False``.",
            ),
        ),
    ),
    Check(
        "LS-09",
        "exactly one of complete/failed per lifespan phase, in order",
        Level.MUST,
        "The app answers lifespan.startup with one startup.complete or startup.failed, and lifespan.shutdown with "
        "one shutdown.complete or shutdown.failed, each after its trigger; `message` is a str (fail). Level "
        "derived: the spec binds the server to wait for these replies, so an app that sends them out of order or "
        "twice leaves the server waiting or confused. Returning without answering is recorded (info).",
        (
            _lifespan(
                "Startup Complete",
                "Sent by the application when it has completed its startup. A server must wait for this message "
                "before it starts processing connections.",
            ),
            _lifespan(
                "Shutdown Complete",
                "Sent by the application when it has completed its cleanup. A server must wait for this message "
                "before terminating.",
            ),
        ),
    ),
    Check(
        "LS-10",
        "startup errors are reported as `lifespan.startup.failed`, not raised",
        Level.SHOULD,
        "An app that read lifespan.startup and then raises warns: a server must carry on when the lifespan call "
        "raises, so the app is served with its startup undone, while startup.failed stops the server as the app "
        "meant. Level derived from that consequence. An exception during shutdown is recorded (info): the spec "
        "has no rule for it.",
        (
            _lifespan(
                "Scope",
                "If an exception is raised when calling the application callable with a ``lifespan.startup`` "
                "message or a ``scope`` with type ``lifespan``, the server must continue but not send any lifespan "
                "events.",
            ),
            _lifespan(
                "Scope",
                "If you want to log an error that occurs during lifespan startup and prevent the server from "
                "starting, then send back ``lifespan.startup.failed`` instead.",
            ),
        ),
    ),
    Check(
        "LS-11",
        "app still serves when lifespan never ran and `state` is absent",
        Level.SHOULD,
        "A request served before lifespan ran, with no `state` key in the scope, gets an answer: a crash or a 5xx "
        "warns (unless the full scope fails the same way). Once the lifespan has shut down, a second cycle runs "
        "as a server without the feature runs it, with no `state` in the lifespan scope, and a GET follows it "
        "with none in its own: an exception or a missing reply in that cycle, where the first one succeeded, "
        "warns, and so does a crash or a 5xx on the GET. A lifespan.startup.failed in that cycle is recorded "
        "(info): it is the app declining to run without the feature, the way the spec gives it to stop the "
        "server. When the second cycle goes wrong, a third, with state again, tells whether the app can run "
        "lifespan twice at all; if it cannot, the second is only recorded. Level derived: the key is optional, "
        "and its absence means the server does not support the feature.",
        (
            _www(
                "HTTP Connection Scope",
                "A copy of the namespace passed into the lifespan corresponding to this request.",
            ),
            _lifespan("Scope", "Optional; if missing the server does not support this feature."),
            _lifespan(
                "Scope",
                "If you want to log an error that occurs during lifespan startup and prevent the server from "
                "starting, then send back ``lifespan.startup.failed`` instead.",
            ),
        ),
    ),
    Check(
        "LS-12",
        "app answers lifespan startup and shutdown within the deadline",
        Level.MUST,
        "A reply to lifespan.startup and to lifespan.shutdown arrives within the deadline (fail). Level derived: "
        "the server must wait for the reply, so a missing one hangs its start or its exit; the deadline is "
        "asgibench's.",
        (
            _lifespan(
                "Startup Complete",
                "A server must wait for this message before it starts processing connections.",
            ),
            _lifespan("Shutdown Complete", "A server must wait for this message before terminating."),
        ),
    ),
    Check(
        "WS-10",
        "the handshake is answered first, once; nothing after close",
        Level.MUST,
        "websocket.accept, websocket.close or (when advertised) a denial response comes before any other "
        "message, and accept comes once (fail). An app that returns without answering the handshake fails. A "
        "message sent after websocket.close warns: the spec calls messages after a close generally not errors, "
        "and RFC 6455 §5.5.1 has the server send no data frame after its Close frame, so the message is lost. "
        "An answer sent before the app received websocket.connect is recorded (info).",
        (
            _www(
                "Connect",
                "This message must be responded to with either an *Accept* message or a *Close* message before the "
                "socket will pass ``websocket.receive`` messages.",
            ),
            _asgi(
                "Error Handling",
                "Note that messages received by a server after the connection has been closed are generally not "
                "considered errors unless specified by a protocol.",
            ),
            _rfc(Document.RFC6455, "5.5.1"),
        ),
    ),
    Check(
        "WS-11",
        "one of text/bytes per send, text valid UTF-8; accept fields valid for the spec version",
        Level.MUST,
        "websocket.send has exactly one of `bytes`/`text` non-None; `text` is a str that encodes as UTF-8 (no "
        "lone surrogates: a text frame is UTF-8 and a receiver fails the connection otherwise, RFC 6455 §8.1); "
        "`bytes` is bytes (fail). websocket.accept: `subprotocol` is a str or None; `headers` only at "
        "spec_version 2.1 or later (the spec calls it an error below); headers are [bytes, bytes] pairs with no "
        "pseudo-headers and no sec-websocket-protocol (fail). " + _MIXED_CASE_NOTE,
        (
            _www("Send", "Exactly one of ``bytes`` or ``text`` must be non-``None``."),
            _www(
                "Accept",
                _HEADER_NAMES_LOWER + " Must not include a header named ``sec-websocket-protocol``; use the "
                "``subprotocol`` key instead. [...] *Added in spec version 2.1*.",
            ),
            _www(
                "Spec Versions",
                "If a server tells you it only supports version ``2.0`` of this spec, then sending ``headers`` with "
                "a WebSocket Accept message is an error, for example.",
            ),
            _rfc(Document.RFC6455, "8.1"),
        ),
    ),
    Check(
        "WS-12",
        "close code valid per RFC 6455 (never 1005, 1006 or 1015); reason a short UTF-8 str",
        Level.MUST,
        "websocket.close `code` is an int an endpoint may send: 1000-1003, 1007-1014 or 3000-4999, never "
        "1004-1006 or 1015 (RFC 6455 §7.4) (fail). `reason` is a str or None that encodes as UTF-8 in at most 123 "
        "bytes: a Close frame's payload is at most 125 bytes, 2 of them the code (RFC 6455 §5.5) (fail). A "
        "`reason` sent to a server below spec_version 2.3, where the key did not exist, is recorded (info): extra "
        "keys should not raise.",
        (
            _www(
                "Close",
                "``code`` (*int*) -- The WebSocket close code, as per the WebSocket spec. [...] ``reason`` (*Unicode "
                "string*) -- A reason given for the closure, can be any string.",
            ),
            _rfc(Document.RFC6455, "7.4"),
            _rfc(Document.RFC6455, "5.5"),
        ),
    ),
    Check(
        "WS-13",
        "app answers the handshake in time, and returns after the client closes",
        Level.MUST,
        "The app answers websocket.connect within the deadline (fail: the connect must be responded to). Once the "
        "client has closed, the app returns within the deadline (warn: the spec's should, the scope lives as long "
        "as the socket); an exception escaping then is allowed (info).",
        (
            _www(
                "Connect",
                "This message must be responded to with either an *Accept* message or a *Close* message",
            ),
            _www(
                "Websocket Connection Scope",
                "WebSocket connections' scope lives as long as the socket itself - if the application dies the "
                "socket should be closed, and vice-versa.",
            ),
        ),
    ),
    Check(
        "WS-14",
        "the accepted subprotocol is one the client offered",
        Level.MUST,
        "websocket.accept names a `subprotocol` only when it is one of scope['subprotocols'], and never the "
        "empty string (fail): the server's choice must be one of the values the client sent (RFC 6455 §4.2.2), "
        "and a client fails the connection otherwise.",
        (
            _www("Accept", "``subprotocol`` (*Unicode string*) -- The subprotocol the server wishes to accept."),
            _www(
                "Websocket Connection Scope",
                "``subprotocols`` (*Iterable[Unicode string]*) -- Subprotocols the client advertised.",
            ),
            _rfc(Document.RFC6455, "4.2.2"),
        ),
    ),
    Check(
        "EX-01",
        "extension messages are sent only when the scope advertises the extension",
        Level.MUST,
        "A message of an extension (trailers, pathsend, zerocopysend, early hints, push, debug, the WebSocket "
        "denial response) is sent only when scope['extensions'] holds its key (fail). Level derived: the spec "
        "only says the app can send the event once it sees the key; to a server without the extension the "
        "message is an unknown type, which it should refuse.",
        (
            _asgi(
                "Extensions",
                "If an application sees this it then knows it can send the custom event (say, of type "
                "``http.fullflush``) via the ``send`` callable.",
            ),
        ),
    ),
    Check(
        "EX-03",
        "denial response only before accept: start, then body until final, then nothing",
        Level.MUST,
        "The denial response is sent instead of websocket.accept: its start, then body messages until "
        "more_body=False, then nothing (fail). Its fields follow http.response.*: `status` an int and not 1xx "
        "(a 101 would claim the upgrade it denies), valid headers, `body` bytes, `more_body` a bool (fail). A "
        "Content-Length in the denial start that differs from the body bytes sent fails, as in HR-05.",
        (
            _ext(
                "Websocket Denial Response",
                "These messages cannot be followed by any other websocket messages as the server should send a HTTP "
                "response and then close the connection.",
            ),
            _ext(
                "Websocket Denial Response",
                "The messages themselves should be ``websocket.http.response.start`` and "
                "``websocket.http.response.body`` with a structure that matches the ``http.response.start`` and "
                "``http.response.body`` messages defined in the HTTP part of the core ASGI specification.",
            ),
            _rfc(Document.RFC9112, "6.3"),
        ),
    ),
    Check(
        "EX-05",
        "trailers are declared, valid, and sent after the final body",
        Level.MUST,
        "Trailers need trailers=True in the start and come after the final body, with `headers` present and "
        "valid as in HR-02 and `more_trailers` a bool (fail). A trailer field that frames, routes, authenticates "
        "or describes the content (content-length, transfer-encoding, host, authorization, content-type, "
        "content-encoding, trailer...) fails: RFC 9110 §6.5.1 allows a field in trailers only where its "
        "definition permits it. A start with trailers=True but no Trailer header naming the fields warns: the "
        "app is in charge of it and RFC 9110 §6.6.2 says the sender should send it.",
        (
            _ext(
                "HTTP Trailers",
                "An ASGI framework interested in sending trailing headers to the client, must set the field "
                "``trailers`` in *Response Start* as ``True``.",
            ),
            _ext(
                "HTTP Trailers",
                "The ASGI framework is in charge of sending the ``Trailer`` headers to let the client know which "
                "trailing headers the server will send.",
            ),
            _rfc(Document.RFC9110, "6.5.1"),
            _rfc(Document.RFC9110, "6.6.2"),
        ),
    ),
    Check(
        "EX-06",
        "pathsend: an absolute path, sent once, not mixed with body",
        Level.MUST,
        "`path` is an absolute path str; pathsend is sent once, after the start, and never mixed with "
        "http.response.body (fail). A Content-Length in the start that differs from the file's size fails, as in "
        "HR-05: the app is responsible for the file's headers.",
        (
            _ext(
                "Path Send",
                "``path`` (*Unicode string*): The string representation of the absolute file path to be sent by the "
                "server, platform specific.",
            ),
            _ext(
                "Path Send",
                "This message can be sent at any time after the *Response Start* message, and cannot be mixed with "
                "``http.response.body``. It can be called just one time in one response.",
            ),
            _ext(
                "Path Send",
                "The ASGI application itself is responsible to send the relevant headers in the *Response Start* "
                "message, like the ``Content-Type`` and ``Content-Length`` headers for the file to be sent.",
            ),
        ),
    ),
    Check(
        "EX-07",
        "zerocopysend: an open file with a real descriptor, int offset/count; the app closes it",
        Level.MUST,
        "`file` is an open file object whose fileno() gives an OS descriptor, not a BytesIO (fail); `offset` and "
        "`count` are non-negative ints when present; `more_body` is a bool (fail). A Content-Length that differs "
        "from the bytes the file sends would send fails, as in HR-05. A file still open when the app returns "
        "warns: the spec says the app should close it.",
        (
            _ext(
                "Zero Copy Send",
                "``file`` (*file descriptor object*): An opened file descriptor object with an underlying OS file "
                "descriptor that can be used to call ``os.sendfile``. (e.g. not BytesIO)",
            ),
            _ext(
                "Zero Copy Send",
                "After calling this extension to respond, the ASGI application itself should actively close the "
                "used file descriptor - ASGI servers are not responsible for closing descriptors.",
            ),
        ),
    ),
    Check(
        "EX-08",
        "early hints carry bytes `links` and come before the response",
        Level.MUST,
        "`links` is an iterable of bytes with no CR, LF or NUL (fail). Early hints belong before "
        "http.response.start: asgiref#579 moved them there, as on the wire, where a 103 precedes the final "
        "response (RFC 8297). One sent after the start but before the final body warns rather than fails, "
        "because the spec text before that change placed hints exactly there; after the final body it fails.",
        (
            _ext(
                "Early Hints",
                "``links`` (*Iterable[byte string]*): An iterable of link header field values, see ``RFC 8288``.",
            ),
            _ext(
                "Early Hints",
                "This message can be sent at any time (and multiple times) after the *Response Start* message but "
                "before the final *Response Body* message.",
            ),
            Citation(Document.ASGIREF_579, ""),
            _rfc(Document.RFC8297, "2"),
        ),
    ),
    Check(
        "EX-11",
        "server push: sent while the response streams, with a valid path and headers",
        Level.MUST,
        "http.response.push is sent after the start and before the final body (fail otherwise); `path` is a str "
        "and `headers` an iterable of [bytes, bytes] pairs valid as in HR-02 (fail).",
        (
            _ext(
                "HTTP/2 Server Push",
                "This message can be sent at any time after the *Response Start* message but before the final "
                "*Response Body* message.",
            ),
            _ext(
                "HTTP/2 Server Push",
                "``path`` (*Unicode string*): HTTP path from URL, with percent-encoded sequences and UTF-8 byte "
                "sequences decoded into characters.",
            ),
            _ext("HTTP/2 Server Push", _HEADER_NAMES_LOWER + " " + _NO_PSEUDO_HEADERS),
        ),
    ),
    Check(
        "EX-12",
        "debug: sent once, before the start, with a dict `info`",
        Level.MUST,
        "http.response.debug is sent at most once and before http.response.start, and its `info` is a dict "
        "(fail). The values inside `info` are the framework's own and are not type-checked.",
        (
            _ext("Debug", "This message must be sent once, before the *Response Start* message."),
            _ext(
                "Debug",
                "``info`` (*Dict[Unicode string, Any]*): A dictionary containing the debug information. The keys "
                "and values of this dictionary are not defined by the ASGI specification, and are left to the ASGI "
                "framework to define.",
            ),
        ),
    ),
    Check(
        "ER-06",
        "app raises on a malformed received event",
        Level.SHOULD,
        "Handed an http.request whose `body` is a str, an app that reads it raises (warn if it carries on). Four "
        "more invalid events are handed over, and an app that carries on is recorded (info): an http.request "
        "whose `more_body` is the int 0; an event of a type no spec defines, before the http.request; and on a "
        "WebSocket, a websocket.receive with both `bytes` and `text` set, or whose `text` is bytes. Level derived "
        "for those four: what an app makes of them does no harm or shows elsewhere (0 reads as False; a bytes "
        "`text` echoed back is WS-11's failure), and frameworks mostly do not check them. Every framework "
        "asgibench runs reads `more_body` by its truth value and takes the first data key it looks for; Django "
        "and Falcon raise on the unknown type, while Starlette's request stream skips it and reads on, as "
        "asgibench's reference apps do. A warning would mark careful apps and careless ones alike. The str body "
        "keeps the warning: an app that carries on has treated text as the bytes of the request.",
        (
            _asgi(
                "Error Handling",
                "If an application receives an invalid event dictionary from ``receive``, it should raise an "
                "exception.",
            ),
        ),
    ),
    Check(
        "ER-07",
        "no exception escapes while serving a well-formed request on a live connection",
        Level.MUST,
        "An exception escaping the app while the client is connected fails: the client gets a bare 500 or a cut "
        "connection instead of an answer. After the response is complete it warns. Level derived: the spec's "
        "must binds the server, which has to end the connection when this happens; it gives the app no word.",
        (
            _asgi(
                "Error Handling",
                "Servers are free to surface errors that bubble up out of application instances they are running "
                "however they wish - log to console, send to syslog, or other options - but they must terminate the "
                "application instance and its associated connection if this happens.",
            ),
        ),
    ),
)

CHECKS_BY_ID: dict[str, Check] = {check.id: check for check in CHECKS}


def select_checks(selectors: list[str]) -> tuple[Check, ...]:
    """Checks named by ids (``HR-01``), prefixes (``HR``) or groups (``http``).

    An empty list selects everything; an unknown selector raises ``ValueError``
    naming it.
    """
    if not selectors:
        return CHECKS
    chosen: set[str] = set()
    for raw in selectors:
        for selector in filter(None, (part.strip() for part in raw.split(","))):
            matched = _match(selector)
            if not matched:
                raise ValueError(selector)
            chosen.update(matched)
    return tuple(check for check in CHECKS if check.id in chosen)


def _match(selector: str) -> set[str]:
    upper = selector.upper()
    if upper in CHECKS_BY_ID:
        return {upper}
    group = GROUP_PREFIXES.get(upper)
    if group is None:
        group = next((g for g in Group if g.value == selector.lower()), None)
    if group is None:
        return set()
    return {check.id for check in CHECKS if check.group is group}
