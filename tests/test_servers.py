"""Server plugins: every installed server really serves the reference app from the command its plugin builds."""

from __future__ import annotations

import subprocess
import urllib.request

import pytest

from asgibench.errors import UsageError
from asgibench.servers import get_plugin, plugin_names
from tests.loadkit import ROOT, asgibench, free_port, stop, wait_listening


def _available(name: str) -> bool:
    return get_plugin(name).is_available()


@pytest.mark.parametrize(
    "name",
    [pytest.param(name, id=name, marks=pytest.mark.skipif(not _available(name), reason=f"{name} not installed"))
     for name in plugin_names()],
)  # fmt: skip
def test_each_server_serves_the_reference_app(name: str) -> None:
    plugin = get_plugin(name)
    app = "reference_apps.wsgi_app:app" if plugin.interface == "wsgi" else "reference_apps.raw_app:app"
    port = free_port()
    process = subprocess.Popen(plugin.command(app, host="127.0.0.1", port=port), cwd=ROOT)
    try:
        wait_listening("127.0.0.1", port, deadline=30)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as answer:
            assert answer.status == 200 and answer.read() == b"hello, world"
    finally:
        stop(process)
    assert plugin.version()


def test_unknown_servers_and_impossible_worker_counts_are_refused() -> None:
    with pytest.raises(UsageError, match="Unknown server 'nginx'; known: uvicorn, hypercorn"):
        get_plugin("nginx")
    with pytest.raises(ValueError, match="daphne serves from at most 1"):
        get_plugin("daphne").command("main:app", host="127.0.0.1", port=8000, workers=2)


def test_servers_command_lists_every_server_with_its_version() -> None:
    run = asgibench("servers")
    assert run.returncode == 0, run.stderr
    for name in plugin_names():
        assert name in run.stdout
        version = get_plugin(name).version()
        if version:
            assert version in run.stdout


def test_servers_command_says_which_protocols_each_serves() -> None:
    run = asgibench("servers")
    assert run.returncode == 0, run.stderr
    rows = {line.split("│")[1].strip(): line for line in run.stdout.splitlines() if line.count("│") > 3}
    assert "HTTP/2 (h2c)" in rows["granian"] and "WebSocket" in rows["granian"]
    assert "HTTP/2" not in rows["uvicorn"] and "WebSocket" in rows["uvicorn"]
    assert "WebSocket" not in rows["gunicorn-sync"]
