"""Is the server up? It is when it answers an HTTP request, not merely when its port accepts.

A process manager (gunicorn, uvicorn --workers) binds the port before its
workers can serve; a TCP connect would call it ready while requests still wait.
"""

from __future__ import annotations

import socket


def answers_http(host: str, port: int, path: str, timeout: float = 1.0) -> bool:
    """One GET; True when any HTTP status line comes back (a 404 or 500 is still a server that is up)."""
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode("ascii")
    try:
        with socket.create_connection((host, port), timeout=timeout) as connection:
            connection.sendall(request)
            head = connection.recv(16)
    except OSError:
        return False
    return head.startswith(b"HTTP/")
