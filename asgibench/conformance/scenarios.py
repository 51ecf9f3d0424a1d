"""The scenarios the fake server drives an app through, as plain data.

A scenario says what the client does (the request, how the body is framed,
when the client leaves, what ``send()`` does afterwards) and what role it
plays in the judgement (a normal request, a malformed event, a minimal
scope...). ``plan`` turns the routes into the ordered list the harness runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import unquote

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
HTTP_EXTENSIONS = (
    "http.response.trailers",
    "http.response.pathsend",
    "http.response.zerocopysend",
    "http.response.early_hint",
    "http.response.push",
    "http.response.debug",
)
DENIAL_EXTENSION = "websocket.http.response"
# Offered by the client in one WebSocket scenario, so that accepting one of
# them (WS-14) can be right as well as wrong.
OFFERED_SUBPROTOCOLS = ("asgibench.v2", "asgibench.v1")

# A small JSON document, so JSON APIs parse it, and its framings.
SMALL_BODY = b'{"name": "asgibench", "items": [1, 2, 3], "note": "conformance"}'
LARGE_BODY = b'{"data": "' + b"a" * (1024 * 1024) + b'"}'
_LARGE_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class RouteSpec:
    method: str  # an HTTP method, or "WS"
    path: str  # the raw (percent-encoded) path, without the query
    query: bytes = b""

    @property
    def is_websocket(self) -> bool:
        return self.method == "WS"

    @property
    def decoded_path(self) -> str:
        return unquote(self.path)

    def __str__(self) -> str:
        query = f"?{self.query.decode('latin-1')}" if self.query else ""
        return f"{'ws' if self.is_websocket else self.method} {self.path}{query}"


DEFAULT_ROUTES = (
    RouteSpec("GET", "/"),
    RouteSpec("HEAD", "/"),
    RouteSpec("POST", "/"),
    RouteSpec("WS", "/"),
)


def parse_route(text: str) -> RouteSpec:
    """``METHOD:/path`` or ``ws:/path``; raises ValueError with the reason."""
    method, colon, target = text.partition(":")
    if not colon or not target.startswith("/"):
        raise ValueError(f"expected METHOD:/path or ws:/path, got {text!r}")
    path, _, query = target.partition("?")
    method = method.upper()
    if method in {"WS", "WEBSOCKET"}:
        return RouteSpec("WS", path, query.encode("latin-1"))
    if method not in HTTP_METHODS:
        raise ValueError(f"unknown method {method!r} in {text!r} (use {', '.join(sorted(HTTP_METHODS))} or ws)")
    return RouteSpec(method, path, query.encode("latin-1"))


class Leave(StrEnum):
    """When the client goes away."""

    AFTER_RESPONSE = "after the response"
    MID_BODY = "part-way through the request body"
    MID_RESPONSE = "while the response streams"


class Role(StrEnum):
    """How a scenario's outcome is judged (see judge.py)."""

    REQUEST = "request"  # well-formed request: crashes, hangs and framing count
    MINIMAL_SCOPE = "minimal scope"  # SC-18: only required keys, events without optional keys, extra keys
    NO_ASGI_VERSION = "no asgi version"  # SC-18: scope["asgi"] without "version" (or "spec_version")
    UNUSUAL = "unusual but valid input"  # SC-21: mixed-case header names, unix-socket server, HTTP/2 cookies...
    NO_LIFESPAN = "no lifespan"  # LS-11: before lifespan ran
    NO_STATE = "lifespan without state"  # LS-11: after a lifespan cycle whose scope had no state
    MALFORMED = "malformed event"  # ER-06, HTTP or WebSocket
    UNKNOWN_SCOPE = "unknown scope type"  # SC-17
    WEBSOCKET = "websocket"
    WEBSOCKET_MINIMAL = "websocket, minimal scope"  # SC-18 for a WebSocket


