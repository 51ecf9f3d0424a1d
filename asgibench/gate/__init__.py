"""``asgibench gate``: is the current build slower than the baseline, beyond noise? (See verdict.py.)"""

from asgibench.gate.run import GateConfig, run_gate
from asgibench.gate.verdict import GateReport, MetricVerdict, Verdict

__all__ = ["GateConfig", "GateReport", "MetricVerdict", "Verdict", "run_gate"]
