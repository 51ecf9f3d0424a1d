"""What running one scenario produced: the observation the judges read, the trace, the findings."""

from __future__ import annotations

from dataclasses import dataclass, field

from asgibench.conformance.findings import Finding
from asgibench.conformance.observation import AppEnding, AppRecord, Ending, Observation
from asgibench.conformance.scenarios import Scenario
from asgibench.conformance.trace import Trace

__all__ = ["Ending", "Outcome"]


def _fresh_observation() -> Observation:
    return Observation("", AppRecord(ending=AppEnding()))


@dataclass
class Outcome:
    """One scenario (or the lifespan) run in-process.

    ``observation`` is what the fake server saw, filled while the app runs;
    ``findings`` and ``exercised`` are what the machines and the judges made of it.
    """

    name: str
    scenario: Scenario | None
    trace: Trace
    observation: Observation = field(default_factory=_fresh_observation)
    findings: list[Finding] = field(default_factory=list)
    exercised: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if not self.observation.case:
            self.observation.case = self.name

    @property
    def end(self) -> AppEnding:
        """How the app call ended (a record built without one gets a fresh, not-run ending)."""
        if self.observation.app.ending is None:
            self.observation.app.ending = AppEnding()
        return self.observation.app.ending

    @property
    def ending(self) -> Ending:
        return self.end.kind

    @property
    def elapsed(self) -> float:
        return self.end.elapsed

    @property
    def loop_blocked(self) -> bool:
        return self.end.loop_blocked