class Variation(StrEnum):
    """How an UNUSUAL scenario differs from the usual request to the same route."""

    NONE = ""
    MIXED_CASE = "mixed-case header names"
    UNIX_SOCKET_HTTP2 = "HTTP/2 cookie lines, unix-socket server"
    # Requests the usual route may well refuse (405, 404): only a crash or a 5xx counts, not another status.
    EXTENSION_METHOD = "an extension method (PURGE)"
    ENCODED_PATH = "a path holding %2F and non-ASCII characters"

    @property
    def keeps_status(self) -> bool:
        """The varied request must get the usual request's status (it differs only in valid details)."""
        return self not in {Variation.EXTENSION_METHOD, Variation.ENCODED_PATH}


# The method and the path of the variations that change them: what a server hands over for
# ``PURGE /`` and for ``GET /caf%C3%A9%2Fmenu`` (path decoded, %2F included; raw_path as sent).
EXTENSION_METHOD = "PURGE"
ENCODED_PATH_SUFFIX = "caf%C3%A9%2Fmenu"


class Malformation(StrEnum):
    """The invalid event a MALFORMED scenario hands the app (ER-06)."""

    STR_BODY = "an http.request whose body is a str"
    MORE_BODY_NOT_BOOL = "an http.request whose more_body is the int 0"
    UNKNOWN_TYPE = "an event of unknown type before the http.request"
    BOTH_DATA_KEYS = "a websocket.receive with both bytes and text set"
    TEXT_NOT_STR = "a websocket.receive whose text is bytes"

    @property
    def warns(self) -> bool:
        """Carrying on warns only for the str body; the other shapes are recorded (see ER-06's rule)."""
        return self is Malformation.STR_BODY


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    route: RouteSpec
    role: Role = Role.REQUEST
    body: tuple[bytes | str, ...] = (b"",)  # the http.request messages, in order
    leave: Leave = Leave.AFTER_RESPONSE
    send_raises_after_leaving: bool = False  # spec 2.4 behaviour
    spec_version: str = "2.3"
    http_version: str = "1.1"
    extensions: tuple[str, ...] = ()
    subprotocols: tuple[str, ...] = ()  # websocket: what the client offers
    extra_headers: tuple[tuple[bytes, bytes], ...] = ()
    # Differential group: scenarios sharing a tag must answer alike (ST-09);
    # "control" marks the two identical requests that tell whether they can.
    differential: str | None = None
    control: bool = False
    ws_vanishes: bool = False  # websocket: the TCP connection is lost (1006)
    variation: Variation = Variation.NONE  # UNUSUAL: what differs from the usual request
    malformation: Malformation | None = None  # MALFORMED: the invalid event
    # A repeat of a GET that answered 200 with a validator, asking whether it changed (HR-12's 304).
    revalidates: bool = False

    @property
    def is_websocket(self) -> bool:
        return self.route.is_websocket

    @property
    def method(self) -> str:
        """The method the scope carries: the route's, unless the variation changes it."""
        return EXTENSION_METHOD if self.variation is Variation.EXTENSION_METHOD else self.route.method

    @property
    def raw_path(self) -> str:
        """The percent-encoded path the scope's raw_path holds."""
        if self.variation is Variation.ENCODED_PATH:
            return f"{self.route.path.rstrip('/')}/{ENCODED_PATH_SUFFIX}"
        return self.route.path

    @property
    def path(self) -> str:
        """The scope's path: raw_path with its percent-encoded and UTF-8 sequences decoded."""
        return unquote(self.raw_path)

    @property
    def body_length(self) -> int:
        return sum(len(chunk) for chunk in self.body if isinstance(chunk, bytes))


def _split(body: bytes, sizes: list[int]) -> tuple[bytes, ...]:
    parts: list[bytes] = []
    position = 0
    for size in sizes:
        parts.append(body[position : position + size])
        position += size
    parts.append(body[position:])
    return tuple(parts)


