"""The judge reads one typed observation record, whoever filled it.

The in-process harness fills it while the app runs; a test can build one by
hand, with no fake server, and get the same verdicts the harness would.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from typing import Any

from asgibench.conformance.findings import Verdict
from asgibench.conformance.judge import judge, judge_lifespan
from asgibench.conformance.lifespan_machine import STARTING
from asgibench.conformance.observation import (
    AppEnding,
    AppRecord,
    ClientSide,
    Departure,
    Ending,
    LifespanSide,
    Observation,
    ResponseSide,
    Step,
)
from asgibench.conformance.outcome import Outcome
from asgibench.conformance.scenarios import Leave, Plan, RouteSpec, Scenario
from asgibench.conformance.session import Session
from asgibench.conformance.trace import Trace
from tests.broken_apps import compose

FAKE_SERVER_MODULES = {"asgibench.conformance.fakeserver", "asgibench.conformance.harness"}


def _imported(name: str) -> set[str]:
    """Every module a module's source imports, by its absolute name."""
    # importlib, not attribute access: the package's ``judge`` is the function.
    module = importlib.import_module(name)
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_judge_and_its_record_do_not_import_the_fake_server() -> None:
    for name in ("asgibench.conformance.judge", "asgibench.conformance.outcome", "asgibench.conformance.observation"):
        imported = _imported(name)
        assert "asgibench.conformance.findings" in imported or name != "asgibench.conformance.judge"
        assert not imported & FAKE_SERVER_MODULES, name
    judge_module = importlib.import_module("asgibench.conformance.judge")
    assert not {"LifespanRun", "AFTER_COMPLETE_RESPONSE", "HttpExchange"} & set(judge_module.__dict__)


def _outcome(scenario: Scenario, *, client: ClientSide, response: ResponseSide, end: AppEnding) -> Outcome:
    """An outcome as a hand-built record: no fake server, no machine, no app."""
    observation = Observation(scenario.name, AppRecord(ending=end), client=client, response=response)
    return Outcome(scenario.name, scenario, Trace(), observation)


POST = RouteSpec("POST", "/echo")


def test_a_hand_built_record_is_judged_like_a_run_one() -> None:
    # Read one of three body messages, then answered 200: ST-07.
    scenario = Scenario("POST /echo, body in 3 messages", POST, body=(b"ab", b"cd", b""))
    outcome = _outcome(
        scenario,
        client=ClientSide(
            left=Departure.AFTER_COMPLETE_RESPONSE,
            gone_at_end=True,
            body_messages=3,
            body_messages_delivered=1,
            body_bytes=4,
            body_bytes_delivered=2,
        ),
        response=ResponseSide(started=True, complete=True, status=200, body=bytearray(b"ab"), body_messages=1),
        end=AppEnding(Ending.RETURNED, elapsed=0.01, deadline=2.0),
    )
    judge(outcome)
    (finding,) = outcome.findings
    assert (finding.check_id, finding.verdict) == ("ST-07", Verdict.WARN)
    assert finding.observed == "read 1 of 3 body messages (2 of 4 bytes), then answered 200"


def test_the_same_record_with_the_whole_body_read_passes() -> None:
    scenario = Scenario("POST /echo, body in 3 messages", POST, body=(b"ab", b"cd", b""))
    outcome = _outcome(
        scenario,
        client=ClientSide(
            left=Departure.AFTER_COMPLETE_RESPONSE,
            gone_at_end=True,
            body_messages=3,
            body_messages_delivered=3,
            body_bytes=4,
            body_bytes_delivered=4,
        ),
        response=ResponseSide(started=True, complete=True, status=200, body=bytearray(b"abcd"), body_messages=1),
        end=AppEnding(Ending.RETURNED, elapsed=0.01, deadline=2.0),
    )
    judge(outcome)
    assert outcome.findings == [] and {"ST-07", "HR-03", "ER-07"} <= outcome.exercised


