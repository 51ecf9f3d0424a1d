"""SIGTERM and SIGHUP handled like Ctrl-C: the run stops, servers are stopped, what was measured is kept.

Python's default action for SIGTERM and SIGHUP ends the process without
running ``finally`` blocks, so the servers asgibench launched (in their own
session, out of reach of the signal) would be left running. Inside
``signals_as_interrupts()`` they raise ``Interrupted``, a ``KeyboardInterrupt``,
so every ``except KeyboardInterrupt`` and ``finally`` that handles Ctrl-C
handles them too. The exit code is 128 + the signal's number, as a shell
reports a process the signal ended.

A signal that was ignored when asgibench started stays ignored: ``nohup``
ignores SIGHUP, and a shell starts background jobs with SIGINT ignored, so
that closing a terminal or pressing Ctrl-C does not stop them. asgibench
keeps that promise rather than installing its own handler over it.

``held()`` keeps SIGINT, SIGTERM and SIGHUP waiting while a clean-up runs
(stopping a server), so a second signal cannot cut it short.
``loop_signals()`` is for an asyncio loop that ends its run early on any of
the three.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import FrameType
from typing import Any

# Turned into Interrupted; SIGINT already raises KeyboardInterrupt.
INTERRUPTING = (signal.SIGTERM, signal.SIGHUP)
# Kept waiting while a clean-up runs.
HELD = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
CTRL_C = "Ctrl-C"

Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


class Interrupted(KeyboardInterrupt):
    """A signal asked asgibench to stop (SIGTERM, SIGHUP): handled wherever Ctrl-C is."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)  # args stay (signum,), so it pickles
        self.signum = signum
        self.name = signal.Signals(signum).name

    def __str__(self) -> str:
        return self.name


def signal_of(interruption: BaseException | int) -> int:
    """The signal behind an interruption: an Interrupted's own, SIGINT for a plain KeyboardInterrupt."""
    if isinstance(interruption, Interrupted):
        return interruption.signum
    if isinstance(interruption, int):
        return interruption
    return signal.SIGINT


def exit_code_for(interruption: BaseException | int) -> int:
    """128 + the signal's number, as a shell reports it: Ctrl-C 130, SIGTERM 143, SIGHUP 129."""
    return 128 + signal_of(interruption)


def describe(interruption: BaseException | int) -> str:
    """A run's partial reason: "interrupted (Ctrl-C)", "interrupted (SIGTERM)"."""
    signum = signal_of(interruption)
    return f"interrupted ({CTRL_C if signum == signal.SIGINT else signal.Signals(signum).name})"


def signal_in(reason: str | None) -> int | None:
    """The signal a partial reason from ``describe`` names; None when the run was not interrupted."""
    if reason is None or not reason.startswith("interrupted"):
        return None
    name = reason.removeprefix("interrupted").strip().strip("()")
    if name.startswith("SIG") and name in signal.Signals.__members__:
        return int(signal.Signals[name])
    return signal.SIGINT  # "interrupted (Ctrl-C)", or an older wording


@dataclass
class _Watch:
    """The first signal a ``signals_as_interrupts`` context acted on; repeats are ignored after it."""

    first: int | None = None

    def claim(self, signum: int) -> bool:
        """True for the first signal, False for a repeat."""
        if self.first is not None:
            return False
        self.first = signum
        return True


_watches: list[_Watch] = []  # innermost last


def _in_main_thread() -> bool:
    # Signal handlers run, and can only be set, in the main thread.
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """SIGTERM and SIGHUP raise ``Interrupted`` inside; only the first does, so a repeat cannot cut the clean-up.

    The handlers in place before are back on the way out. Outside the main
    thread this does nothing (Python runs signal handlers only there).
    """
    if not _in_main_thread():
        yield
        return
    watch = _Watch()

    def interrupt(signum: int, frame: FrameType | None) -> None:
        if watch.claim(signum):
            raise Interrupted(signum)

    previous = _install(dict.fromkeys(_not_ignored(INTERRUPTING), interrupt))
    _watches.append(watch)
    try:
        yield
    finally:
        _watches.remove(watch)
        _restore(previous)


@contextlib.contextmanager
def held() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP wait until the block has run to its end; then the first is acted on.

    It is acted on by whichever handler is in place then (raising
    KeyboardInterrupt or Interrupted, or the default action), once the block
    is done. One that was already on its way as the block began is raised at
    its end too: the block always runs.
    """
    if not _in_main_thread():
        yield
        return
    pending: list[int] = []
    early: KeyboardInterrupt | None = None

    def record(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)

    while True:
        try:
            previous = _install(dict.fromkeys(HELD, record))
            break
        except KeyboardInterrupt as error:  # arrived before the handlers were swapped: raised after the block
            early = early or error
    try:
        yield
    finally:
        try:
            _restore(previous)
        except KeyboardInterrupt as error:
            early = early or error
        if early is not None:
            raise early
        if pending:
            signal.raise_signal(pending[0])  # repeats of it, or of others, are dropped


@contextlib.contextmanager
def loop_signals(loop: asyncio.AbstractEventLoop, stop: Callable[[str], None]) -> Iterator[None]:
    """While ``loop`` runs, SIGINT, SIGTERM and SIGHUP call ``stop(describe(signal))`` instead of raising.

    For a load run: it ends early and keeps what it measured. On the way out
    the handlers in place before are put back (asyncio's own
    ``remove_signal_handler`` would leave SIGTERM and SIGHUP to the default
    action, which ends the process without any clean-up). Call it from inside
    the running loop, in the main thread; elsewhere it does nothing.
    """
    if not _in_main_thread():
        yield
        return
    previous: dict[int, Handler] = {signum: signal.getsignal(signum) for signum in HELD}
    added: list[int] = []
    try:
        for signum in _not_ignored(HELD):
            try:
                loop.add_signal_handler(signum, _stop_on, signum, stop)
            except (RuntimeError, ValueError, NotImplementedError):  # a loop that cannot: the signal stays as it was
                continue
            added.append(signum)
        yield
    finally:
        for number in added:
            with contextlib.suppress(RuntimeError, ValueError):
                loop.remove_signal_handler(number)
        _restore({number: previous[number] for number in added})


def _not_ignored(signals: tuple[int, ...]) -> tuple[int, ...]:
    """The signals not ignored now (an ignored one was ignored by whoever started us, on purpose: nohup)."""
    return tuple(signum for signum in signals if signal.getsignal(signum) is not signal.SIG_IGN)


def _stop_on(signum: int, stop: Callable[[str], None]) -> None:
    if _watches:
        _watches[-1].claim(signum)  # a repeat after the loop has ended is then ignored, not raised
    stop(describe(signum))


def _install(handlers: Mapping[int, Handler]) -> dict[int, Handler]:
    """Set ``handlers``; the ones they replace. Either all are set or, when a signal interrupts, none."""
    previous: dict[int, Handler] = {}
    try:
        for signum, handler in handlers.items():
            previous[signum] = signal.getsignal(signum)  # read first: signal.signal may raise before it returns
            signal.signal(signum, handler)
    except BaseException:
        _restore(previous)
        raise
    return previous


def _restore(previous: Mapping[int, Handler]) -> None:
    """Put every handler back, even when a signal interrupts (then it is raised once all are back)."""
    first: KeyboardInterrupt | None = None
    for signum, handler in previous.items():
        while True:
            try:
                # signal.signal runs pending handlers first: one of those already put back may raise.
                signal.signal(signum, signal.SIG_DFL if handler is None else handler)
                break
            except KeyboardInterrupt as error:
                first = first or error
    if first is not None:
        raise first
