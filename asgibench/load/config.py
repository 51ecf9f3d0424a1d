"""The load command's configuration: frozen records the CLI and scenario files fill in.

Library users build a ``LoadConfig`` directly and call ``run_load`` with it;
the CLI is only one way to fill one in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from asgibench.load.expect import Expectation

Model = Literal["closed", "open"]
# What the generator speaks: HTTP/1.1, HTTP/2 (h2c with prior knowledge, or TLS with ALPN), or WebSocket messages.
Protocol = Literal["http/1.1", "h2", "websocket"]
MessageKind = Literal["text", "binary"]

DEFAULT_TARGET = "http://127.0.0.1:8000/"


@dataclass(frozen=True, slots=True)
class Target:
    """Where the load goes: a TCP host and port, or a Unix socket path."""

    url: str
    scheme: Literal["http", "https", "unix", "ws", "wss"]
    host: str
    port: int
    path: str
    unix_path: str | None = None

    @property
    def secure(self) -> bool:
        return self.scheme in ("https", "wss")

    @property
    def host_header(self) -> str:
        if self.scheme == "unix":
            return "localhost"
        default = 443 if self.secure else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """One kind of request in the mix; ``weight`` is its share of the traffic."""

    method: str = "GET"
    path: str | None = None  # None: the target's own path
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    weight: float = 1.0
    name: str = ""
    expect: Expectation = field(default_factory=Expectation)
    # WebSocket: this entry is a message of this kind, ``body`` its payload (sent with an id, echoed back).
    message: MessageKind | None = None
    # A streamed response (SSE, chunked): time its first byte, the gaps between its chunks, count its events.
    stream: bool = False

    @property
    def label(self) -> str:
        """The name reports use: the given one, else method and path (a message's kind and size)."""
        if self.message is not None:
            return self.name or f"{self.message} {len(self.body)} B"
        return self.name or f"{self.method} {self.path or '(target path)'}"


@dataclass(frozen=True, slots=True)
class Stage:
    """Move linearly to ``target`` (requests/s in the open model, VUs in the closed) over ``duration`` seconds."""

    duration: float
    target: float


@dataclass(frozen=True, slots=True)
class LoadConfig:
    target: Target
    model: Model = "closed"
    vus: int = 10
    rate: float = 0.0
    duration: float = 10.0
    warmup: float = 0.0
    timeout: float = 10.0
    drain: float | None = None  # seconds in-flight requests get after the window; None: the timeout
    think: float = 0.0
    workers: int = 1
    connections: int = 0  # open model: connections opened up front (0: as needed)
    max_connections: int = 1024  # open model: the pool never grows past this
    requests: tuple[RequestSpec, ...] = (RequestSpec(),)
    stages: tuple[Stage, ...] = ()
    thresholds: tuple[str, ...] = ()
    abort_on_fail: bool = False
    insecure: bool = False
    target_source: str = "argument"  # where the target came from, said in the output
    scenario_path: str | None = None
    protocol: Protocol = "http/1.1"
    streams: int = 1  # HTTP/2: concurrent streams per connection; WebSocket: messages in flight per connection
    subprotocols: tuple[str, ...] = ()  # WebSocket subprotocols offered in the handshake
    hold: int = 0  # streams (SSE) or idle WebSockets held open beside the load, for the whole run
    hold_target: Target | None = None  # what they hold: an SSE URL or a ws:// URL (default: the target)
    cluster: str | None = None  # --cluster: local:N or a Dask scheduler's address (asgibench.cluster)
    workers_given: bool = False  # --workers was given: on a cluster, the shards; else one per Dask worker
    max_skew: float = 0.025  # seconds two shards may start apart at most (asgibench.cluster.clock)

    @property
    def measured_duration(self) -> float:
        """Seconds recorded: stages replace --duration when given; warm-up is never recorded."""
        if self.stages:
            return sum(stage.duration for stage in self.stages)
        return self.duration

    @property
    def drain_seconds(self) -> float:
        """After the window closes, how long requests still in flight may take before they are abandoned."""
        return self.timeout if self.drain is None else self.drain

    def describe(self) -> dict[str, object]:
        """The configuration as plain data, for the result file."""
        return {
            "target": self.target.url,
            "target_source": self.target_source,
            "scenario": self.scenario_path,
            "model": self.model,
            "vus": self.vus if self.model == "closed" else None,
            "rate": self.rate if self.model == "open" else None,
            "duration_s": self.measured_duration,
            "warmup_s": self.warmup,
            "timeout_s": self.timeout,
            "drain_s": self.drain_seconds,
            "think_s": self.think,
            "workers": self.workers,
            "cluster": self.cluster,
            "connections": self.connections,
            "max_connections": self.max_connections,
            "stages": [{"duration_s": stage.duration, "target": stage.target} for stage in self.stages],
            "requests": [
                {
                    "name": request.label,
                    "method": request.method,
                    "path": request.path or self.target.path,
                    "headers": [list(header) for header in request.headers],
                    "body_bytes": len(request.body),
                    "weight": request.weight,
                    "expect": request.expect.describe(),
                    "message": request.message,
                    "stream": request.stream,
                }
                for request in self.requests
            ],
            "thresholds": list(self.thresholds),
            "protocol": self.protocol,
            "streams": self.streams,
            "subprotocols": list(self.subprotocols),
            "hold": self.hold,
            "hold_target": None if self.hold_target is None or not self.hold else self.hold_target.url,
        }
