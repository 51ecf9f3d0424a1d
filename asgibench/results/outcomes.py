"""The outcomes a request of the window can end as (docs/result-file.md): one catalogue for writers and readers.

A request is ok, or ends as an error of exactly one of ERROR_KINDS; an unsent
one also says why, as one of UNSENT_REASONS. The order is the order reports
show them in.
"""

from __future__ import annotations

ERROR_KINDS = (
    "status",  # a final response with a status the request did not expect
    "check",  # an expected status, but a body or header check failed
    "refused",
    "reset",  # closed or reset before any byte of the response
    "timeout",
    "truncated",  # closed after part of the response
    "protocol",  # bytes that break the protocol (HTTP/1.1, HTTP/2 or WebSocket), or a 101 nobody asked for
    "tls",
    "handshake",  # a WebSocket upgrade answered with another status (the status in error_codes)
    "closed",  # a WebSocket closed by the server with a message in flight (the close code in error_codes)
    "stream_reset",  # an HTTP/2 stream reset by the server (RST_STREAM; the error code in error_codes)
    "goaway",  # an HTTP/2 request the server refused to process by GOAWAY (the error code in error_codes)
    "other",
    "unsent",  # due, never written (open model); why is in UNSENT_REASONS
    "abandoned",  # written, still in flight when the run stopped or the drain ended
)
# Why a request was never written, as reports word it.
UNSENT_MEANINGS = {
    "queue_full": "waited longer than the timeout for a free connection",
    "run_ended": "still waiting when the window closed",
    "interrupted": "still waiting when the run was stopped",
}
UNSENT_REASONS = tuple(UNSENT_MEANINGS)
# Kinds that came after the first version 2 files: a file without them read them as 0.
LATER_ERROR_KINDS = ("handshake", "closed", "stream_reset", "goaway")
# The kinds whose errors carry a code (an HTTP status, a close code, an HTTP/2 error code), counted by code.
CODED_ERROR_KINDS = LATER_ERROR_KINDS
