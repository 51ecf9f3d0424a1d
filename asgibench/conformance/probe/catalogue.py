"""The server-side checks (side S): what a real server must deliver to an app and put on the wire.

Ids follow the app-side catalogue's series; a server check and an app check
never share an id. Quotes are verbatim from the ASGI specification in
django/asgiref (specs/asgi.rst, specs/www.rst, specs/lifespan.rst,
docs/extensions.rst). The level follows the spec's word: MUST (and the
definitions, "is" and "will", which say what a server does) fails, SHOULD
warns, and what the spec leaves open is INFO. A level that had to be derived
says so in its rule.
"""

from __future__ import annotations

from asgibench.conformance.catalogue import (
    GROUP_PREFIXES,
    Check,
    Citation,
    Document,
    Level,
    Side,
    cite_asgi,
    cite_extensions,
    cite_lifespan,
    cite_rfc,
    cite_tls,
    cite_www,
)

_asgi, _www, _lifespan, _ext, _rfc = cite_asgi, cite_www, cite_lifespan, cite_extensions, cite_rfc


def _server(check_id: str, title: str, level: Level, rule: str, *basis: Citation) -> Check:
    return Check(check_id, title, level, rule, basis, Side.SERVER)


_UNSORTED: tuple[Check, ...] = (
    _server(
        "SC-01",
        "scope is a dict with a str `type` the protocol defines",
        Level.MUST,
        "Scope is a dict with a str `type` the protocol defines.",
        _asgi(
            "Applications",
            "``scope`` must be a ``dict``. [...] In scopes, the ``type`` key must be a Unicode string, like "
            '``"http"`` or ``"websocket"``, as defined in the relevant protocol specification.',
        ),
        _asgi("Protocol Specifications"),
    ),
    _server(
        "SC-02",
        "`asgi.version` is a str; `spec_version` a str when present",
        Level.MUST,
        "`asgi.version` is a str; `spec_version` a str when present.",
        _www(
            "HTTP Connection Scope",
            '``asgi["version"]`` (*Unicode string*) -- Version of the ASGI spec. [...] ``asgi["spec_version"]`` '
            "(*Unicode string*) -- Version of the ASGI HTTP spec this server understands [...] Optional; if "
            'missing assume ``"2.0"``.',
        ),
    ),
    _server(
        "SC-03",
        "`http_version` is one of 1.0, 1.1, 2 and matches the request line",
        Level.MUST,
        "`http_version` is one of 1.0, 1.1, 2 and matches the request line.",
        _www("HTTP Connection Scope", '``http_version`` (*Unicode string*) -- One of ``"1.0"``, ``"1.1"`` or ``"2"``.'),
    ),
    _server(
        "SC-04",
        "`method` upper-cased; `scheme` not empty",
        Level.MUST,
        "`method` upper-cased; `scheme` not empty.",
        _www(
            "HTTP Connection Scope",
            "``method`` (*Unicode string*) -- The HTTP method name, uppercased. [...] ``scheme`` [...] Optional "
            '(but must not be empty); default is ``"http"``.',
        ),
    ),
    _server(
        "SC-05",
        "`path` is percent- and UTF-8-decoded, without the query",
        Level.MUST,
        "`path` is percent- and UTF-8-decoded, without the query.",
        _www(
            "HTTP Connection Scope",
            "HTTP request target excluding any query string, with percent-encoded sequences and UTF-8 byte "
            "sequences decoded into characters.",
        ),
    ),
    _server(
        "SC-06",
        "`raw_path` is the path's bytes as received, without the query, or absent",
        Level.MUST,
        "`raw_path` is the path's bytes as received, without the query, or absent.",
        _www(
            "HTTP Connection Scope",
            "The original HTTP path component, excluding any query string, unmodified from the bytes that were "
            "received by the web server.",
        ),
    ),
    _server(
        "SC-07",
        "`query_string` is bytes, still percent-encoded",
        Level.MUST,
        "`query_string` is bytes, still percent-encoded.",
        _www(
            "HTTP Connection Scope", "``query_string`` (*byte string*) -- URL portion after the ``?``, percent-encoded."
        ),
    ),
    _server(
        "SC-08",
        "`root_path` is a str (its value is recorded)",
        Level.INFO,
        "`root_path` is a str (its value is recorded).",
        _www("HTTP Connection Scope", "The root path this application is mounted at; same as ``SCRIPT_NAME`` in WSGI."),
    ),
    _server(
        "SC-09",
        "headers are [bytes, bytes] pairs; duplicates and their order kept; names lower-case",
        Level.MUST,
        "Headers are [bytes, bytes] pairs; duplicates and their order kept; names lower-case. Names not "
        "lower-cased: a warning, as the spec's should.",
        _www(
            "HTTP Connection Scope",
            "Order of header values must be preserved from the original HTTP request; order of header names is not "
            "important. Duplicates are possible and must be preserved in the message as received. Header names "
            "should be lowercased, but it is not required;",
        ),
    ),
    _server(
        "SC-10",
        "header values arrive byte for byte, and no header is dropped",
        Level.MUST,
        "Header values arrive byte for byte, and no header is dropped.",
        _www(
            "HTTP",
            "The ASGI design decision is to transport both request and response headers as lists of 2-element "
            "``[name, value]`` lists and preserve headers exactly as they were provided.",
        ),
    ),
    _server(
        "SC-11",
        "`client` and `server` are [host, int port] (or [path, None], or None)",
        Level.MUST,
        "`client` and `server` are [host, int port] (or [path, None], or None).",
        _www(
            "HTTP Connection Scope",
            "A two-item iterable of ``[host, port]``, where ``host`` is the remote host's IPv4 or IPv6 address, and "
            "``port`` is the remote port as an integer.",
        ),
    ),
    _server(
        "SC-12",
        "`extensions`, when present, is a dict of dicts",
        Level.MUST,
        "`extensions`, when present, is a dict of dicts. Every extension is advertised the same way: a key whose "
        "value is a dict.",
        _ext(
            "",
            "ASGI Servers that implement this extension will provide ``websocket.http.response`` in the extensions "
            "part of the scope",
        ),
    ),
    _server(
        "SC-14",
        "WebSocket `subprotocols` are the strs the client offered, in order",
        Level.MUST,
        "WebSocket `subprotocols` are the strs the client offered, in order.",
        _www(
            "Websocket Connection Scope",
            "``subprotocols`` (*Iterable[Unicode string]*) -- Subprotocols the client advertised.",
        ),
    ),
    _server(
        "SC-15",
        "scopes and received events hold only the allowed value types",
        Level.MUST,
        "Scopes and received events hold only the allowed value types.",
        _asgi("Events", "they are only allowed to contain the following types:"),
    ),
    _server(
        "HR-08",
        "response headers reach the wire in order, repeated Set-Cookie lines kept apart",
        Level.MUST,
        "Response headers reach the wire in order, repeated Set-Cookie lines kept apart.",
        _www(
            "Response Start",
            "Order must be preserved in the HTTP response. [...] For the ``Set-Cookie`` header [...] it may appear "
            "repeatedly, but cannot be concatenated by commas (or anything else) into a single header field.",
        ),
        _www("HTTP"),
    ),
    _server(
        "HR-09",
        "responses are framed validly: no Content-Length (chunked or close); no content on HEAD, 204 or 304",
        Level.MUST,
        "A response without Content-Length is framed validly (chunked or close): the framing itself must be valid "
        "HTTP/1.1, RFC 9112 §6. The answer to a HEAD, and a 204 or 304, carries no content even when the app sends "
        "a body (RFC 9110 §9.3.2, §15.3.5, §15.4.5): content there is read as the start of the next response on "
        "the connection, so the probe sends a second request on it to show the damage. A server that refuses the "
        "body (send() raises) passes; an answer other than the app's 204 or 304 is recorded (info).",
        _www(
            "Response Start",
            "Servers handle ``Transfer-Encoding`` themselves, and may opt to use ``Transfer-Encoding: chunked`` if "
            "the application presents a response that has no ``Content-Length`` set.",
        ),
        _rfc(Document.RFC9112, "6.3"),
        _rfc(Document.RFC9110, "9.3.2"),
        _rfc(Document.RFC9110, "15.3.5"),
        _rfc(Document.RFC9110, "15.4.5"),
    ),
    _server(
        "HR-10",
        "send() raises on an invalid message (a str status, an unknown type)",
        Level.SHOULD,
        "Send() raises on an invalid message (a str status, an unknown type).",
        _asgi(
            "Error Handling",
            "If a server receives an invalid event dictionary - for example, having an unknown ``type``, missing "
            "keys an event type should have, or with wrong Python types for objects [...] - it should raise an "
            "exception out of the ``send`` awaitable back to the application.",
        ),
    ),
    _server(
        "ST-01",
        "the request body's messages concatenate to the body on the wire",
        Level.MUST,
        "The request body's messages concatenate to the body on the wire.",
        _www(
            "Request",
            "``body`` (*byte string*) -- Body of the request. [...] If ``more_body`` is set, treat as start of body "
            "and concatenate on further chunks.",
        ),
    ),
    _server(
        "ST-02",
        "exactly one final `http.request` (more_body false), nothing but disconnect after",
        Level.MUST,
        "Exactly one final `http.request` (more_body false), nothing but disconnect after.",
        _www(
            "Request",
            "``more_body`` (*bool*) -- Signifies if there is additional content to come (as part of a Request "
            "message). [...] If ``False``, the request is complete and should be processed.",
        ),
    ),
    _server(
        "ST-03",
        "a request without a body still gets one `http.request`",
        Level.MUST,
        "A request without a body still gets one `http.request`.",
        _www(
            "Request",
            "the body message serves as a way to stream large incoming HTTP bodies in chunks, and as a trigger to "
            "actually run request code (as you should not trigger on a connection opening alone).",
        ),
    ),
    _server(
        "ST-04",
        "a chunked request body is de-chunked: no framing reaches the app",
        Level.SHOULD,
        "A chunked request body is de-chunked: no framing reaches the app.",
        _www(
            "HTTP Connection Scope",
            "A request with a ``chunked`` encoded body should be automatically de-chunked by the server and "
            "presented to the application as plain body bytes",
        ),
    ),
    _server(
        "ST-05",
        "each body part is flushed to the client before send() returns",
        Level.MUST,
        "Each body part is flushed to the client before send() returns.",
        _www(
            "Response Body",
            "Protocol servers must flush any data passed to them into the send buffer before returning from a send "
            "call.",
        ),
    ),
    _server(
        "DC-01",
        "receive() after the response returns `http.disconnect` (it does not block)",
        Level.MUST,
        "Receive() after the response returns `http.disconnect` (it does not block).",
        _www(
            "Disconnect",
            "Sent to the application if receive is called after a response has been sent or after the HTTP "
            "connection has been closed.",
        ),
    ),
    _server(
        "DC-02",
        "every later receive() returns `http.disconnect` again",
        Level.MUST,
        "Every later receive() returns `http.disconnect` again. The sentence holds for every call, not only the first.",
        _www(
            "Disconnect",
            "Sent to the application if receive is called after a response has been sent or after the HTTP "
            "connection has been closed.",
        ),
    ),
    _server(
        "DC-03",
        "a client that leaves reaches the waiting app as `http.disconnect` within 2 s",
        Level.MUST,
        "A client that leaves reaches the waiting app as `http.disconnect` within 2 s. The 2-second bound is "
        "asgibench's.",
        _www(
            "Disconnect",
            "Sent to the application if receive is called after a response has been sent or after the HTTP "
            "connection has been closed.",
        ),
    ),
    _server(
        "DC-04",
        "send() on a closed connection raises an OSError subclass (2.4+), else is a no-op",
        Level.SHOULD,
        "Send() on a closed connection raises an OSError subclass (2.4+), else is a no-op.",
        _www(
            "Disconnected Client - send exception",
            "If ``send()`` is called on a closed connection the server should raise a server-specific subclass of "
            "``OSError``.",
        ),
        _asgi(
            "Error Handling",
            "If no error condition is specified, the ``send`` awaitable callable should act as a no-op.",
        ),
    ),
    _server(
        "DC-05",
        "a client's disconnect is not logged as an error by the server",
        Level.SHOULD,
        "While a client leaves (an HTTP client gone while the app waits, a WebSocket lost without a close frame, a "
        "WebSocket send after the client left), the server's log gets no error or traceback. Where send() raises "
        "the server's OSError, the app raises it on, as the spec lets it, so the server has to catch it. The lines "
        "the server wrote during those cases are kept as evidence; any that reads as an error warns.",
        _www(
            "Disconnected Client - send exception",
            "Servers must be prepared to catch this exception if they raised it and should not log it as an error "
            "in their server logs.",
        ),
    ),
    _server(
        "SC-13",
        "HTTP/2: no pseudo-header in the scope; `:authority` becomes the `host` header",
        Level.MUST,
        "Over HTTP/2 (h2c with prior knowledge), a request with `:authority` and a host header of the same value "
        "(RFC 9113 §8.3.1 wants them equal) reaches the app with no header whose name starts with a colon and one "
        "`host` header carrying the authority: first, or where the client's host was (replaced). "
        '`http_version` is "2" (SC-03). N/A on a server that does not serve HTTP/2.',
        _www(
            "HTTP Connection Scope",
            "Pseudo headers (present in HTTP/2 and HTTP/3) must be removed; if ``:authority`` is present its value "
            "must be added to the start of the iterable with ``host`` as the header name or replace any existing "
            "host header already present.",
        ),
    ),
    _server(
        "LS-01",
        "the lifespan scope has `type` and `asgi`; `spec_version` 2.0 when present",
        Level.MUST,
        "The lifespan scope has `type` and `asgi`; `spec_version` 2.0 when present.",
        _lifespan(
            "Scope",
            '``type`` (*Unicode string*) -- ``"lifespan"``. [...] ``asgi["version"]`` (*Unicode string*) -- The '
            "version of the ASGI spec.",
        ),
    ),
    _server(
        "LS-02",
        "no request reaches the app before `lifespan.startup.complete`",
        Level.MUST,
        "No request reaches the app before `lifespan.startup.complete`.",
        _lifespan("Startup Complete", "A server must wait for this message before it starts processing connections."),
    ),
    _server(
        "LS-05",
        "stopped with a request in flight: the request ends before `lifespan.shutdown`; the server waits for "
        "`lifespan.shutdown.complete`",
        Level.MUST,
        "The server is stopped (SIGTERM) while a request is in flight (the app answers after 1 s) and the app's "
        "shutdown cleanup takes 0.5 s. `lifespan.shutdown` must reach the app only after that request's connection "
        "was answered or closed (fail otherwise), and the process must not end before the app sent "
        "`lifespan.shutdown.complete` (fail). The definition of `lifespan.shutdown` is read as a server "
        'obligation, as the catalogue reads every "is sent".',
        _lifespan(
            "Shutdown",
            "Sent to the application when the server has stopped accepting connections and closed all active "
            "connections.",
        ),
        _lifespan("Shutdown Complete", "A server must wait for this message before terminating."),
    ),
    _server(
        "LS-06",
        "`state` written at startup shows in each request's scope",
        Level.MUST,
        "`state` written at startup shows in each request's scope.",
        _lifespan(
            "Lifespan State",
            "The server will ensure that a *shallow copy* of the namespace is passed into each subsequent "
            "request/response call into the application.",
        ),
    ),
    _server(
        "LS-07",
        "the lifespan and the requests run in one event loop",
        Level.MUST,
        "The recording app notes the running event loop (and the process) in the lifespan scope and in every "
        'request; any request in another loop fails. Derived: the spec calls the shared loop "the important '
        'part" with no modal word; the catalogue reads it as a requirement.',
        _lifespan(
            "",
            "Lifespans should be executed once per event loop that will be processing requests. [...] The important "
            "part is that lifespans and requests are run in the same event loop to ensure that objects like "
            "database connection pools are not moved or shared across event loops.",
        ),
    ),
    _server(
        "WS-01",
        "`websocket.connect` comes first, and no 101 goes out before the app accepts",
        Level.MUST,
        "`websocket.connect` comes first, and no 101 goes out before the app accepts.",
        _www(
            "Connect",
            "The protocol server must send this message during the handshake phase of the WebSocket and not "
            "complete the handshake until it gets a reply, returning HTTP status code ``403`` if the connection is "
            "denied.",
        ),
    ),
    _server(
        "WS-02",
        "the accepted subprotocol and the accept headers (2.1+) reach the handshake",
        Level.MUST,
        "The accepted subprotocol and the accept headers (2.1+) reach the handshake.",
        _www(
            "Accept",
            "``subprotocol`` (*Unicode string*) -- The subprotocol the server wishes to accept. [...] ``headers`` "
            "[...] Order must be preserved in the HTTP response.",
        ),
    ),
    _server(
        "WS-03",
        "a close before accept is answered with HTTP 403, no upgrade",
        Level.MUST,
        "A close before accept is answered with HTTP 403, no upgrade.",
        _www(
            "Close",
            "If this is sent before the socket is accepted, the server must close the connection with a HTTP 403 "
            "error code (Forbidden), and not complete the WebSocket handshake",
        ),
    ),
    _server(
        "WS-04",
        "an app that raises before accept gets an HTTP error, not a hang",
        Level.MUST,
        "An app that raises before accept gets an HTTP error, not a hang.",
        _asgi(
            "Error Handling",
            "they must terminate the application instance and its associated connection if this happens.",
        ),
    ),
    _server(
        "WS-05",
        "`websocket.disconnect` reaches the app when the client closes or vanishes",
        Level.MUST,
        "`websocket.disconnect` reaches the app when the client closes or vanishes.",
        _www(
            "Disconnect (WebSocket)",
            "Sent to the application when either connection to the client is lost, either from the client closing "
            "the connection, the server closing the connection, or loss of the socket.",
        ),
    ),
    _server(
        "WS-06",
        "the client's close code reaches the app (its reason too, 2.5+)",
        Level.MUST,
        "The client's close code reaches the app (its reason too, 2.5+).",
        _www(
            "Disconnect (WebSocket)",
            "``code`` (*int*) -- The WebSocket close code, as per the WebSocket spec. If no code was received in "
            "the frame from the client, the server should set this to ``1005``",
        ),
    ),
    _server(
        "WS-07",
        "an app's close sends its code (and reason, 2.3+) in the close frame",
        Level.MUST,
        "An app's close sends its code (and reason, 2.3+) in the close frame.",
        _www(
            "Close",
            "If this is sent after the socket is accepted, the server must close the socket with the close code "
            "passed in the message (or 1000 if none is specified).",
        ),
    ),
    _server(
        "EX-02",
        "a denial response (when advertised) is the app's status, headers and body",
        Level.MUST,
        "A denial response (when advertised) is the app's status, headers and body.",
        _ext(
            "Websocket Denial Response",
            "These messages cannot be followed by any other websocket messages as the server should send a HTTP "
            "response and then close the connection.",
        ),
    ),
    _server(
        "EX-04",
        "trailers (when advertised) reach the client that sent `TE: trailers`",
        Level.MUST,
        "Where a server advertises `http.response.trailers`, a request with `TE: trailers` whose app sets "
        "`trailers` and sends a trailer gets that trailer on the wire: a trailing HEADERS frame over HTTP/2, a "
        "trailer section after the last chunk over HTTP/1.1. N/A where the extension is not advertised (each "
        "protocol on its own).",
        _www(
            "Response Start",
            'If ``True``, the server must wait until it receives a ``"http.response.trailers"`` message after the '
            "*Response Body* event.",
        ),
        _ext(
            "HTTP Trailers",
            "The ASGI server will only send the trailing headers in case the client has sent the ``TE: trailers`` "
            "header in the request.",
        ),
    ),
    _server(
        "EX-09",
        "push only over HTTP/2 and as the client allows; no debug extension",
        Level.MUST,
        "Over h2c, an app that pushes where `http.response.push` is advertised: a client that allows push gets a "
        "PUSH_PROMISE for the app's path with the request's `:authority`, and a new app instance serves it (warn "
        "otherwise: the spec says should); a client that sent SETTINGS_ENABLE_PUSH=0 gets no PUSH_PROMISE (fail: "
        "RFC 9113 §8.4 forbids it). Either way the response the push was sent in must arrive whole (fail). "
        "`http.response.push` advertised on a scope that is not HTTP/2 warns (HTTP/1.1 has no push), and so does "
        "`http.response.debug` on any scope: servers should not implement it. N/A where push is not advertised.",
        _ext(
            "HTTP/2 Server Push",
            "The ASGI server should then attempt to send a server push (or push promise) to the client. If the "
            "client supports server push, the server should create a new connection to a new instance of the "
            "application and treat it as if the client had made a request.",
        ),
        _ext(
            "HTTP/2 Server Push",
            "The ASGI server should set the pseudo ``:authority`` header value to be the same value as the request "
            "that triggered the push promise.",
        ),
        _ext(
            "Debug",
            "This extension is not meant to be used in production, only for testing purposes, and ASGI servers "
            "should not implement it.",
        ),
        _rfc(Document.RFC9113, "8.4"),
    ),
    _server(
        "EX-10",
        "over TLS the scheme is https/wss and `tls` is complete; never `tls` without TLS",
        Level.MUST,
        "Each server is started again with a throwaway certificate for 127.0.0.1. Over TLS, an HTTP scope's "
        "`scheme` is https and a WebSocket's wss (fail otherwise: the URL of a request made through TLS has that "
        "scheme). Where `tls` is advertised (optional: N/A when not), specs/tls.rst's mandatory `server_cert` "
        "(str or None: the PEM of the certificate the server sent), `tls_version` (int or None: the connection's "
        "version) and `cipher_suite` (int or None, 16-bit) are present, and for a client without a certificate "
        "`client_cert_chain` is empty and `client_cert_name` and `client_cert_error` are None (fail). A scope of a "
        "connection without TLS that advertises `tls` fails: specs/tls.rst forbids it.",
        cite_tls("When to use this extension", "This extension must only be used for TLS connections."),
        cite_tls(
            "When to use this extension",
            "For non-TLS connections, the ASGI server is forbidden from providing this extension.",
        ),
        cite_tls(
            "TLS Connection Scope",
            "The PEM-encoded conversion of the x509 certificate sent by the server when establishing the TLS "
            "connection.",
        ),
        _www("HTTP Connection Scope", 'URL scheme portion (likely ``"http"`` or ``"https"``).'),
        _www("Websocket Connection Scope", 'URL scheme portion (likely ``"ws"`` or ``"wss"``).'),
        _rfc(Document.RFC9110, "4.2.2"),
    ),
    _server(
        "EX-13",
        "pathsend (when advertised) sends the file, byte for byte, with the app's headers",
        Level.MUST,
        "Where `http.response.pathsend` is advertised, the app's start and a pathsend of a 3 KiB file holding "
        "every byte value reach the client as a 200 with the app's headers and exactly the file's bytes (fail), "
        "over HTTP/1.1 and HTTP/2 each. N/A where the extension is not advertised (each protocol on its own).",
        _ext(
            "Path Send",
            "``path`` (*Unicode string*): The string representation of the absolute file path to be sent by the "
            "server, platform specific.",
        ),
        _ext(
            "Path Send",
            "The ASGI application itself is responsible to send the relevant headers in the *Response Start* "
            "message, like the ``Content-Type`` and ``Content-Length`` headers for the file to be sent.",
        ),
    ),
    _server(
        "EX-14",
        "zerocopysend (when advertised) honours `offset` and `count`",
        Level.MUST,
        "Where `http.response.zerocopysend` is advertised, a zero-copy send of 1000 bytes from offset 100 with "
        "more_body, then an http.response.body part, reach the client as exactly those bytes followed by the part "
        "(fail). N/A where the extension is not advertised (each protocol on its own).",
        _ext(
            "Zero Copy Send",
            "``offset`` (*int*): Optional. If this value exists, it will specify the offset at which sendfile starts "
            "to read data from ``file``.",
        ),
        _ext(
            "Zero Copy Send",
            "``count`` (*int*): Optional. ``count`` is the number of bytes to copy between the file descriptors.",
        ),
        _ext(
            "Zero Copy Send",
            "This message can be sent at any time after the *Response Start* message but before the final "
            "*Response Body* message, and can be mixed with ``http.response.body``.",
        ),
    ),
    _server(
        "EX-15",
        "early hints (when advertised) reach the client as a 103 before the response",
        Level.MUST,
        "Where `http.response.early_hint` is advertised, an app that sends two links before its start gets a 103 "
        "carrying them as Link headers ahead of its 200. No 103 over HTTP/2 warns (should attempt it) and over "
        "HTTP/1.1 is recorded (info: the server may ignore it there); a 103 with other links warns. A 103 after "
        "the final response, or a final response that does not arrive whole, fails (RFC 8297: hints precede the "
        "final response). N/A where the extension is not advertised (each protocol on its own).",
        _ext(
            "Early Hints",
            "The ASGI server should then attempt to send an informational response to the client with the provided "
            "links as ``Link`` headers. The server may decide to ignore this message, for example if the HTTP/1.1 "
            "protocol is used and the server has security concerns.",
        ),
        Citation(Document.ASGIREF_579, ""),
        _rfc(Document.RFC8297, "2"),
    ),
    _server(
        "ER-01",
        "an app that raises before starting the response gets a 5xx, or the connection closes",
        Level.MUST,
        "An app that raises before starting the response gets a 5xx, or the connection closes.",
        _asgi(
            "Error Handling",
            "they must terminate the application instance and its associated connection if this happens.",
        ),
    ),
    _server(
        "ER-02",
        "an app that returns without a response does not leave the client hanging",
        Level.SHOULD,
        "An app that returns without a response does not leave the client hanging. Derived: the spec's must covers "
        "an app that raises; for one that returns, asgibench warns.",
        _asgi(
            "Error Handling",
            "they must terminate the application instance and its associated connection if this happens.",
        ),
    ),
    _server(
        "ER-03",
        "an app that raises mid-response has its connection ended promptly",
        Level.MUST,
        "An app that raises mid-response has its connection ended promptly.",
        _asgi(
            "Error Handling",
            "they must terminate the application instance and its associated connection if this happens.",
        ),
    ),
    _server(
        "ER-05",
        "a body sent after the response completed is ignored (raising is recorded)",
        Level.SHOULD,
        "A body sent after the response completed is ignored (raising is recorded).",
        _www(
            "Response Body",
            "If ``False``, and the server is not expecting *Response Trailers* response will be taken as complete "
            "and closed, and any further messages on the channel will be ignored.",
        ),
    ),
    _server(
        "HR-07",
        "a Transfer-Encoding the app set is ignored; the server frames the body itself",
        Level.MUST,
        "The app sets Transfer-Encoding: gzip with no Content-Length; the answer must still be valid HTTP/1.1 with "
        "the body intact, and not carry the app's gzip coding.",
        _www(
            "Response Start",
            "You may send a ``Transfer-Encoding`` header in this message, but the server must ignore it.",
        ),
    ),
    _server(
        "ST-06",
        "flow control: when 100 Continue goes out, and how much send() takes in before it waits (recorded)",
        Level.INFO,
        "Request side: whether 100 Continue is sent at once or only when the app first calls receive(); either is "
        "allowed, and the body must still reach the app (fail otherwise). Response side: the app sends 256 KiB "
        "parts without pause (up to 64 MiB or 3 s) to a client with a small receive buffer that reads nothing; "
        "the figure recorded is how much send() returned for before it made the app wait (none: the server held "
        "it all in memory, no back-pressure). The client then reads everything, which must be the whole body "
        "(fail otherwise). Info: send() returns once the send is completed, and a server must flush into its send "
        "buffer before returning, but the spec bounds no buffer, so back-pressure is the server's choice.",
        _rfc(Document.RFC9110, "10.1.1"),
        _asgi(
            "Applications",
            "``send``: an awaitable callable taking a single event dictionary as a positional argument that will "
            "return once the send has been completed or the connection has been closed",
        ),
        _www(
            "Response Body",
            "Protocol servers must flush any data passed to them into the send buffer before returning from a send "
            "call.",
        ),
    ),
    _server(
        "HR-15",
        "HTTP/2: concurrent requests on one connection get their own scopes, each answer on its own stream",
        Level.SHOULD,
        "Over h2c, three requests go out at once on one connection; the app answers them in another order than "
        "they were asked (after 300, 0 and 150 ms) with a body naming the request's path. Each stream must end "
        "with its own answer, the app must see one scope per request, and each scope must still name its own "
        "path after the app's wait. A wrong or missing answer, or a shared scope, warns, as the spec's should. "
        "The order the streams ended in is recorded. N/A on a server that does not serve HTTP/2.",
        _www(
            "HTTP",
            "A protocol server should give different scopes to different requests on the same HTTP/2 connection, "
            "and correctly multiplex the responses back to the same stream in which they came.",
        ),
    ),
    _server(
        "HR-16",
        "no Transfer-Encoding where HTTP forbids it: a 1xx, a 204, an HTTP/1.0 client",
        Level.MUST,
        "A server must not send Transfer-Encoding, nor Content-Length, in a 1xx or 204 response (RFC 9112 §6.1, "
        "RFC 9110 §8.6), and must not send Transfer-Encoding to a client whose request was HTTP/1.0 (RFC 9112 "
        "§6.1): a streamed answer without Content-Length then ends with the close, or is buffered and given a "
        "length. Read on the raw wire: the 204 whose app sent a body, the 100 Continue of the Expect case, and an "
        "HTTP/1.0 request answered in three parts without Content-Length. The chunked framing the spec lets "
        "servers choose is HTTP/1.1's.",
        _www(
            "Response Start",
            "Servers handle ``Transfer-Encoding`` themselves, and may opt to use ``Transfer-Encoding: chunked`` if "
            "the application presents a response that has no ``Content-Length`` set.",
        ),
        _rfc(Document.RFC9112, "6.1"),
        _rfc(Document.RFC9110, "8.6"),
    ),
    _server(
        "HR-17",
        "a Date header on the answer, from the server when the app sent none; never two",
        Level.SHOULD,
        "An origin server with a clock must send Date in its 2xx, 3xx and 4xx responses (RFC 9110 §6.6.1). In "
        "ASGI the origin server is the app and the server together and the spec does not say which adds it, so a "
        "200 without Date, from an app that sent none, warns (derived). A Date the server writes must be an "
        "IMF-fixdate (RFC 9110 §5.6.7, fail otherwise). When the app sends its own Date, the server must not add "
        "a second (fail: Date holds one value, RFC 9110 §5.3); replacing or dropping the app's Date warns, as "
        "headers are to be kept as the app gave them.",
        _rfc(Document.RFC9110, "6.6.1"),
        _rfc(Document.RFC9110, "5.6.7"),
        _rfc(Document.RFC9110, "5.3"),
        _www(
            "HTTP",
            "The ASGI design decision is to transport both request and response headers as lists of 2-element "
            "``[name, value]`` lists and preserve headers exactly as they were provided.",
        ),
    ),
    _server(
        "WS-08",
        "a fragmented message reaches the app whole, as text xor bytes; pings are answered",
        Level.MUST,
        "A text message sent in two frames with a ping between them arrives as one websocket.receive with only "
        "`text` set, and the ping gets its pong.",
        _www("Receive", "Exactly one of ``bytes`` or ``text`` must be non-``None``."),
        _rfc(Document.RFC6455, "5.5.2"),
    ),
    _server(
        "WS-09",
        "send() after a WebSocket disconnect raises an OSError subclass (2.4+), else is a no-op",
        Level.SHOULD,
        "After the client left, a websocket.send raises an OSError subclass from spec_version 2.4, and is a no-op "
        "before; any other exception warns.",
        _www(
            "Disconnected Client - send exception",
            "If ``send()`` is called on a closed connection the server should raise a server-specific subclass of "
            "``OSError``.",
        ),
    ),
    _server(
        "ER-04",
        "after every fault above, a new request is still served",
        Level.MUST,
        "A plain GET on a new connection, after apps that raised, returned without answering and hung, is answered "
        "200. Derived: the server must end the faulty instance and its connection, not itself.",
        _asgi(
            "Error Handling",
            "they must terminate the application instance and its associated connection if this happens.",
        ),
    ),
    _server(
        "LS-03",
        "an app that raises on the lifespan scope: the server carries on without lifespan",
        Level.MUST,
        "Started with a lifespan that raises at once, the server must go on and serve requests.",
        _lifespan(
            "Scope",
            "If an exception is raised when calling the application callable with a ``lifespan.startup`` message or "
            "a ``scope`` with type ``lifespan``, the server must continue but not send any lifespan events.",
        ),
    ),
    _server(
        "LS-04",
        "`lifespan.startup.failed`: the server logs the app's message and exits (its status is recorded)",
        Level.SHOULD,
        "Started with a lifespan that answers startup.failed, the server should log the message and exit; one "
        "that keeps serving, or exits without the message in its log, warns.",
        _lifespan("Startup Failed", "If a server sees this it should log/print the message provided and then exit."),
    ),
    _server(
        "LS-08",
        "an app whose lifespan returns without answering startup (recorded)",
        Level.INFO,
        "What the server does when the app returns from lifespan without answering startup: the spec does not say.",
        _lifespan("Startup Complete"),
    ),
)

# By area (the app catalogue's order of prefixes), then by number.
SERVER_CHECKS: tuple[Check, ...] = tuple(
    sorted(_UNSORTED, key=lambda check: (list(GROUP_PREFIXES).index(check.id[:2]), int(check.id[3:])))
)
SERVER_CHECKS_BY_ID: dict[str, Check] = {check.id: check for check in SERVER_CHECKS}
