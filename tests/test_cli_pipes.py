"""The command line in a pipeline: help placeholders, and a reader that leaves early (``| head -1``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from asgibench.cli import app
from tests.loadkit import ROOT, assert_accounts, uvicorn
from tests.resultkit import result_document

COMMANDS = ("", "load", "compare", "conform", "gate", "report", "servers")
# Typer's own names for a value's type: asgibench's help names the value instead (SECONDS, FILE, ...).
TYPE_PLACEHOLDER = re.compile(r"<(?:str|bool|int|float|path|list\[|\w+ range)")


def help_of(command: str) -> str:
    result = CliRunner().invoke(app, [*command.split(), "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_help_uses_the_usual_placeholders(command: str) -> None:
    text = help_of(command)
    assert not TYPE_PLACEHOLDER.search(text), TYPE_PLACEHOLDER.findall(text)
    assert re.search(r"--help\s+Show this message", text)  # a flag: no placeholder at all


@pytest.mark.parametrize(
    ("command", "usage", "rows"),
    [
        ("load", "asgibench load [OPTIONS] [TARGET]",
         [r"--duration\s+-d\s+SECONDS", r"--warmup\s+SECONDS", r"--vus\s+INTEGER", r"--rate\s+FLOAT",
          r"--scenario\s+-s\s+FILE", r"--json\s+FILE", r"--quiet\s+-q\s+No live progress"]),
        ("compare", "asgibench compare [OPTIONS] APP", [r"--duration\s+-d\s+SECONDS", r"--out\s+-o\s+DIR"]),
        ("conform", "asgibench conform [OPTIONS] [APP]", [r"--timeout\s+SECONDS", r"--app-dir\s+DIR"]),
        ("gate", "asgibench gate [OPTIONS] BASELINE CURRENT", [r"--baseline\s+FILE\|DIR"]),
        ("report", "asgibench report [OPTIONS] RESULT...", [r"--title\s+TEXT", r"--md\s+FILE"]),
        ("", "asgibench [OPTIONS] COMMAND [ARGS]...", [r"--version\s+Print the version"]),
    ],
)  # fmt: skip
def test_help_names_each_value_and_the_usage_line_is_as_written(command: str, usage: str, rows: list[str]) -> None:
    text = help_of(command)
    assert f"Usage: {usage}" in text
    for row in rows:
        assert re.search(row, text), row


def test_a_bracket_in_a_help_text_is_shown_not_read_as_markup() -> None:
    assert "[tool.asgibench] target in ./pyproject.toml" in help_of("load")


def run_into_closed_pipe(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``asgibench *args`` writing to a pipe whose reader has already gone."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [sys.executable, "-m", "asgibench", *args],
            cwd=cwd,
            env=os.environ | {"NO_COLOR": "1", "TERM": "dumb"},
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write)


@pytest.mark.parametrize("args", [["--help"], ["load", "--help"], ["--version"], ["servers"], ["conform", "--list"]])
def test_a_reader_that_has_gone_ends_the_command_quietly_with_141(args: list[str]) -> None:
    done = run_into_closed_pipe(*args)
    assert (done.returncode, done.stderr) == (141, "")


def test_report_markdown_into_a_closed_pipe_ends_quietly_with_141(tmp_path: Path) -> None:
    result = tmp_path / "result.json"
    result.write_text(json.dumps(result_document()))
    done = run_into_closed_pipe("report", str(result))
    assert (done.returncode, done.stderr) == (141, "")


def test_load_into_head_writes_its_result_file_whole_and_exits_141(tmp_path: Path) -> None:
    """``asgibench load ... --json FILE | head -1``: the reader leaves after the plan's first line.

    That is before the load has started, or during it: either way the run
    goes on with the console silent, and its result file is written whole.
    """
    path = tmp_path / "result.json"
    command = [sys.executable, "-m", "asgibench", "load", "--rate", "100", "-d", "1s", "--json", str(path)]
    with (
        uvicorn() as (url, _),
        subprocess.Popen(
            [*command, url], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as process,
    ):
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.readline()
        process.stdout.close()
        errors = process.stderr.read()
        code = process.wait(timeout=60)
    assert first.startswith("asgibench load ")
    assert (code, errors) == (141, "")
    result = json.loads(path.read_text())
    assert_accounts(result)
    assert result["summary"]["requests"] == 100 and not result["partial"]
