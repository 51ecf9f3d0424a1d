"""Who blocked the event loop: the loop thread's stack, sampled while the loop is late.

The app's loop runs on a thread of its own and beats a heartbeat every few
milliseconds. The supervising thread polls; when the heartbeat is late, the
loop is stuck in synchronous code, and ``sys._current_frames()`` shows where.
The frame reported is the innermost one of the app's own code (not the
standard library, not an installed package, not asgibench), else the
innermost one of an installed package: the line that made the blocking call.
"""

from __future__ import annotations

import linecache
import os
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import asgibench

# The heartbeat counts as late (the loop is stuck) past this.
LATE_AFTER = 0.1
# How often the supervisor looks while it waits for a step.
SAMPLE_EVERY = 0.02

_ASGIBENCH = str(Path(asgibench.__file__).resolve().parent)
_STDLIB = tuple({str(Path(sysconfig.get_paths()[key]).resolve()) for key in ("stdlib", "platstdlib")})
_PACKAGES = tuple({str(Path(sysconfig.get_paths()[key]).resolve()) for key in ("purelib", "platlib")})


@dataclass(frozen=True, slots=True)
class BlockingCall:
    where: str  # "app.py:42 in handler: time.sleep(1)"
    lateness: float  # how late the loop was when the stack was sampled


def sample(thread_ident: int | None, lateness: float) -> BlockingCall | None:
    """Where the loop thread is stuck right now, or None when it is not in app or library code."""
    if thread_ident is None:
        return None
    frame = sys._current_frames().get(thread_ident)
    where = blocking_frame(frame)
    return BlockingCall(where, lateness) if where else None


def blocking_frame(frame: FrameType | None) -> str | None:
    """The innermost frame of the app's own code (else of a package) on a stack, rendered."""
    own: FrameType | None = None
    package: FrameType | None = None
    while frame is not None:
        kind = _kind(frame.f_code.co_filename)
        if kind == "own" and own is None:
            own = frame
        elif kind == "package" and package is None:
            package = frame
        frame = frame.f_back
    chosen = own or package
    return _render(chosen) if chosen is not None else None


def _kind(filename: str) -> str:
    if filename.startswith("<"):
        return "internal"  # <frozen ...>, <string>
    path = str(Path(filename).resolve())
    if path.startswith(_ASGIBENCH):
        return "internal"
    if path.startswith(_PACKAGES):
        return "package"
    if path.startswith(_STDLIB):
        return "internal"
    return "own"


def _render(frame: FrameType) -> str:
    filename = frame.f_code.co_filename
    try:
        shown = os.path.relpath(filename)
    except ValueError:  # another drive, on Windows
        shown = filename
    if shown.startswith(".."):
        shown = filename
    line = linecache.getline(filename, frame.f_lineno).strip()
    text = f"{shown}:{frame.f_lineno} in {frame.f_code.co_name}"
    return f"{text}: {line}" if line else text
