"""An HTTP server that ignores SIGTERM (only SIGKILL stops it): python -m tests.servers.stubborn PORT"""

from __future__ import annotations

import asyncio
import signal
import sys

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while await reader.readuntil(b"\r\n\r\n"):
        writer.write(ANSWER)
        await writer.drain()


async def main(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    asyncio.run(main(int(sys.argv[1])))