def http_scenarios(route: RouteSpec, *, first_of_method: bool) -> list[Scenario]:
    """The scenarios for one HTTP route."""
    label = str(route)
    if route.method in BODY_METHODS:
        many = (b"", *_split(SMALL_BODY, [1, 4, 0, 15, 7]), b"")
        large = tuple(LARGE_BODY[i : i + _LARGE_CHUNK] for i in range(0, len(LARGE_BODY), _LARGE_CHUNK))
        tag = label
        scenarios = [
            Scenario(f"{label}, body in one message", route, body=(SMALL_BODY,), differential=tag, control=True),
            Scenario(
                f"{label}, body in one message (again)", route, body=(SMALL_BODY,), differential=tag, control=True
            ),
            Scenario(f"{label}, body in {len(many)} messages, some empty", route, body=many, differential=tag),
            Scenario(f"{label}, 1 MiB body in {len(large)} messages", route, body=large),
            Scenario(f"{label}, client leaves mid-body", route, body=many, leave=Leave.MID_BODY),
            Scenario(
                f"{label}, client leaves while the response streams (send raises OSError, spec 2.4)",
                route,
                body=(SMALL_BODY,),
                leave=Leave.MID_RESPONSE,
                send_raises_after_leaving=True,
                spec_version="2.4",
            ),
        ]
        if first_of_method:
            scenarios.append(
                Scenario(
                    f"{label}, malformed body (str instead of bytes)",
                    route,
                    role=Role.MALFORMED,
                    body=("not bytes",),
                    malformation=Malformation.STR_BODY,
                )
            )
            scenarios.extend(
                Scenario(
                    f"{label}, malformed event: {malformation}",
                    route,
                    role=Role.MALFORMED,
                    body=(SMALL_BODY,),
                    malformation=malformation,
                )
                for malformation in (Malformation.MORE_BODY_NOT_BOOL, Malformation.UNKNOWN_TYPE)
            )
            scenarios.append(
                Scenario(
                    f"{label}, header names in mixed case (Content-Type...), IPv6 client",
                    route,
                    role=Role.UNUSUAL,
                    body=(SMALL_BODY,),
                    variation=Variation.MIXED_CASE,
                )
            )
        return scenarios
    scenarios = [
        Scenario(label, route),
        Scenario(
            f"{label}, client leaves while the response streams (send is a no-op, spec 2.3)",
            route,
            leave=Leave.MID_RESPONSE,
        ),
        Scenario(
            f"{label}, client leaves while the response streams (send raises OSError, spec 2.4)",
            route,
            leave=Leave.MID_RESPONSE,
            send_raises_after_leaving=True,
            spec_version="2.4",
        ),
    ]
    if route.method == "GET":
        scenarios.append(
            Scenario(
                f"{label}, HTTP/2, extensions advertised (trailers, pathsend, zerocopysend, early_hint, push, debug)",
                route,
                extensions=HTTP_EXTENSIONS,
                extra_headers=((b"te", b"trailers"),),
                spec_version="2.5",
                http_version="2",
            )
        )
    if route.method == "GET" and first_of_method:
        scenarios.append(
            Scenario(
                f"{label}, only the required scope and event keys, plus unknown ones", route, role=Role.MINIMAL_SCOPE
            )
        )
        scenarios.append(
            Scenario(
                f"{label}, HTTP/2 with the cookie on two header lines, server on a unix socket ([path, None])",
                route,
                role=Role.UNUSUAL,
                http_version="2",
                extra_headers=((b"cookie", b"session=asgibench"), (b"cookie", b"theme=light")),
                variation=Variation.UNIX_SOCKET_HTTP2,
            )
        )
        scenarios.extend(
            Scenario(f"{label}, {variation} instead", route, role=Role.UNUSUAL, variation=variation)
            for variation in (Variation.EXTENSION_METHOD, Variation.ENCODED_PATH)
        )
        scenarios.append(
            Scenario(
                f"{label}, scope['asgi'] without 'version' or 'spec_version' (the version defaults to 2.0)",
                route,
                role=Role.NO_ASGI_VERSION,
            )
        )
    return scenarios


