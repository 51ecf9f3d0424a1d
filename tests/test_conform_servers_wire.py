"""``asgibench conform --server``: the wire-level checks (HR-15 multiplexing, HR-16 forbidden framing, HR-17 Date,
ST-06 back-pressure) against real servers, and against small broken servers that show each check can fail.

The broken HTTP/1.1 server runs the probe's own recording app, so the cases and
the judge see a real app record; only its framing is wrong, on purpose.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from h2 import events as h2e
from h2.config import H2Configuration
from h2.connection import H2Connection

from asgibench.conformance.findings import Verdict
from asgibench.conformance.observation import AppEvent, AppRecord, Observation
from asgibench.conformance.probe import recording_app
from asgibench.conformance.probe.cases import CASES_BY_NAME
from asgibench.conformance.probe.judge import ServerFinding, judge
from asgibench.conformance.probe.log import ProbeLog
from asgibench.conformance.probe.run import probe_server

SERVER_DATE = b"Mon, 07 Nov 1994 08:49:37 GMT"
KEPT_BODY = 1024 * 1024  # the broken server loses every body byte past this


def _found(findings: list[ServerFinding], check: str) -> dict[str, ServerFinding]:
    """The findings of ``check``, by case."""
    return {f.case: f for f in findings if f.check_id == check}


# -- real servers ---------------------------------------------------------------------------------------------


def test_uvicorn_chunks_to_http10_and_doubles_the_apps_date_but_pushes_back() -> None:
    names = ("scope", "http10-no-length", "app-date", "flood", "no-content-204", "h2-multiplex")
    probe = probe_server("uvicorn", cases=tuple(CASES_BY_NAME[name] for name in names), lifespans=False)
    assert probe.judgement is not None, probe.error
    findings = probe.judgement.findings
    hr16, hr17, st06 = _found(findings, "HR-16"), _found(findings, "HR-17"), _found(findings, "ST-06")
    # Chunked framing to an HTTP/1.0 request line; the 204 carries no framing header.
    assert hr16["http10-no-length"].verdict is Verdict.FAIL and "chunked" in hr16["http10-no-length"].observed
    assert hr16["no-content-204"].verdict is Verdict.PASS
    # A Date of its own on every answer, even beside the app's.
    assert hr17["scope"].verdict is Verdict.PASS
    assert hr17["app-date"].verdict is Verdict.FAIL and "2 Date lines" in hr17["app-date"].observed
    # send() waits once the socket buffers fill; all 64 MiB arrive after.
    assert st06["flood"].verdict is Verdict.INFO and st06["flood"].observed.startswith("back-pressure")
    assert "read all 64.00 MiB" in st06["flood"].observed
    # No HTTP/2: multiplexing is N/A, with the reason.
    assert next(f for f in findings if f.check_id == "HR-15").verdict is Verdict.NOT_APPLICABLE


def test_daphne_sends_no_date_and_takes_the_whole_flood_in() -> None:
    names = ("scope", "http10-no-length", "app-date", "flood")
    probe = probe_server("daphne", cases=tuple(CASES_BY_NAME[name] for name in names), lifespans=False)
    assert probe.judgement is not None, probe.error
    findings = probe.judgement.findings
    hr16, hr17, st06 = _found(findings, "HR-16"), _found(findings, "HR-17"), _found(findings, "ST-06")
    assert hr16["http10-no-length"].verdict is Verdict.PASS and "by the close" in hr16["http10-no-length"].observed
    assert hr17["scope"].verdict is Verdict.WARN and hr17["app-date"].verdict is Verdict.PASS
    assert st06["flood"].observed.startswith("no back-pressure") and "64.00 MiB" in st06["flood"].observed


@pytest.mark.parametrize("server", ["hypercorn", "granian"])
def test_h2c_servers_answer_concurrent_streams_each_on_its_own(server: str) -> None:
    probe = probe_server(server, cases=(CASES_BY_NAME["h2-multiplex"],), lifespans=False)
    assert probe.judgement is not None, probe.error
    hr15 = _found(probe.judgement.findings, "HR-15")["h2-multiplex"]
    assert hr15.verdict is Verdict.PASS, hr15
    assert "3 scopes" in hr15.observed


# -- broken servers -------------------------------------------------------------------------------------------


@contextmanager
def _serving(handler: Any) -> Iterator[int]:
    """``handler(reader, writer, port)`` served on 127.0.0.1 from a loop in a thread of its own; the port."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    port: list[int] = []

    async def main() -> asyncio.Server:
        server = await asyncio.start_server(lambda r, w: handler(r, w, port[0]), "127.0.0.1", 0)
        port.append(server.sockets[0].getsockname()[1])
        started.set()
        return server

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(main(), loop).result(5)
    started.wait(5)
    try:
        yield port[0]
    finally:

        async def stop() -> None:
            server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


