"""Correct apps, ours and real frameworks', raise no failure: false alarms count as much as misses."""

from __future__ import annotations

import gc
import importlib
import warnings
from typing import Any

import pytest

from tests.conftest import conform, explain, verdicts

REFERENCE_PATHS = ("GET:/stream", "POST:/echo", "ws:/ws")


def load(target: str) -> Any:
    module, attribute = target.split(":")
    return getattr(importlib.import_module(module), attribute)


@pytest.mark.parametrize(
    "target", ["reference_apps.raw_app:app", "reference_apps.starlette_app:app", "reference_apps.fastapi_app:app"]
)
def test_reference_app_passes_without_failures_or_warnings(target: str) -> None:
    report = conform(load(target), REFERENCE_PATHS, timeout=2.0)
    found = verdicts(report)
    assert not {c for c, v in found.items() if v in {"fail", "warn"}}, explain(report)
    # Exercised, not skipped: the suite really drove these areas.
    for check_id in ("HR-01", "HR-05", "ST-07", "ST-09", "DC-06", "DC-07", "LS-09", "LS-12", "WS-10", "WS-13", "ER-07"):
        assert found[check_id] in {"pass", "info"}, f"{check_id} not exercised\n{explain(report)}"


def test_starlette_client_disconnect_after_the_client_left_is_info_not_failure() -> None:
    report = conform(load("reference_apps.starlette_app:app"), REFERENCE_PATHS, timeout=2.0)
    found = verdicts(report)
    assert found["DC-06"] == "info"
    assert "ClientDisconnect" in next(r.message for r in report.checks if r.check.id == "DC-06")


def test_django_passes_and_its_mixed_case_headers_only_warn() -> None:
    # Django leaves a request body's SpooledTemporaryFile open when the client
    # aborts mid-body. Collect it here, where its ResourceWarning is expected,
    # rather than at a random later moment in another test.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        report = conform(load("tests.apps.django_app:app"), ("GET:/stream",), timeout=2.0)
        gc.collect()
    found = verdicts(report)
    assert not {c for c, v in found.items() if v == "fail"}, explain(report)
    assert found["HR-02"] == "warn"  # Django sends b"Content-Type"; servers lower-case it
    assert found["SC-17"] == "info"  # Django raises on lifespan: "lifespan unsupported"


@pytest.mark.parametrize(
    ("target", "paths"),
    [
        ("tests.apps.extension_apps:raw_extensions", ("GET:/file",)),
        ("tests.apps.extension_apps:http_only", ()),
        ("tests.apps.extension_apps:starlette_files", ("ws:/closes",)),
        ("tests.apps.extension_apps:endless_events", ("GET:/events",)),
    ],
)
def test_correct_use_of_optional_parts_raises_nothing(target: str, paths: tuple[str, ...]) -> None:
    report = conform(load(target), paths, timeout=2.0)
    flagged = {c for c, v in verdicts(report).items() if v in {"fail", "warn"}}
    assert not flagged, explain(report)


def test_extensions_used_correctly_are_exercised() -> None:
    found = verdicts(conform(load("tests.apps.extension_apps:raw_extensions"), ("GET:/file",)))
    assert found["EX-05"] == "pass"  # trailers declared and sent after the final body
    assert found["EX-07"] == "pass"  # zerocopysend with a real file
    assert found["EX-08"] == "pass"  # early hints with bytes links


def test_http_only_app_raising_on_websocket_and_lifespan_is_unsupported_not_failing() -> None:
    report = conform(load("tests.apps.extension_apps:http_only"))
    sc17 = next(r for r in report.checks if r.check.id == "SC-17")
    assert sc17.verdict.value == "info"
    scenarios = " ".join(e.finding.observed for e in sc17.evidence)
    assert "lifespan unsupported" in scenarios and "websocket unsupported" in scenarios


def test_denial_response_and_app_close_are_validated() -> None:
    report = conform(load("tests.apps.extension_apps:starlette_files"), ("ws:/closes",))
    found = verdicts(report)
    assert found["EX-03"] == "pass"  # Starlette's denial response, when advertised
    # Close code 4000 with a reason: valid, but a server at spec 2.0 has no reason key yet.
    ws12 = next(r for r in report.checks if r.check.id == "WS-12")
    assert ws12.verdict.value == "info" and "spec_version 2.0" in ws12.message


def test_an_endless_stream_that_stops_when_the_client_leaves_is_conformant() -> None:
    found = verdicts(conform(load("tests.apps.extension_apps:endless_events"), ("GET:/events",)))
    assert found["HR-11"] == "info"  # still streaming at the deadline: a long-lived stream
    assert found["DC-06"] == "pass" and found["DC-07"] == "pass"
