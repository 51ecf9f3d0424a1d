"""Starting the command line: what each command imports, and its own coercion of plain values.

The imports are checked in a fresh interpreter (``sys.modules`` after the
command), so that a module-level import added anywhere on the way shows up
here rather than as a slower start. The coercion (asgibench.cli.command.PlainFirst)
must return what Typer's own returns, and raise what it raises, for any value.
"""

from __future__ import annotations

import functools
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import typer.main
from hypothesis import example, given, settings
from hypothesis import strategies as st
from typer._coercion import build_runtime_param

from asgibench.cli import COMMANDS, app

ROOT = Path(__file__).resolve().parent.parent
# Imported by no command but the one that needs it.
OTHER_COMMANDS = ("asgibench.compare", "asgibench.report", "asgibench.gate", "asgibench.conformance")


def modules_after(argv: list[str] | None) -> set[str]:
    """The modules a fresh interpreter holds after ``import asgibench.cli`` and, unless None, ``asgibench ARGV``."""
    script = textwrap.dedent(
        f"""
        import json, sys
        from asgibench.cli import main
        argv = {argv!r}
        if argv is not None:
            sys.argv = ["asgibench", *argv]
            try:
                main()
            except SystemExit:
                pass
        sys.stdout.flush()
        sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n")
        """
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    line = next((line for line in run.stderr.splitlines() if line.startswith("MODULES ")), None)
    assert line is not None, run.stderr
    return set(json.loads(line.removeprefix("MODULES ")))


def loaded(modules: set[str], *packages: str) -> list[str]:
    return sorted(name for name in modules if any(name == p or name.startswith(p + ".") for p in packages))


def test_importing_the_cli_imports_no_command_and_no_rich() -> None:
    modules = modules_after(None)
    assert not loaded(modules, "rich", "pydantic", *COMMANDS.values(), *OTHER_COMMANDS)


def test_version_imports_no_command_and_no_rich() -> None:
    modules = modules_after(["--version"])
    assert not loaded(modules, "rich", "pydantic", *COMMANDS.values(), *OTHER_COMMANDS)


@pytest.mark.parametrize("model", [["--vus", "64"], ["--rate", "1000.5"]])
def test_load_imports_neither_the_other_commands_nor_the_launcher_nor_pydantic(
    tmp_path: Path, model: list[str]
) -> None:
    scenario = tmp_path / "empty.toml"
    scenario.write_text("")
    # Port 1 on loopback: nothing listens, so the run ends at its reachability check (exit 3), its options read.
    argv = ["load", "http://127.0.0.1:1/", *model, "--duration", "8s", "--json", str(tmp_path / "r.json"), "--quiet"]
    modules = modules_after([*argv, "-H", "X-A: 1", "--scenario", str(scenario), "--server-workers", "1"])
    assert "asgibench.load.runner" in modules  # the command did run
    others = [module for name, module in COMMANDS.items() if name != "load"]
    unneeded = ("pydantic", "asgibench.launch.server", "asgibench.results.validate", "rich.progress")
    assert not loaded(modules, *unneeded, *others, *OTHER_COMMANDS)


def test_the_help_lists_every_command_in_order() -> None:
    group: Any = typer.main.get_command(app)
    assert group.list_commands(None) == list(COMMANDS)
    assert [group.get_command(None, name).name for name in COMMANDS] == list(COMMANDS)


# Coercion ---------------------------------------------------------------------------------------------------------


@functools.cache
def parameter(command: str, name: str) -> Any:
    group: Any = typer.main.get_command(app)
    return next(param for param in group.get_command(None, command).params if param.name == name)


def outcome(coerce: Any, value: Any) -> tuple[str, str, str]:
    try:
        result = coerce(value)
    except Exception as error:  # Typer's BadParameter, or whatever it lets through
        return ("raises", type(error).__name__, str(error))
    return ("returns", type(result).__name__, repr(result))


def assert_coerced_as_typer_would(param: Any, value: Any) -> None:
    typer_own = build_runtime_param(param.type_descriptor)
    ours = outcome(lambda v: param.get_runtime_param().coerce(v, param=param, ctx=None), value)
    assert ours == outcome(lambda v: typer_own.coerce(v, param=param, ctx=None), value), value


NUMBER_TEXT = st.one_of(
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
    st.floats().map(repr),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: f"{f:.4f}"),
    st.text(alphabet="0123456789-+._eE \t٣xinfa", max_size=24),
    st.sampled_from(["", "-", "0", "-0", "00", "01", "0.05", "0.04", "1_0", "+5", " 7", "1e3", ".5", "5.", "٣"]),
)
NUMBERS = st.one_of(NUMBER_TEXT, st.integers(), st.floats(), st.booleans(), st.none())
TEXTS = st.one_of(st.text(), st.sampled_from(["\udcff", "é", " x ", ""]), st.integers(), st.none())
PATH_TEXT = st.one_of(
    st.text(alphabet="ab/.-~ \\", max_size=12),
    st.sampled_from(["", ".", "/", "/etc/hostname", "/no/such/file", "a//b", "./x", "-", "\udcff"]),
)
PATHS = st.one_of(PATH_TEXT, PATH_TEXT.map(Path), st.none())


@pytest.mark.parametrize(
    ("command", "name"),
    [("load", "vus"), ("load", "rate"), ("load", "server_workers"), ("compare", "repeat"), ("conform", "timeout")],
)
@settings(max_examples=150, deadline=None)
@given(value=NUMBERS)
@example(value=math.nan)  # passes every bound by comparison: found once by the generated values
@example(value=math.inf)
@example(value="nan")
def test_numbers_are_coerced_as_typer_would(command: str, name: str, value: Any) -> None:
    assert_coerced_as_typer_would(parameter(command, name), value)


@pytest.mark.parametrize(("command", "name"), [("load", "target"), ("load", "duration"), ("load", "http")])
@settings(max_examples=100, deadline=None)
@given(value=TEXTS)
def test_strings_are_coerced_as_typer_would(command: str, name: str, value: Any) -> None:
    assert_coerced_as_typer_would(parameter(command, name), value)


@pytest.mark.parametrize(("command", "name"), [("load", "scenario"), ("conform", "app_dir"), ("gate", "baseline")])
@settings(max_examples=100, deadline=None)
@given(value=PATHS)
def test_paths_are_coerced_as_typer_would(command: str, name: str, value: Any) -> None:
    assert_coerced_as_typer_would(parameter(command, name), value)


@pytest.mark.parametrize(
    ("command", "name", "items"),
    [("load", "headers", TEXTS), ("report", "files", PATHS), ("gate", "more_baseline", PATHS)],
)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_lists_are_coerced_as_typer_would(command: str, name: str, items: Any, data: st.DataObject) -> None:
    values = data.draw(st.lists(items, max_size=4))
    value = data.draw(st.sampled_from([values, tuple(values), "one", None]))
    assert_coerced_as_typer_would(parameter(command, name), value)