class _BrokenExchange:
    """One request's receive and send: chunked framing on every answer (a 204 and HTTP/1.0 too), a second Date
    beside the app's, body bytes past KEPT_BODY lost, and no back-pressure (nothing waits for the socket)."""

    def __init__(self, writer: asyncio.StreamWriter, body: bytes) -> None:
        self.writer = writer
        self.messages = [{"type": "http.request", "body": body, "more_body": False}]
        self.written = 0

    async def receive(self) -> dict[str, Any]:
        return self.messages.pop(0) if self.messages else {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            lines = [f"HTTP/1.1 {message['status']} X".encode(), b"Transfer-Encoding: chunked"]
            for name, value in message.get("headers", []):
                if name != b"content-length":
                    lines.append(name + b": " + value)
                if name == b"date":
                    lines.append(b"Date: " + SERVER_DATE)
            self.writer.write(b"\r\n".join(lines) + b"\r\n\r\n")
        elif message["type"] == "http.response.body":
            part = message.get("body", b"")[: max(KEPT_BODY - self.written, 0)]
            self.written += len(part)
            if part:
                self.writer.write(b"%x\r\n%s\r\n" % (len(part), part))
            if not message.get("more_body", False):
                self.writer.write(b"0\r\n\r\n")


async def _framing_everywhere(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int) -> None:
    """Runs the recording app on each request, answering through _BrokenExchange; its 100 Continue is chunked
    too, and it never adds a Date of its own."""
    try:
        while True:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            method, target, version = head[0].split(" ")
            headers = [
                (name.strip().lower().encode("latin-1"), value.strip().encode("latin-1"))
                for name, _, value in (line.partition(":") for line in head[1:] if line)
            ]
            fields = dict(headers)
            if fields.get(b"expect") == b"100-continue":
                writer.write(b"HTTP/1.1 100 Continue\r\nTransfer-Encoding: chunked\r\n\r\n")
            exchange = _BrokenExchange(writer, await reader.readexactly(int(fields.get(b"content-length", b"0"))))
            scope = {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": version.removeprefix("HTTP/"),
                "method": method,
                "scheme": "http",
                "path": target,
                "raw_path": target.encode(),
                "query_string": b"",
                "root_path": "",
                "headers": headers,
                "client": ("127.0.0.1", 0),
                "server": ("127.0.0.1", port),
            }
            await recording_app.app(scope, exchange.receive, exchange.send)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


@pytest.fixture
def probe_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ProbeLog:
    path = tmp_path / "app.log"
    monkeypatch.setenv(recording_app.LOG_ENV, str(path))  # the recording app runs in this process
    return ProbeLog(path)


def test_framing_where_http_forbids_it_a_second_date_and_a_lost_body_fail(probe_log: ProbeLog) -> None:
    names = ("no-content-204", "expect-continue", "http10-no-length", "scope", "app-date", "flood")
    with _serving(_framing_everywhere) as port:
        observations = {name: CASES_BY_NAME[name].run(port, probe_log) for name in names}
    findings = judge(observations, AppRecord()).findings
    hr16, hr17, st06 = _found(findings, "HR-16"), _found(findings, "HR-17"), _found(findings, "ST-06")
    assert {case: f.verdict for case, f in hr16.items()} == {
        "no-content-204": Verdict.FAIL,
        "expect-continue": Verdict.FAIL,
        "http10-no-length": Verdict.FAIL,
    }
    assert "the 100 carries" in hr16["expect-continue"].observed
    assert hr17["scope"].verdict is Verdict.WARN
    assert hr17["app-date"].verdict is Verdict.FAIL and SERVER_DATE.decode() in hr17["app-date"].observed
    assert st06["flood"].verdict is Verdict.FAIL and "the client got 1.00 MiB" in st06["flood"].observed


async def _crossed_streams(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int) -> None:
    """h2c that answers every request at once, each with the body meant for the request after it."""
    connection = H2Connection(H2Configuration(client_side=False, header_encoding=None))
    connection.initiate_connection()
    writer.write(connection.data_to_send())
    paths: dict[int, bytes] = {}
    try:
        while data := await reader.read(65536):
            for event in connection.receive_data(data):
                if isinstance(event, h2e.RequestReceived):
                    paths[event.stream_id] = dict(event.headers)[b":path"]
            if len(paths) == 3:
                ids = sorted(paths)
                for stream_id, other in zip(ids, ids[1:] + ids[:1], strict=True):
                    connection.send_headers(stream_id, [(b":status", b"200")])
                    connection.send_data(stream_id, b"answer to " + paths[other], end_stream=True)
                paths.clear()
            writer.write(connection.data_to_send())
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


def test_answers_on_the_wrong_streams_warn_hr_15(probe_log: ProbeLog) -> None:
    with _serving(_crossed_streams) as port:
        observation = CASES_BY_NAME["h2-multiplex"].run(port, probe_log)
    hr15 = _found(judge({"h2-multiplex": observation}, AppRecord()).findings, "HR-15")["h2-multiplex"]
    assert hr15.verdict is Verdict.WARN
    assert "stream 1 (/mux/slow) got status 200, body b'answer to /mux/fast'" in hr15.observed


def test_a_scope_shared_between_streams_warns_hr_15() -> None:
    # The judge alone: the right bodies on the wire, but the app saw one request's path twice.
    streams = [(index, path, 200, b"answer to " + path, None) for index, path in ((1, b"/mux/slow"), (3, b"/mux/fast"))]
    streams.append((5, b"/mux/middle", 200, b"answer to /mux/middle", None))
    record = AppRecord()
    for at, path in enumerate(("/mux/slow", "/mux/fast", "/mux/fast")):
        record.events.append(AppEvent(float(at), "scope", {"type": "http", "path": path, "headers": []}))
    observation = Observation("h2-multiplex", record)
    observation.notes.append(f"h2-streams={streams!r}")
    hr15 = _found(judge({"h2-multiplex": observation}, AppRecord()).findings, "HR-15")["h2-multiplex"]
    assert hr15.verdict is Verdict.WARN and "3 scope(s) with paths" in hr15.observed
