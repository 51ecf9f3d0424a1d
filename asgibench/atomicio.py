"""Output files that never lose a run: checked before the work, written whole or not at all, saved elsewhere if need be.

Every output flag (``--json``, ``--junit``, ``--md``, ``--html``, ``--out``, ``--hdr-log``) goes through here.

``check_output(path, *, option, allow_stdout=False)``
    Call before any work starts. ``-`` is standard output, accepted only with ``allow_stdout``.
    A UsageError (exit 2) naming the flag, the path and why refuses: a parent directory that does
    not exist, a path that is a directory, one that is not a regular file (device node, FIFO,
    socket: asgibench never replaces those), a directory no file can be created in (tried for
    real, with a temporary file, since permission bits lie to root).

``write_output(path, text, *, option)``
    ``-`` writes ``text`` to ``sys.stdout``. Anything else goes to a temporary file beside the
    target, is fsynced, gets the mode the target would have had (the replaced file's, else
    ``0o666 & ~umask``) and is renamed over the target, which is checked once more just before
    (a device node may have appeared meanwhile). Any OSError is an ``OutputError`` (exit 2) whose
    message names the flag, the path and the OS's reason; the temporary file never stays behind.

``AtomicFile(path, *, option)``
    The same for a writer that streams (the ``--hdr-log``): ``write`` as it goes, then ``commit()``
    (raises the OutputError) or ``discard()``. A failed ``write`` does not raise: it stops writing
    and ``commit`` reports it, so a full disk never interrupts a run in the middle.

``save_fallback(text, *, stem, suffix=".json") -> Path | None``
    Text that could not be written where asked, saved to ``<stem>-<YYYYmmdd-HHMMSS>[-N]<suffix>``
    in the current directory, else in the temporary directory; None when neither worked. Never raises.

``rescued(error, text, *, stem, suffix=".json", what="result") -> OutputError``
    ``save_fallback`` plus the message to print: "could not write --json 'x.json' (No space left on
    device); the result was saved to /here/asgibench-result-20250101-120000.json instead".

``write_or_save(path, text, *, option, stem, suffix=".json", what="result") -> OutputError | None``
    ``write_output``, then ``rescued`` when it failed: None when written, else the error to print
    (after the summary) before exiting with its code, 2.

``write_each(outputs, *, stem, what) -> list[OutputError]``
    ``write_or_save`` for each (path, option, text, suffix), even after one failed: the failures.

A command that must not lose its run (``asgibench load --json FILE|-``)::

    check_output(json_path, option="--json", allow_stdout=True)  # before the run
    ...                                                           # the run, the summary printed
    write_result(json_path, result)  # raises an OutputError that already says where the result went
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from asgibench.errors import OutputError, UsageError

STDOUT = "-"
_NOT_REGULAR = "it exists and is not a regular file; asgibench only replaces regular files"
_IS_DIRECTORY = "it is a directory"


def check_output(path: str | Path, *, option: str, allow_stdout: bool = False) -> None:
    """Refuse, before any work, an output ``path`` that could not be written (see the module docstring)."""
    if str(path) == STDOUT:
        if not allow_stdout:
            raise UsageError(f"Cannot write {option} -: {option} takes a file path, not standard output.")
        return
    target = Path(path)
    directory = target.parent
    if not directory.is_dir():
        missing = "is not a directory" if directory.exists() else "does not exist"
        raise UsageError(f"Cannot write {option} {str(target)!r}: directory {str(directory)!r} {missing}.")
    try:
        refusal = _refusal(os.stat(target))
    except FileNotFoundError:
        refusal = None
    except OSError as error:
        raise UsageError(f"Cannot write {option} {str(target)!r}: {_reason(error)}.") from None
    if refusal == _IS_DIRECTORY:
        raise UsageError(f"Cannot write {option} {str(target)!r}: {refusal}.", hint="Give a file path inside it.")
    if refusal is not None:
        hint = f"For standard output, use {option} -." if allow_stdout else None
        raise UsageError(f"Cannot write {option} {str(target)!r}: {refusal}.", hint=hint)
    try:
        handle, probe = tempfile.mkstemp(prefix=_prefix(target), suffix=".probe", dir=directory)
    except OSError as error:
        raise UsageError(
            f"Cannot write {option} {str(target)!r}: no file can be created in directory {str(directory)!r} "
            f"({_reason(error)})."
        ) from None
    os.close(handle)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def write_output(path: str | Path, text: str, *, option: str) -> None:
    """``text`` to standard output (``-``) or atomically to ``path``; an OutputError naming the flag if that fails."""
    if str(path) == STDOUT:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except OSError as error:
            raise _output_error(option, STDOUT, _reason(error)) from None
        return
    output = AtomicFile(path, option=option)
    output.write(text)
    output.commit()


class AtomicFile:
    """A text file written beside ``path`` and renamed over it by ``commit``; ``discard`` drops it."""

    def __init__(self, path: str | Path, *, option: str) -> None:
        self.path = Path(path)
        self.option = option
        self._failure: OSError | None = None
        try:
            self._handle, name = tempfile.mkstemp(prefix=_prefix(self.path), dir=self.path.parent)
        except OSError as error:
            raise _output_error(option, str(self.path), _reason(error)) from None
        self.temporary = Path(name)

    def write(self, text: str) -> int:
        """Append ``text``; after a failure (a full disk) further text is dropped and ``commit`` raises."""
        if self._failure is None and self._handle >= 0:
            try:
                _write_all(self._handle, text.encode("utf-8"))
            except OSError as error:
                self._failure = error
        return len(text)

    def commit(self) -> None:
        """Make the file whole at ``path``; any failure is an OutputError and leaves no temporary file."""
        if self._handle < 0:  # committed or discarded already
            return
        try:
            if self._failure is not None:
                raise self._failure
            os.fsync(self._handle)
            # Checked as late as possible: a device node that appeared since check_output must survive.
            try:
                existing = os.stat(self.path)
            except FileNotFoundError:
                mode = 0o666 & ~_umask()
            else:
                refusal = _refusal(existing)
                if refusal is not None:
                    self.discard()
                    raise _output_error(self.option, str(self.path), refusal)
                mode = stat.S_IMODE(existing.st_mode)
            os.fchmod(self._handle, mode)
            os.close(self._handle)
            self._handle = -1
            os.replace(self.temporary, self.path)
        except OSError as error:
            self.discard()
            raise _output_error(self.option, str(self.path), _reason(error)) from None

    def discard(self) -> None:
        if self._handle >= 0:
            with contextlib.suppress(OSError):
                os.close(self._handle)
            self._handle = -1
        with contextlib.suppress(OSError):
            self.temporary.unlink(missing_ok=True)


def save_fallback(text: str, *, stem: str, suffix: str = ".json") -> Path | None:
    """``text`` in a new ``<stem>-<YYYYmmdd-HHMMSS>[-N]<suffix>`` here, else in the temp directory; never raises."""
    data = text.encode("utf-8", errors="replace")
    stamp = _timestamp()
    for directory in _fallback_directories():
        for attempt in range(1000):
            candidate = directory / f"{stem}-{stamp}{f'-{attempt}' if attempt else ''}{suffix}"
            try:
                handle = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
            except FileExistsError:
                continue
            except OSError:
                break
            try:
                _write_all(handle, data)
                os.fsync(handle)
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(candidate)
                break
            finally:
                os.close(handle)
            return candidate
    return None


def rescued(error: OutputError, text: str, *, stem: str, suffix: str = ".json", what: str = "result") -> OutputError:
    """``text`` saved with ``save_fallback``; the OutputError to report, saying what failed and where the text went."""
    saved = save_fallback(text, stem=stem, suffix=suffix)
    where = f"the {what} was saved to {saved} instead" if saved else f"the {what} could not be saved anywhere else"
    message = f"could not write {_describe(error.option, error.path)} ({error.reason}); {where}"
    return OutputError(message, option=error.option, path=error.path, reason=error.reason, saved=saved)


def write_or_save(
    path: str | Path, text: str, *, option: str, stem: str, suffix: str = ".json", what: str = "result"
) -> OutputError | None:
    """``write_output``; when that fails, ``text`` saved elsewhere and the OutputError to print (None: written)."""
    try:
        write_output(path, text, option=option)
    except OutputError as error:
        return rescued(error, text, stem=stem, suffix=suffix, what=what)
    return None


def write_each(outputs: Sequence[tuple[str | Path, str, str, str]], *, stem: str, what: str) -> list[OutputError]:
    """Each (path, option, text, suffix) written with ``write_or_save``, even after another failed; the failures."""
    failures = []
    for path, option, text, suffix in outputs:
        failure = write_or_save(path, text, option=option, stem=stem, suffix=suffix, what=what)
        if failure is not None:
            failures.append(failure)
    return failures


def _refusal(existing: os.stat_result) -> str | None:
    if stat.S_ISDIR(existing.st_mode):
        return _IS_DIRECTORY
    if not stat.S_ISREG(existing.st_mode):
        return _NOT_REGULAR
    return None


def _output_error(option: str, path: str, reason: str) -> OutputError:
    return OutputError(f"Cannot write {_describe(option, path)}: {reason}.", option=option, path=path, reason=reason)


def _describe(option: str, path: str) -> str:
    return f"{option} - (standard output)" if path == STDOUT else f"{option} {path!r}"


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


def _prefix(target: Path) -> str:
    # Bounded so the temporary name stays under NAME_MAX whenever the target's own name fits.
    return f".{target.name[:64]}."


def _write_all(handle: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(handle, view) :]


def _umask() -> int:
    # /proc says it without changing it; os.umask can only read it by setting it, racing other threads.
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _timestamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def _fallback_directories() -> list[Path]:
    directories: list[Path] = []
    for where in (os.getcwd, tempfile.gettempdir):
        try:
            directory = Path(where()).absolute()
        except OSError:
            continue
        if directory not in directories:
            directories.append(directory)
    return directories