def test_sends_after_the_disconnect_are_judged_from_the_client_side() -> None:
    scenario = Scenario("GET /stream, client leaves", RouteSpec("GET", "/stream"), leave=Leave.MID_RESPONSE)
    chunk = {"type": "http.response.body", "body": b"tick", "more_body": True}
    outcome = _outcome(
        scenario,
        client=ClientSide(
            left=Departure.MID_RESPONSE,
            gone_at_end=True,
            disconnect_delivered_at=3,
            sent_after_disconnect=[(4, chunk), (5, chunk), (6, chunk)],
        ),
        response=ResponseSide(started=True, status=200, body_messages=4),
        end=AppEnding(Ending.RETURNED, elapsed=0.3, deadline=2.0),
    )
    judge(outcome)
    dc08 = [f for f in outcome.findings if f.check_id == "DC-08"]
    assert [(f.verdict, f.message_index) for f in dc08] == [(Verdict.WARN, 6)]
    assert "3 send(s), the last http.response.body" in dc08[0].observed


def test_a_crash_while_connected_fails_er07_unless_the_server_caused_it() -> None:
    scenario = Scenario("GET /", RouteSpec("GET", "/"))

    def crashed(**caused: bool) -> Outcome:
        end = AppEnding(Ending.RAISED, exception_type="KeyError", exception_message="'x'", **caused)
        outcome = _outcome(scenario, client=ClientSide(), response=ResponseSide(), end=end)
        judge(outcome)
        return outcome

    (finding,) = crashed().findings
    assert (finding.check_id, finding.verdict) == ("ER-07", Verdict.FAIL)
    assert finding.observed == "KeyError: 'x' escaped before the response started while the client was connected"
    assert crashed(refused_send=True).findings == []


def test_lifespan_is_judged_from_its_phases() -> None:
    outcome = Outcome("lifespan startup and shutdown", None, Trace())
    outcome.observation.lifespan = LifespanSide(deadline=1.5, state_after_startup=STARTING, startup_timed_out=True)
    outcome.end.kind = Ending.TIMED_OUT
    judge_lifespan(outcome)
    (finding,) = outcome.findings
    assert (finding.check_id, finding.verdict) == ("LS-12", Verdict.FAIL)
    assert finding.observed == "no reply to lifespan.startup within 1.50 s"


async def _answers_then_breaks_a_rule(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await receive()
    try:
        await send({"status": 200})  # no type: refused, and the machine does not move
    except RuntimeError:
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_the_harness_fills_the_record_with_the_probes_step_vocabulary() -> None:
    scenario = Scenario("GET /", RouteSpec("GET", "/"))
    result = Session(compose(http=_answers_then_breaks_a_rule), deadline=1.0).run(Plan((), (scenario,)))
    (outcome,) = result.outcomes
    observation = outcome.observation
    kinds = [event.kind for event in observation.app.events]
    assert kinds == [
        Step.SCOPE,
        Step.RECEIVE,
        Step.SEND,
        Step.REFUSED,
        Step.SEND,
        Step.SENT,
        Step.SEND,
        Step.SENT,
        Step.END,
    ]
    assert observation.app.scope is not None and observation.app.scope["type"] == "http"
    assert observation.app.received() == [{"type": "http.request", "body": b"", "more_body": False}]
    assert observation.app.events[-1].value == {"raised": None}
    assert observation.client is not None and observation.client.left is Departure.AFTER_COMPLETE_RESPONSE
    assert observation.client.left_at is not None and observation.client.disconnect_delivered_at is None
    assert observation.client.gone_at_end and observation.client.body_complete
    assert observation.response is not None and observation.response.complete
    assert (observation.response.status, bytes(observation.response.body)) == (200, b"ok")
    assert outcome.ending is Ending.RETURNED
    lifespan = result.lifespan.outcome.observation.lifespan
    assert lifespan is not None and lifespan.shutdown_sent and lifespan.returned_after_shutdown
