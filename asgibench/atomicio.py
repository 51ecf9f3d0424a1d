"""Write files so a reader never sees half of one (temp file, fsync, rename)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from asgibench.errors import UsageError


def check_writable(path: str | Path, *, option: str = "") -> Path:
    """The directory ``path`` will be written into; a UsageError naming the option when it does not exist.

    Called before long work starts, so a typo in an output path fails at once rather than after the run.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        flag = f"{option} " if option else ""
        raise UsageError(f"Cannot write {flag}{str(target)!r}: directory {str(directory)!r} does not exist.")
    return directory


def write_text_atomic(path: str | Path, text: str, *, option: str = "") -> None:
    target = Path(path)
    directory = check_writable(target, option=option)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
