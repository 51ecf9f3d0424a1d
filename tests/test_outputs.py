"""Outputs that never lose a run: refused before the work, written whole with the right mode, saved elsewhere.

Unit tests of asgibench.atomicio, then the CLI as a user runs it. A full disk
is simulated by failing every write(2) into one directory, so the fallback in
another directory still works; the refusals are real (as root too).
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from asgibench import atomicio
from asgibench.atomicio import AtomicFile, check_output, rescued, save_fallback, write_or_save, write_output
from asgibench.cli import app
from asgibench.errors import OutputError, UsageError
from asgibench.load.aggregate import Second
from asgibench.load.observers import IntervalLog
from asgibench.report import write_reports
from asgibench.results import write_result
from tests.loadkit import ROOT, asgibench, uvicorn

STORED_RESULT = ROOT / "tests" / "data" / "result-v1.json"
NO_SPACE = os.strerror(errno.ENOSPC)  # "No space left on device"
STAMP = "20250102-030405"


def squashed(text: str) -> str:
    """``text`` without whitespace: Rich may wrap a long path anywhere in a message."""
    return "".join(text.split())


def is_character_device(path: str) -> bool:
    return stat.S_ISCHR(os.stat(path).st_mode)


@pytest.fixture
def umask() -> Iterator[None]:
    """Each test that sets the umask gets the process's back."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield
    os.umask(previous)


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current directory, where fallbacks go; apart from the output directory."""
    directory = tmp_path / "cwd"
    directory.mkdir()
    monkeypatch.chdir(directory)
    monkeypatch.setattr(atomicio, "_timestamp", lambda: STAMP)
    return directory


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    directory = tmp_path / "out"
    directory.mkdir()
    return directory


def fill_disk(monkeypatch: pytest.MonkeyPatch, directory: Path, *, only: str = "") -> None:
    """Every write(2) to a file in ``directory`` (named with ``only``) fails as on a full disk; others are written."""
    real_write = os.write

    def write(handle: int, data: bytes | memoryview) -> int:
        try:
            where = os.readlink(f"/proc/self/fd/{handle}")
        except OSError:
            where = ""
        if where.startswith(f"{directory}/") and only in os.path.basename(where):
            raise OSError(errno.ENOSPC, NO_SPACE)
        return real_write(handle, data)

    monkeypatch.setattr(os, "write", write)


# check_output: refused before any work, with the flag, the path and why


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "result.json"
    with pytest.raises(UsageError) as caught:
        check_output(target, option="--json")
    assert "--json" in caught.value.message and str(target) in caught.value.message
    assert "does not exist" in caught.value.message


def test_an_existing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        check_output(tmp_path, option="--junit")
    assert caught.value.message == f"Cannot write --junit {str(tmp_path)!r}: it is a directory."


@pytest.mark.parametrize("allow_stdout", [False, True])
def test_a_device_node_is_refused_and_stdout_suggested_where_allowed(allow_stdout: bool) -> None:
    with pytest.raises(UsageError) as caught:
        check_output("/dev/null", option="--json", allow_stdout=allow_stdout)
    message = caught.value.message
    assert "--json '/dev/null'" in message and "exists and is not a regular file" in message
    assert "asgibench only replaces regular files" in message
    assert (caught.value.hint is not None and "--json -" in caught.value.hint) is allow_stdout


def test_a_fifo_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="not a regular file"):
        check_output(fifo, option="--md")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


@pytest.mark.parametrize("directory", ["/proc/self", "/sys"])
def test_a_directory_where_no_file_can_be_created_is_refused_even_as_root(directory: str) -> None:
    target = f"{directory}/result.json"
    with pytest.raises(UsageError) as caught:
        check_output(target, option="--html")
    assert f"--html {target!r}" in caught.value.message
    assert f"no file can be created in directory {directory!r}" in caught.value.message


def test_the_check_leaves_nothing_behind(tmp_path: Path) -> None:
    check_output(tmp_path / "result.json", option="--json")
    (tmp_path / "old.json").write_text("{}")
    check_output(tmp_path / "old.json", option="--json")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["old.json"]


def test_stdout_is_accepted_only_where_allowed() -> None:
    check_output("-", option="--json", allow_stdout=True)
    check_output(Path("-"), option="--json", allow_stdout=True)
    with pytest.raises(UsageError, match="--junit takes a file path"):
        check_output("-", option="--junit")


# write_output: whole or not at all, with the mode the file would have had


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_a_new_file_honours_the_umask(tmp_path: Path, umask: None, mask: int, mode: int) -> None:
    os.umask(mask)
    target = tmp_path / "result.json"
    write_output(target, "{}\n", option="--json")
    assert target.read_text() == "{}\n"
    assert stat.S_IMODE(os.stat(target).st_mode) == mode


def test_the_umask_is_read_even_without_proc(tmp_path: Path, umask: None, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_proc(*args: object, **kwargs: object) -> None:
        raise FileNotFoundError(errno.ENOENT, "no /proc here")

    monkeypatch.setattr(atomicio, "open", no_proc, raising=False)
    os.umask(0o077)
    write_output(tmp_path / "result.json", "{}", option="--json")
    assert stat.S_IMODE(os.stat(tmp_path / "result.json").st_mode) == 0o600
    assert os.umask(0o077) == 0o077  # the fallback put the umask back


def test_a_replaced_file_keeps_its_mode(tmp_path: Path, umask: None) -> None:
    os.umask(0o022)
    target = tmp_path / "report.md"
    target.write_text("old")
    target.chmod(0o600)
    write_output(target, "new", option="--md")
    assert target.read_text() == "new" and stat.S_IMODE(os.stat(target).st_mode) == 0o600


def test_a_device_node_is_never_replaced() -> None:
    with pytest.raises(OutputError) as caught:
        write_output("/dev/null", "{}", option="--json")
    assert caught.value.option == "--json" and caught.value.path == "/dev/null"
    assert "not a regular file" in caught.value.message
    assert is_character_device("/dev/null")


def test_a_fifo_that_appears_during_the_run_is_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    check_output(target, option="--json")
    output = AtomicFile(target, option="--json")
    output.write("{}")
    os.mkfifo(target)  # created after the check, before the rename
    with pytest.raises(OutputError, match="not a regular file"):
        output.commit()
    assert stat.S_ISFIFO(os.stat(target).st_mode)
    assert [path.name for path in tmp_path.iterdir()] == ["result.json"]


def test_a_full_disk_is_an_output_error_and_leaves_nothing_behind(
    outputs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = outputs / "result.json"
    target.write_text("the previous run")
    fill_disk(monkeypatch, outputs)
    with pytest.raises(OutputError) as caught:
        write_output(target, "x" * 100_000, option="--json")
    error = caught.value
    assert error.message == f"Cannot write --json {str(target)!r}: {NO_SPACE}."
    assert error.exit_code == 2 and error.reason == NO_SPACE
    assert [path.name for path in outputs.iterdir()] == ["result.json"]
    assert target.read_text() == "the previous run"


def test_a_failing_fsync_is_an_output_error_too(outputs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fsync(handle: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OutputError, match=os.strerror(errno.EIO)):
        write_output(outputs / "report.html", "<html>", option="--html")
    assert list(outputs.iterdir()) == []


def test_dash_writes_to_standard_output(capsys: pytest.CaptureFixture[str]) -> None:
    write_output("-", '{"schema": 1}\n', option="--json")
    assert capsys.readouterr().out == '{"schema": 1}\n'


def test_a_closed_standard_output_is_an_output_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class ClosedPipe:
        def write(self, text: str) -> int:
            raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))

        def flush(self) -> None:
            pass

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    with pytest.raises(OutputError) as caught:
        write_output("-", "{}", option="--json")
    assert caught.value.message == f"Cannot write --json - (standard output): {os.strerror(errno.EPIPE)}."


# save_fallback and rescued: the text lands somewhere, and the message says where


def test_fallbacks_are_named_by_time_and_never_overwrite(elsewhere: Path) -> None:
    first = save_fallback("one", stem="asgibench-result")
    second = save_fallback("two", stem="asgibench-result")
    third = save_fallback("three", stem="asgibench-result", suffix=".md")
    assert first == elsewhere / f"asgibench-result-{STAMP}.json" and first.read_text() == "one"
    assert second == elsewhere / f"asgibench-result-{STAMP}-1.json" and second.read_text() == "two"
    assert third == elsewhere / f"asgibench-result-{STAMP}.md"


def test_fallback_goes_to_the_temporary_directory_when_here_is_not_writable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir("/sys")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    saved = save_fallback("kept", stem="asgibench-gate")
    assert saved is not None and saved.parent == tmp_path and saved.read_text() == "kept"


def test_fallback_says_none_when_nowhere_works(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/sys")
    monkeypatch.setattr(tempfile, "tempdir", "/proc/self")
    assert save_fallback("lost", stem="asgibench-gate") is None


def test_rescued_names_the_flag_the_reason_and_where_the_text_went(elsewhere: Path) -> None:
    failure = OutputError("Cannot write.", option="--json", path="/data/r.json", reason=NO_SPACE)
    rescue = rescued(failure, "{}", stem="asgibench-result")
    saved = elsewhere / f"asgibench-result-{STAMP}.json"
    assert rescue.message == (
        f"could not write --json '/data/r.json' ({NO_SPACE}); the result was saved to {saved} instead"
    )
    assert rescue.saved == saved and rescue.exit_code == 2


def test_write_or_save_returns_none_when_written(outputs: Path, elsewhere: Path) -> None:
    assert write_or_save(outputs / "r.xml", "<x/>", option="--junit", stem="s", suffix=".xml") is None
    assert (outputs / "r.xml").read_text() == "<x/>" and list(elsewhere.iterdir()) == []


def test_a_result_that_cannot_be_written_is_saved_elsewhere(
    outputs: Path, elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill_disk(monkeypatch, outputs)
    result = {"schema": "asgibench.result/1", "summary": {"requests": 3}}
    with pytest.raises(OutputError) as caught:
        write_result(outputs / "result.json", result)
    saved = elsewhere / f"asgibench-result-{STAMP}.json"
    assert caught.value.saved == saved and json.loads(saved.read_text()) == result
    assert f"could not write --json {str(outputs / 'result.json')!r} ({NO_SPACE})" in caught.value.message
    assert list(outputs.iterdir()) == []


# IntervalLog (--hdr-log): the same checks, mode and refusal; a full disk surfaces at close, not mid-run


def test_the_interval_log_refuses_a_device_node() -> None:
    with pytest.raises(UsageError, match="--hdr-log '/dev/null'"):
        IntervalLog(Path("/dev/null"), 0.0)
    assert is_character_device("/dev/null")


def test_the_interval_log_is_written_with_the_umask_mode(outputs: Path, umask: None) -> None:
    os.umask(0o027)
    log = IntervalLog(outputs / "run.hlog", 1_700_000_000.0)
    second = Second(index=0, start=0.0, end=1.0)
    second.latency.record_value(1500)
    log.on_second(second)
    log.close()
    text = (outputs / "run.hlog").read_text()
    assert "#[StartTime: 1700000000.000" in text and text.count("\n") >= 5
    assert stat.S_IMODE(os.stat(outputs / "run.hlog").st_mode) == 0o640
    assert [path.name for path in outputs.iterdir()] == ["run.hlog"]


def test_a_full_disk_during_the_run_fails_the_interval_log_at_close(
    outputs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = IntervalLog(outputs / "run.hlog", 0.0)
    fill_disk(monkeypatch, outputs)
    log.on_second(Second(index=0, start=0.0, end=1.0))  # does not raise: the run goes on
    with pytest.raises(OutputError) as caught:
        log.close()
    assert caught.value.message == f"Cannot write --hdr-log {str(outputs / 'run.hlog')!r}: {NO_SPACE}."
    assert list(outputs.iterdir()) == []


# The CLI as a user runs it: refused up front, exit 2, the flag and path named, no traceback, devices intact


def assert_refused(run_stderr: str, returncode: int, option: str, path: str) -> None:
    assert returncode == 2, run_stderr
    assert "Traceback" not in run_stderr
    assert f"{option}'{path}'" in squashed(run_stderr), run_stderr


def test_report_html_onto_dev_full_is_refused() -> None:
    done = asgibench("report", str(STORED_RESULT), "--html", "/dev/full")
    assert_refused(done.stderr, done.returncode, "--html", "/dev/full")
    assert "notaregularfile" in squashed(done.stderr)
    assert is_character_device("/dev/full")


def test_report_html_where_no_file_can_be_created_is_refused() -> None:
    done = asgibench("report", str(STORED_RESULT), "--html", "/proc/self/x.html")
    assert_refused(done.stderr, done.returncode, "--html", "/proc/self/x.html")
    assert "nofilecanbecreated" in squashed(done.stderr)


def test_gate_json_onto_a_directory_is_refused(tmp_path: Path) -> None:
    done = asgibench("gate", str(STORED_RESULT), str(STORED_RESULT), "--json", str(tmp_path))
    assert_refused(done.stderr, done.returncode, "--json", str(tmp_path))
    assert "isadirectory" in squashed(done.stderr) and tmp_path.is_dir()


def test_conform_json_onto_dev_null_is_refused_before_running() -> None:
    done = asgibench("conform", "reference_apps.raw_app:app", "--json", "/dev/null")
    assert_refused(done.stderr, done.returncode, "--json", "/dev/null")
    assert done.stdout == ""  # refused before the suite ran
    assert is_character_device("/dev/null")


# A full disk at the end: the summary is printed anyway, the text saved elsewhere, exit 2


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real 1 s run of uvicorn, as ``asgibench load --json`` writes it."""
    out = tmp_path_factory.mktemp("measured") / "result.json"
    with uvicorn() as (url, _):
        done = asgibench("load", url, "--rate", "50", "--duration", "1s", "--warmup", "0.5s", "-q", "--json", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def test_report_saves_what_it_could_not_write_and_exits_two(
    measured: Path, outputs: Path, elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill_disk(monkeypatch, outputs)
    done = CliRunner().invoke(
        app, ["report", str(measured), "--md", str(outputs / "r.md"), "--html", str(outputs / "r.html")]
    )
    assert done.exit_code == 2, done.output
    saved_md, saved_html = elsewhere / f"asgibench-report-{STAMP}.md", elsewhere / f"asgibench-report-{STAMP}.html"
    text = squashed(done.output)
    assert f"couldnotwrite--md'{outputs / 'r.md'}'" in text and squashed(str(saved_md)) in text
    assert f"couldnotwrite--html'{outputs / 'r.html'}'" in text and squashed(str(saved_html)) in text
    assert "<html" in saved_html.read_text() and saved_md.read_text().startswith("#")
    assert list(outputs.iterdir()) == []


def test_write_reports_writes_one_report_when_only_the_other_fails(
    measured: Path, outputs: Path, elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill_disk(monkeypatch, outputs, only=".r.html.")  # the temporary file beside r.html
    with pytest.raises(OutputError) as caught:
        write_reports([measured], markdown=outputs / "r.md", html=outputs / "r.html", title="t")
    saved = elsewhere / f"asgibench-report-{STAMP}.html"
    assert caught.value.option == "--html" and caught.value.saved == saved and "<html" in saved.read_text()
    assert [path.name for path in outputs.iterdir()] == ["r.md"]


def test_gate_prints_the_verdicts_saves_them_and_exits_two(
    measured: Path, outputs: Path, elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill_disk(monkeypatch, outputs)
    json_path, junit_path = outputs / "gate.json", outputs / "gate.xml"
    done = CliRunner().invoke(
        app, ["gate", str(measured), str(measured), "--json", str(json_path), "--junit", str(junit_path)]
    )
    assert done.exit_code == 2, done.output
    assert "p99" in done.output  # the verdict table, printed before the writes failed
    text = squashed(done.output)
    assert f"couldnotwrite--json'{json_path}'({squashed(NO_SPACE)})" in text
    assert f"couldnotwrite--junit'{junit_path}'" in text
    assert json.loads((elsewhere / f"asgibench-gate-{STAMP}.json").read_text())
    assert (elsewhere / f"asgibench-gate-{STAMP}.xml").read_text().startswith("<?xml")
    assert list(outputs.iterdir()) == []


def test_conform_prints_the_report_saves_it_and_exits_two(
    outputs: Path, elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill_disk(monkeypatch, outputs)
    json_path, junit_path = outputs / "c.json", outputs / "c.xml"
    arguments = ["conform", "reference_apps.raw_app:app", "--app-dir", str(ROOT), "--timeout", "0.5"]
    done = CliRunner().invoke(app, [*arguments, "--json", str(json_path), "--junit", str(junit_path)])
    assert done.exit_code == 2, done.output
    assert re.search(r"\d+ passed, 0 failed", done.output)  # the report, printed before the writes failed
    text = squashed(done.output)
    assert f"couldnotwrite--json'{json_path}'({squashed(NO_SPACE)})" in text
    assert f"couldnotwrite--junit'{junit_path}'" in text
    assert json.loads((elsewhere / f"asgibench-conform-{STAMP}.json").read_text())
    assert (elsewhere / f"asgibench-conform-{STAMP}.xml").read_text().startswith("<?xml")
    assert list(outputs.iterdir()) == []
