"""The probe's TLS leg: a throwaway certificate for 127.0.0.1, and the cases run over TLS.

Each server is started a second time with the certificate (its plugin's TLS
options), and an HTTP/1.1 request and a WebSocket reach the recording app
through TLS. The client does not verify the certificate: the checks are about
the scope the app is given, and the certificate the server sent is noted so
``server_cert`` can be compared with it.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme

from asgibench.conformance.observation import Observation
from asgibench.conformance.probe.cases import Case, _wait_end, raw_request
from asgibench.conformance.probe.log import ProbeLog
from asgibench.conformance.probe.wire import HOST, HttpWire, Opened, WebSocketWire
from asgibench.servers.base import Certificate

NAMES = ("127.0.0.1", "localhost")
# The TLS versions Python's ssl names, as the numbers tls.rst's tls_version uses (RFC 8446 §4.2.1 and earlier).
TLS_VERSIONS = {"TLSv1": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


def throwaway_certificate(directory: Path) -> Certificate:
    """A new CA's certificate for NAMES, and its key, as PEM files in ``directory`` (created if missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    issued = trustme.CA().issue_cert(*NAMES)
    certificate = Certificate(cert=directory / "cert.pem", key=directory / "key.pem")
    certificate.cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    certificate.key.write_bytes(issued.private_key_pem.bytes())
    certificate.key.chmod(0o600)
    return certificate


def client_context(alpn: str = "http/1.1") -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the probe's own throwaway certificate, on 127.0.0.1
    context.set_alpn_protocols([alpn])
    return context


def _secure(wire: HttpWire | WebSocketWire) -> list[str]:
    """The wire's socket, now through TLS; notes of what was negotiated and the certificate the server sent."""
    secured = client_context().wrap_socket(wire.socket, server_hostname=HOST)
    wire.socket = secured
    version = secured.version() or ""
    cipher = secured.cipher()
    der = secured.getpeercert(binary_form=True)
    notes = [f"tls-version={TLS_VERSIONS.get(version, version)}", f"tls-cipher={cipher[0] if cipher else ''}"]
    if der is not None:
        notes.append("tls-server-cert=" + ssl.DER_cert_to_PEM_cert(der).replace("\n", "\\n"))
    return notes


def tls_http(port: int, log: ProbeLog) -> Observation:
    case = "tls-scope"
    wire = HttpWire(port)
    try:
        notes = _secure(wire)
        wire.send(raw_request(case, "ok"))
        wire.read(timeout=4.0)
        _wait_end(log, case)
    finally:
        wire.close()
    observation = Observation(case, log.app(case), wire.record)
    observation.notes.extend(notes)
    return observation


def tls_websocket(port: int, log: ProbeLog) -> Observation:
    case = "tls-ws"
    wire = WebSocketWire(port, headers=[("X-Probe-Case", case), ("X-Probe-Do", "ws-echo")])
    try:
        notes = _secure(wire)
        if isinstance(wire.open(), Opened):
            wire.close(1000)
            wire.until_closed(2.0)
    finally:
        wire.finish()
    _wait_end(log, case)
    observation = Observation(case, log.app(case), wire.record)
    observation.notes.extend(notes)
    return observation


TLS_CASES: tuple[Case, ...] = (
    Case("tls-scope", "HTTP/1.1 over TLS: the scheme and the tls extension", tls_http, tls=True),
    Case(
        "tls-ws", "WebSocket over TLS: the scheme and the tls extension", tls_websocket, protocol="websocket", tls=True
    ),
)
TLS_CASE_NAMES = frozenset(case.name for case in TLS_CASES)
