"""A small HTTP/1.1 server on plain asyncio whose behaviour is picked on the command line.

The load tests need targets that fail in known ways, which real servers do
not do on demand. It prints ``PORT <n>`` once listening on 127.0.0.1.

    python -m tests.servers.misbehaving MODE

ok       answer 200 at once, keep-alive
freeze   like ok, but the whole event loop blocks for 1 s in every 5 s
mix      every 5th request is answered after 50 ms, the others at once
reset    read a request, then close the connection with a TCP reset
garbage  answer every request with bytes that are not HTTP
stall    read requests and never answer
count    like ok, and count requests per path; GET /__counts answers the counts as JSON
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import sys
import time
from collections import Counter

OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
FREEZE_EVERY = 5.0
FREEZE_FOR = 1.0
SLOW_EVERY = 5
SLOW_FOR = 0.050


class Handler(asyncio.Protocol):
    counts: Counter[str] = Counter()
    served = 0

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(rest) < length:
                return
            self.buffer = rest[length:]
            path = head.split(b" ")[1].decode()
            self.request(path)

    def request(self, path: str) -> None:
        assert self.transport is not None
        Handler.served += 1
        if self.mode == "reset":
            sock = self.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.transport.abort()
        elif self.mode == "garbage":
            self.transport.write(b"this is not HTTP at all\r\n\r\n")
        elif self.mode == "stall":
            pass
        elif self.mode == "mix" and Handler.served % SLOW_EVERY == 0:
            asyncio.get_running_loop().call_later(SLOW_FOR, self.transport.write, OK)
        elif self.mode == "count" and path == "/__counts":
            body = json.dumps(Handler.counts).encode()
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        else:
            Handler.counts[path] += 1
            self.transport.write(OK)


def freeze_periodically(loop: asyncio.AbstractEventLoop) -> None:
    time.sleep(FREEZE_FOR)  # blocks the whole loop: nothing is read or answered meanwhile
    loop.call_later(FREEZE_EVERY - FREEZE_FOR, freeze_periodically, loop)


async def main(mode: str) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Handler(mode), "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    if mode == "freeze":
        loop.call_later(FREEZE_EVERY - FREEZE_FOR, freeze_periodically, loop)
    print(f"PORT {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
