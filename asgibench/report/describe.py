"""The machine and the load of a result, each in one line of plain text. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from asgibench.results.figures import rate


def machine_line(environment: Mapping[str, Any] | None) -> str:
    """CPU model, cores, OS, Python and asgibench version, on one line."""
    if not environment:
        return "machine not recorded"
    cores = environment.get("cpu_count")
    usable = environment.get("cpus_usable")
    parts = [str(environment.get("cpu_model") or "unknown CPU")]
    if cores:
        parts.append(f"{cores} cores" + (f" ({usable} usable)" if usable and usable != cores else ""))
    if environment.get("os"):
        parts.append(str(environment["os"]))
    python = environment.get("python")
    if python:
        implementation = str(environment.get("implementation") or "python")
        parts.append(f"{'CPython' if implementation == 'cpython' else implementation} {python}")
    if environment.get("asgibench"):
        parts.append(f"asgibench {environment['asgibench']}")
    return " · ".join(parts)


def load_line(config: Mapping[str, Any] | None) -> str:
    """The load in one line: model, rate or VUs, duration, warm-up, generator workers (or a cluster's shards),
    the protocol beyond HTTP/1.1, the requests (or messages) sent, the streams held."""
    if not config:
        return "load not recorded"
    if config.get("model") == "open":
        offered = config.get("rate")
        fixed = f"open model, {rate(float(offered))} requests/s" if offered is not None else "open model"
        shape = "open model, ramping rate" if config.get("stages") else fixed
    else:
        shape = "closed model, ramping VUs" if config.get("stages") else f"closed model, {config.get('vus')} VUs"
    length = f"{config.get('duration_s', 0):g} s measured"
    if config.get("warmup_s"):
        length += f" after {config['warmup_s']:g} s warm-up"
    workers = config.get("workers") or 1
    generator = f"{workers} generator worker" + ("s" if workers != 1 else "")
    if config.get("cluster"):  # load --cluster: the workers were shards on a Dask cluster
        generator = f"{workers} shard" + ("s" if workers != 1 else "") + f" on the Dask cluster {config['cluster']}"
    parts = [shape, length, generator]
    return " · ".join([*parts, *what_is_sent(config)])


def what_is_sent(config: Mapping[str, Any]) -> list[str]:
    """The protocol beyond HTTP/1.1, the requests (or WebSocket messages), the streams held: each a phrase."""
    parts = []
    protocol = _protocol(config)
    if protocol:
        parts.append(protocol)
    requests = config.get("requests") or []
    if requests:
        weighted = len(requests) > 1
        parts.append(", ".join(_request(spec) + (f" ×{spec['weight']:g}" if weighted else "") for spec in requests))
    held = _held(config)
    if held:
        parts.append(held)
    return parts


def _protocol(config: Mapping[str, Any]) -> str | None:
    """HTTP/2 or WebSocket, with what travels at once on a connection; None for HTTP/1.1 (older files too)."""
    streams = config.get("streams") or 1
    if config.get("protocol") == "h2":
        return "HTTP/2 (h2c)" + (f", {streams} streams per connection" if streams > 1 else "")
    if config.get("protocol") == "websocket":
        return "WebSocket" + (f", {streams} messages in flight per connection" if streams > 1 else "")
    return None


def _request(spec: Mapping[str, Any]) -> str:
    """``GET /json``, ``GET /sse (streamed)``, or a WebSocket message's kind and size: ``text 64 B to /ws``."""
    if spec.get("message"):
        return f"{spec.get('name', spec['message'])} messages to {spec.get('path', '/')}"
    streamed = " (streamed)" if spec.get("stream") else ""
    return f"{spec.get('method', 'GET')} {spec.get('path', '/')}{streamed}"


def _held(config: Mapping[str, Any]) -> str | None:
    """``holding 5 streams of /sse`` (or ``ws:/ws``): the comparison's hold path, or a result's hold URL's."""
    hold = config.get("hold")
    if not hold:
        return None
    path = config.get("hold_path")
    url = config.get("hold_target")
    if path is None and isinstance(url, str):
        parts = urlsplit(url)
        path = ("ws:" if parts.scheme in ("ws", "wss") else "") + (parts.path or "/")
        path += f"?{parts.query}" if parts.query else ""
    return f"holding {hold} stream{'s' if hold != 1 else ''}" + (f" of {path}" if path else " of the target")
