"""How the supervisor and a load worker talk, whatever the worker runs in.

A channel carries message dicts both ways (``ready``, ``go``, ``interval``,
``failed``, ``done``, ``stop``: see ``asgibench.load.worker``). The supervisor
holds one per worker and waits on all of them at once with ``wait_any``, so
one loop in ``asgibench.load.runner`` serves every transport:

- ``ProcessWorker``: a fresh interpreter per worker, for ``--workers N``;
- ``ThreadWorker``: the one worker of ``--workers 1``, on its own event loop in
  a thread of this process, so that no second interpreter is started (the
  generator is judged on requests per CPU-second, start-up included).

Both are a socket pair carrying messages pickled by multiprocessing's
``Connection``. For the thread a ``queue.Queue`` would spare the pickling,
but a queue has nothing to ``select`` on: beside process workers' sockets
the loop would have to poll the queue and the sockets in turn, or keep a
second loop for one worker. With a socket each worker is one more file
descriptor in a single ``wait``, and the worker's side is the same too (its
event loop watches its end with ``add_reader``). The pickling costs one
interval a second. A shard on a Dask cluster (``asgibench.cluster``) is
the same: a socket here, whose far end a thread pumps over the cluster.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Mapping
from multiprocessing.connection import Connection, wait
from typing import Any, Protocol

from asgibench.load.config import LoadConfig

Message = dict[str, Any]

CLOSE_WAIT = 5.0  # seconds a worker gets to end once its channel is closed; then it is killed or left behind


class Channel(Protocol):
    """One end of the message stream between the supervisor and one worker."""

    def send(self, message: Message) -> None:
        """Send one message; OSError when the other end is gone."""

    def recv(self) -> Message:
        """The next message, waiting for it; EOFError (or OSError) once the other end is gone."""

    def fileno(self) -> int:
        """A descriptor that is readable when a message (or the end of the stream) is waiting."""

    def close(self) -> None:
        """Let go of this end. The supervisor's also ends the worker: it takes the end of the stream as ``stop``,
        and is waited for (at most ``CLOSE_WAIT`` seconds), so nothing is left running after a run."""


def wait_any(channels: Mapping[int, Channel], timeout: float | None) -> list[int]:
    """The keys of the channels that have something to read, after waiting at most ``timeout`` seconds.

    Signals interrupt the wait (Ctrl-C raises KeyboardInterrupt here, in the main thread).
    """
    workers = {channel.fileno(): worker for worker, channel in channels.items()}
    return [workers[ready] for ready in wait(list(workers), timeout) if isinstance(ready, int)]


class SocketChannel:
    """A channel over one end of a socket pair, messages pickled by ``multiprocessing.connection``."""

    def __init__(self, fileno: int) -> None:
        self._connection: Connection[Message, Message] = Connection(fileno)

    def send(self, message: Message) -> None:
        self._connection.send(message)

    def recv(self) -> Message:
        return self._connection.recv()

    def fileno(self) -> int:
        return self._connection.fileno()

    @property
    def connection(self) -> Connection[Message, Message]:
        """The connection itself, for a pump that forwards its messages as bytes (asgibench.cluster.pump)."""
        return self._connection

    def close(self) -> None:
        self._connection.close()


def worker_end(fileno: int) -> Channel:
    """The worker's end of a process worker's channel, from the descriptor it was given."""
    return SocketChannel(fileno)


class ProcessWorker(SocketChannel):
    """A worker in a fresh interpreter running ``asgibench.load.worker``, joined to us by a socket pair.

    A plain subprocess rather than multiprocessing: spawning re-imports the
    caller's main module, which breaks scripts that call ``run_load`` without
    an ``if __name__ == "__main__"`` guard. Its orders (config, index, CPU)
    are its first message.
    """

    def __init__(self, config: LoadConfig, worker: int, cpu: int | None) -> None:
        ours, theirs = socket.socketpair()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "asgibench.load.worker", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()  # the child has its copy; ours would keep the stream open after the child's end
        super().__init__(ours.detach())
        try:
            self.send({"config": config, "worker": worker, "workers": config.workers, "cpu": cpu})
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        super().close()
        try:
            self.process.wait(timeout=CLOSE_WAIT)
        except subprocess.TimeoutExpired:  # hung: it would keep its connections and CPU
            self.process.kill()
            self.process.wait()


class ThreadWorker(SocketChannel):
    """The one worker of a one-worker run, on its own event loop (uvloop) in a thread of this process.

    The main thread keeps supervising, so Ctrl-C, SIGTERM and SIGHUP (which
    Python delivers there only) reach the supervisor, which sends ``stop``;
    the worker thread obeys messages alone. The thread is a daemon: one that
    does not end within ``CLOSE_WAIT`` of ``close`` is left behind rather
    than keeping the process alive at exit.
    """

    def __init__(self, config: LoadConfig) -> None:
        from asgibench.load.worker import serve  # the worker's modules (the drivers) load only for a run

        ours, theirs = socket.socketpair()
        super().__init__(ours.detach())
        end = SocketChannel(theirs.detach())  # the thread's own, closed by serve() as it ends
        self._thread = threading.Thread(
            target=serve, args=(config, 0, 1, end), name="asgibench load worker 0", daemon=True
        )
        try:
            self._thread.start()
        except BaseException:
            end.close()
            super().close()
            raise

    def close(self) -> None:
        super().close()
        self._thread.join(CLOSE_WAIT)
