"""Opening one client connection for the load: TCP, TLS or a Unix socket, within a time limit."""

from __future__ import annotations

import asyncio
import ssl

from asgibench.load.config import Target


async def dial(
    loop: asyncio.AbstractEventLoop,
    target: Target,
    protocol: asyncio.Protocol,
    *,
    tls: ssl.SSLContext | None,
    timeout: float,
) -> None:
    """Connect ``protocol`` to ``target``; raises OSError (ssl.SSLError included) or TimeoutError."""
    async with asyncio.timeout(timeout):
        if target.unix_path is not None:
            await loop.create_unix_connection(lambda: protocol, target.unix_path)
        else:
            await loop.create_connection(
                lambda: protocol, target.host, target.port, ssl=tls, server_hostname=target.host if tls else None
            )
