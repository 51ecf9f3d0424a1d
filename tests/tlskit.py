"""A throwaway CA and a server certificate for 127.0.0.1 and localhost, as files, for servers started over TLS.

files = certificates(tmp_path)
hypercorn --certfile {files.cert} --keyfile {files.key} ...   # or granian --ssl-certificate / --ssl-keyfile
httpx.Client(verify=ssl_context(files))                       # or ssl.create_default_context(cafile=files.ca)
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme

NAMES = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class TLSFiles:
    cert: Path  # the server certificate, then the chain up to (not including) the CA, PEM
    key: Path  # the server's private key, PEM, unencrypted
    ca: Path  # the CA certificate a client trusts, PEM


def certificates(directory: Path, names: tuple[str, ...] = NAMES) -> TLSFiles:
    """A new CA and a certificate it signs for ``names``, written into ``directory`` (created if missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    server = ca.issue_cert(*names)
    files = TLSFiles(cert=directory / "cert.pem", key=directory / "key.pem", ca=directory / "ca.pem")
    files.cert.write_bytes(b"".join(blob.bytes() for blob in server.cert_chain_pems))
    files.key.write_bytes(server.private_key_pem.bytes())
    files.key.chmod(0o600)
    files.ca.write_bytes(ca.cert_pem.bytes())
    return files


def ssl_context(files: TLSFiles, alpn: tuple[str, ...] = ("h2", "http/1.1")) -> ssl.SSLContext:
    """A client context that trusts only ``files.ca`` and offers ``alpn``."""
    context = ssl.create_default_context(cafile=str(files.ca))
    context.set_alpn_protocols(list(alpn))
    return context
