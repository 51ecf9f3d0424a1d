"""The options load and compare share for WebSocket, HTTP/2 and streamed responses: one wording for both."""

from __future__ import annotations

from typing import Annotated

import typer

Streams = Annotated[
    int | None,
    typer.Option(
        "--streams",
        metavar="INTEGER",
        help="HTTP/2: concurrent streams per connection; WebSocket: messages in flight per connection. Default 1.",
    ),
]
MessageSize = Annotated[
    int | None,
    typer.Option(
        "--message-size", metavar="BYTES", help="WebSocket: each message's size (16-byte id included). Default 64."
    ),
]
Binary = Annotated[bool, typer.Option("--binary", help="WebSocket: send binary messages, not text.")]
Stream = Annotated[
    bool,
    typer.Option("--stream", help="Time streamed responses (SSE, chunked): first byte, gaps between reads, events."),
]
