"""Reading a file the user named, whole, with a size limit: a UsageError (exit 2) naming it for anything wrong.

``read_bytes_bounded(path, limit=..., option=None) -> bytes``
``read_text_bounded(path, limit=..., option=None) -> str`` (UTF-8)

At most ``limit + 1`` bytes are read, so ``/dev/zero``, ``/dev/urandom`` or a
runaway FIFO stops at the limit instead of filling memory. The UsageError's
message names the file (after ``option``, such as ``--scenario``, when given)
and says why: the OS's reason it cannot be read, that it is a directory, that
it is larger than the limit (and what the limit is), or the byte offset of
the first byte that is not UTF-8.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from asgibench.errors import UsageError

MIB = 1024 * 1024
# Result and comparison files: a 10-minute run with a timeline row per second and
# per-name histograms is a few MiB; 256 MiB leaves room for hours of timeline.
RESULT_FILE_LIMIT = 256 * MIB
# A scenario file (--scenario) is hand-written TOML: 16 MiB is already absurd.
SCENARIO_FILE_LIMIT = 16 * MIB
# A request body (--body-file) is held in memory and sent many times over: 256 MiB.
BODY_FILE_LIMIT = 256 * MIB


def read_bytes_bounded(path: str | Path, *, limit: int, option: str | None = None) -> bytes:
    """The bytes of ``path``, at most ``limit`` of them; a UsageError naming the file (and ``option``) otherwise."""
    where = _where(path, option)
    try:
        with open(path, "rb") as source:
            status = os.fstat(source.fileno())
            # A regular file says its size: refuse a large one without reading it.
            too_large = stat.S_ISREG(status.st_mode) and status.st_size > limit
            # limit + 1: for a device or a pipe, one byte more than allowed proves it too large.
            data = b"" if too_large else source.read(limit + 1)
    except IsADirectoryError:
        raise UsageError(f"{where} is a directory, not a file.") from None
    except OSError as error:
        raise UsageError(f"Cannot read {where}: {error.strerror or error}.") from None
    if too_large or len(data) > limit:
        raise UsageError(f"{where} is larger than {describe_size(limit)}, the most asgibench reads from it.")
    return data


def read_text_bounded(path: str | Path, *, limit: int, option: str | None = None) -> str:
    """The text of ``path`` decoded as UTF-8 (see ``read_bytes_bounded``); not UTF-8 is a UsageError with the offset."""
    data = read_bytes_bounded(path, limit=limit, option=option)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        offending = f"0x{data[error.start]:02x}"
        raise UsageError(
            f"{_where(path, option)} is not UTF-8 text: the byte at offset {error.start} ({offending}) is invalid."
        ) from None


def describe_size(size: int) -> str:
    """A byte count as people say it: 256 MiB, 16 KiB, 100 bytes."""
    for unit, factor in (("GiB", MIB * 1024), ("MiB", MIB), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size:,} bytes"


def _where(path: str | Path, option: str | None) -> str:
    return f"{option} {str(path)!r}" if option else repr(str(path))