def websocket_scenarios(route: RouteSpec) -> list[Scenario]:
    label = str(route)
    return [
        Scenario(
            f"{label}, text and bytes, client closes (send raises after, spec 2.4)",
            route,
            role=Role.WEBSOCKET,
            spec_version="2.4",
            send_raises_after_leaving=True,
        ),
        Scenario(
            f"{label}, denial-response extension advertised (spec 2.5)",
            route,
            role=Role.WEBSOCKET,
            spec_version="2.5",
            extensions=(DENIAL_EXTENSION,),
            send_raises_after_leaving=True,
        ),
        Scenario(
            f"{label}, connection lost without a close frame (1006)", route, role=Role.WEBSOCKET, ws_vanishes=True
        ),
        Scenario(
            f"{label}, spec 2.0 server (no accept headers, no close reason), client offers subprotocols",
            route,
            role=Role.WEBSOCKET,
            spec_version="2.0",
            subprotocols=OFFERED_SUBPROTOCOLS,
        ),
        Scenario(
            f"{label}, only the required scope keys plus an unknown one; events with extra keys, both data keys "
            "(one None), close code 1005 with reason None",
            route,
            role=Role.WEBSOCKET_MINIMAL,
            spec_version="2.0",
        ),
        *(
            Scenario(f"{label}, malformed event: {malformation}", route, role=Role.MALFORMED, malformation=malformation)
            for malformation in (Malformation.BOTH_DATA_KEYS, Malformation.TEXT_NOT_STR)
        ),
    ]


@dataclass(frozen=True, slots=True)
class Plan:
    before_lifespan: tuple[Scenario, ...]
    during_lifespan: tuple[Scenario, ...]
    # Run after a second lifespan cycle whose scope has no state (LS-11), once the first has shut down.
    after_stateless_lifespan: tuple[Scenario, ...] = ()


def plan(routes: tuple[RouteSpec, ...]) -> Plan:
    """Every scenario for these routes, in the order a server would see them."""
    http_routes = [route for route in routes if not route.is_websocket]
    ws_routes = [route for route in routes if route.is_websocket]
    first_get = next((route for route in http_routes if route.method == "GET"), None)
    before: tuple[Scenario, ...] = ()
    stateless: tuple[Scenario, ...] = ()
    if first_get is not None:
        before = (
            Scenario(f"{first_get}, before lifespan ran, no state in the scope", first_get, role=Role.NO_LIFESPAN),
        )
        stateless = (
            Scenario(
                f"{first_get}, after a lifespan cycle without state in its scope, no state in the scope",
                first_get,
                role=Role.NO_STATE,
            ),
        )
    during: list[Scenario] = []
    seen_methods: set[str] = set()
    for route in http_routes:
        during.extend(http_scenarios(route, first_of_method=route.method not in seen_methods))
        seen_methods.add(route.method)
    for route in ws_routes:
        during.extend(websocket_scenarios(route))
    unknown = RouteSpec("GET", "/")
    during.append(Scenario("scope type 'asgibench.unknown'", unknown, role=Role.UNKNOWN_SCOPE))
    return Plan(before, tuple(during), stateless)


# The validators a 200 may carry, and the request header that asks whether each still holds.
_VALIDATORS = ((b"etag", b"if-none-match"), (b"last-modified", b"if-modified-since"))


def revalidation(route: RouteSpec, status: int | None, headers: list[tuple[bytes, bytes]]) -> Scenario | None:
    """The same GET again, conditional on the validators its 200 carried; None when it carried none.

    The app may answer 304 Not Modified: HR-12 then compares that answer with the 200 (judge_revalidation).
    """
    if route.method != "GET" or status != 200:
        return None
    found = {name.lower(): value for name, value in reversed(headers)}  # the first of each name wins
    conditions = tuple((condition, found[validator]) for validator, condition in _VALIDATORS if validator in found)
    if not conditions:
        return None
    asked = " and ".join(condition.decode() for condition, _ in conditions)
    return Scenario(f"{route}, again with {asked} from its 200", route, extra_headers=conditions, revalidates=True)
