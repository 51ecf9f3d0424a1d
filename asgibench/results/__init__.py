"""The result file (``asgibench.result/2``, docs/result-file.md): the one data model load, compare, report and gate share."""

from asgibench.results.schema import SCHEMA, load_result, write_result

__all__ = ["SCHEMA", "load_result", "write_result"]
