"""The app-side check catalogue: stable ids, the rule each rests on, and its level.

Ids come from CONFORMANCE.md; the ones asgibench adds continue each series
(SC-19, SC-20, HR-11, ST-09, LS-12, WS-13). Once published an id keeps its
meaning and is never reused. Quotes are verbatim from django/asgiref
(specs/asgi.rst, specs/www.rst, specs/lifespan.rst, docs/extensions.rst).

The level is the verdict a finding gets by default: MUST breaks fail, SHOULD
breaks warn, INFO records behaviour the spec leaves open. A finding may carry
a softer verdict than its check's level (HR-05: a wrong Content-Length fails,
an app-set Transfer-Encoding only warns).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Level(StrEnum):
    MUST = "must"
    SHOULD = "should"
    INFO = "info"


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


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    title: str
    level: Level
    rule: str
    reference: str

    @property
    def group(self) -> Group:
        return GROUP_PREFIXES[self.id[:2]]


_WWW = "specs/www.rst"
_MAIN = "specs/asgi.rst"
_LIFESPAN = "specs/lifespan.rst"
_EXT = "docs/extensions.rst"

CHECKS: tuple[Check, ...] = (
    Check(
        "SC-16",
        "app does not mutate server-owned parts of the scope in place",
        Level.SHOULD,
        "When middleware is modifying the ``scope``, it should make a copy of the ``scope`` "
        "object before mutating it and passing it to the inner application, as changes may "
        "leak upstream otherwise.",
        f"{_MAIN}§Middleware",
    ),
    Check(
        "SC-17",
        "app rejects scope types it does not support by raising",
        Level.SHOULD,
        "Applications should actively reject any protocol that they do not understand with an "
        "`Exception` (of any type).",
        f"{_MAIN}§Protocol Specifications",
    ),
    Check(
        "SC-18",
        "app tolerates absent optional scope keys and unknown extra keys",
        Level.SHOULD,
        'URL scheme portion (likely ``"http"`` or ``"https"``). Optional (but must not be '
        'empty); default is ``"http"``. [...] The root path this application is mounted at; '
        'same as ``SCRIPT_NAME`` in WSGI. Optional; if missing defaults to ``""``.',
        f"{_WWW}§HTTP Connection Scope",
    ),
    Check(
        "SC-19",
        "every sent message is a dict whose `type` is defined for the scope",
        Level.MUST,
        "Each event is a ``dict`` with a top-level ``type`` key that contains a Unicode string "
        "of the message type. [...] If a server receives an invalid event dictionary - for "
        "example, having an unknown ``type`` [...] - it should raise an exception out of the "
        "``send`` awaitable back to the application.",
        f"{_MAIN}§Events, §Error Handling",
    ),
    Check(
        "SC-20",
        "sent messages hold only the allowed value types",
        Level.MUST,
        "Because these messages could be sent over a network, they need to be serializable, "
        "and so they are only allowed to contain the following types: Byte strings, Unicode "
        "strings, Integers (within the signed 64-bit range), Floating point numbers (within "
        "the IEEE 754 double precision range; no ``Nan`` or infinities), Lists (tuples should "
        "be encoded as lists), Dicts (keys must be Unicode strings), Booleans, ``None``",
        f"{_MAIN}§Events",
    ),
    Check(
        "HR-01",
        "the first response message is `http.response.start`, sent exactly once",
        Level.MUST,
        "Sent by the application to start sending a response to the client. Needs to be "
        "followed by at least one response content message.",
        f"{_WWW}§Response Start",
    ),
    Check(
        "HR-02",
        "`status` is an int; headers are [bytes, bytes] pairs, lower-case, no pseudo-headers",
        Level.MUST,
        "``status`` (*int*) -- HTTP status code. [...] An iterable of ``[name, value]`` "
        "two-item iterables [...] Header names must be lowercased. [...] Pseudo headers "
        "(present in HTTP/2 and HTTP/3) must not be present.",
        f"{_WWW}§Response Start",
    ),
    Check(
        "HR-03",
        "`body` is bytes, `more_body` a bool, and the final body is sent before returning",
        Level.MUST,
        "``body`` (*byte string*) -- HTTP body content. [...] ``more_body`` (*bool*) -- "
        "Signifies if there is additional content to come [...] If ``more_body`` is set to "
        "``False``, and the server is not expecting *Response Trailers* this will complete "
        "the response.",
        f"{_WWW}§Response Body",
    ),
    Check(
        "HR-04",
        "nothing is sent after the response is complete",
        Level.MUST,
        "If ``False``, and the server is not expecting *Response Trailers* response will be "
        "taken as complete and closed, and any further messages on the channel will be "
        "ignored.",
        f"{_WWW}§Response Body",
    ),
    Check(
        "HR-05",
        "a Content-Length matches the body sent; no app-set Transfer-Encoding",
        Level.MUST,
        "You may send a ``Transfer-Encoding`` header in this message, but the server must "
        "ignore it. [RFC 9112 §6.3: a message whose body is shorter or longer than its "
        "Content-Length is incomplete or invalid on the wire.]",
        f"{_WWW}§Response Start; RFC 9112 §6",
    ),
    Check(
        "HR-06",
        "the application callable returns None",
        Level.MUST,
        "ASGI applications should be a single async callable:: coroutine application(scope, receive, send)",
        f"{_MAIN}§Applications",
    ),
    Check(
        "HR-11",
        "the response completes within the deadline",
        Level.MUST,
        "Sent by the application to start sending a response to the client. Needs to be "
        "followed by at least one response content message.",
        f"{_WWW}§Response Start",
    ),
    Check(
        "ST-07",
        "app reads the request body until `more_body` is False before acting on it",
        Level.MUST,
        "If ``True``, the consuming application should wait until it gets a chunk with this "
        "set to ``False``. If ``False``, the request is complete and should be processed.",
        f"{_WWW}§Request",
    ),
    Check(
        "ST-08",
        "app never waits for an `http.request` after the final chunk",
        Level.MUST,
        "If ``False``, the request is complete and should be processed.",
        f"{_WWW}§Request",
    ),
    Check(
        "ST-09",
        "the same request framed differently gets the same answer",
        Level.MUST,
        "``body`` (*byte string*) -- Body of the request. [...] If ``more_body`` is set, "
        "treat as start of body and concatenate on further chunks.",
        f"{_WWW}§Request",
    ),
    Check(
        "DC-06",
        "after a disconnect the app stops and returns within the deadline",
        Level.MUST,
        "Sent to the application if receive is called after a response has been sent or "
        "after the HTTP connection has been closed. This is mainly useful for long-polling, "
        "where you may want to trigger cleanup code if the connection closes early.",
        f"{_WWW}§Disconnect",
    ),
    Check(
        "DC-07",
        "app survives `send()` raising an OSError subclass after a disconnect",
        Level.MUST,
        "If ``send()`` is called on a closed connection the server should raise a "
        "server-specific subclass of ``OSError``. [...] Applications may catch this exception "
        "and do cleanup work before re-raising it or returning with no exception.",
        f"{_WWW}§Disconnected Client (2.4)",
    ),
    Check(
        "LS-09",
        "exactly one of complete/failed per lifespan phase, in order",
        Level.MUST,
        "Sent by the application when it has completed its startup. A server must wait for "
        "this message before it starts processing connections. [...] Sent by the application "
        "when it has completed its cleanup. A server must wait for this message before "
        "terminating.",
        f"{_LIFESPAN}§Startup Complete, §Shutdown Complete",
    ),
    Check(
        "LS-10",
        "startup errors are reported as `lifespan.startup.failed`, not raised",
        Level.SHOULD,
        "If you want to log an error that occurs during lifespan startup and prevent the "
        "server from starting, then send back ``lifespan.startup.failed`` instead.",
        f"{_LIFESPAN}§Scope",
    ),
    Check(
        "LS-11",
        "app still serves when lifespan never ran and `state` is absent",
        Level.SHOULD,
        "``state`` Optional(*dict[Unicode string, Any]*) -- [...] Optional; if missing the "
        "server does not support this feature.",
        f"{_LIFESPAN}§Scope; {_WWW}§HTTP Connection Scope",
    ),
    Check(
        "LS-12",
        "app answers lifespan startup and shutdown within the deadline",
        Level.MUST,
        "A server must wait for this message before it starts processing connections. [...] "
        "A server must wait for this message before terminating.",
        f"{_LIFESPAN}§Startup Complete, §Shutdown Complete",
    ),
    Check(
        "WS-10",
        "no send before accept; exactly one accept or close; nothing after close",
        Level.MUST,
        "This message must be responded to with either an *Accept* message or a *Close* "
        "message before the socket will pass ``websocket.receive`` messages.",
        f"{_WWW}§Connect",
    ),
    Check(
        "WS-11",
        "one of text/bytes per send; accept headers lower-case, no sec-websocket-protocol",
        Level.MUST,
        "Exactly one of ``bytes`` or ``text`` must be non-``None``. [...] Header names must "
        "be lowercased. Must not include a header named ``sec-websocket-protocol``; use the "
        "``subprotocol`` key instead. [...] *Added in spec version 2.1*.",
        f"{_WWW}§Send, §Accept",
    ),
    Check(
        "WS-12",
        "close code is valid per RFC 6455 (never 1005, 1006 or 1015); reason is a str",
        Level.MUST,
        "``code`` (*int*) -- The WebSocket close code, as per the WebSocket spec. [...] "
        "``reason`` (*Unicode string*) -- A reason given for the closure, can be any string.",
        f"{_WWW}§Close; RFC 6455 §7.4",
    ),
    Check(
        "WS-13",
        "app answers the handshake, and returns after the client closes, within the deadline",
        Level.MUST,
        "This message must be responded to with either an *Accept* message or a *Close* "
        "message [...] WebSocket connections' scope lives as long as the socket itself - if "
        "the application dies the socket should be closed, and vice-versa.",
        f"{_WWW}§Connect, §Websocket Connection Scope",
    ),
    Check(
        "EX-01",
        "extension messages are sent only when the scope advertises the extension",
        Level.MUST,
        "named additions to a protocol specification that are optional but that, if "
        "provided by the server and understood by the application, can be used to get more "
        "functionality.",
        f"{_MAIN}§Extensions",
    ),
    Check(
        "EX-03",
        "denial response only before accept: start, then body until final, then nothing",
        Level.MUST,
        "These messages cannot be followed by any other websocket messages as the server "
        "should send a HTTP response and then close the connection.",
        f"{_EXT}§Websocket Denial Response",
    ),
    Check(
        "EX-05",
        "trailers are declared in the start (`trailers=True`) and sent after the final body",
        Level.MUST,
        "An ASGI framework interested in sending trailing headers to the client, must set the "
        "field ``trailers`` in *Response Start* as ``True``.",
        f"{_EXT}§HTTP Trailers",
    ),
    Check(
        "EX-06",
        "pathsend: an absolute path, sent once, not mixed with body",
        Level.MUST,
        "``path`` (*Unicode string*): The string representation of the absolute file path "
        "to be sent by the server [...] cannot be mixed with ``http.response.body``. It can "
        "be called just one time in one response.",
        f"{_EXT}§Path Send",
    ),
    Check(
        "EX-07",
        "zerocopysend: a real file descriptor, int offset/count, before the final body",
        Level.MUST,
        "``file`` (*file descriptor object*): An opened file descriptor object with an "
        "underlying OS file descriptor that can be used to call ``os.sendfile``.",
        f"{_EXT}§Zero Copy Send",
    ),
    Check(
        "EX-08",
        "early hints carry `links` as bytes and come before the final body",
        Level.MUST,
        "This message can be sent at any time (and multiple times) after the *Response "
        "Start* message but before the final *Response Body* message. [...] ``links`` "
        "(*Iterable[byte string]*)",
        f"{_EXT}§Early Hints",
    ),
    Check(
        "ER-06",
        "app raises on a malformed received event",
        Level.SHOULD,
        "If an application receives an invalid event dictionary from ``receive``, it should raise an exception.",
        f"{_MAIN}§Error Handling",
    ),
    Check(
        "ER-07",
        "no exception escapes while serving a well-formed request on a live connection",
        Level.MUST,
        "Servers are free to surface errors that bubble up out of application instances "
        "[...] but they must terminate the application instance and its associated "
        "connection if this happens.",
        f"{_MAIN}§Error Handling",
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
