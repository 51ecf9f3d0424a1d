"""Links from a report to files beside it (flame graphs), relative to where the report is written. Pure."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote


def relative_link(target: Path, report_directory: Path) -> str:
    """A URL path from the report's directory to ``target``, so the link still works when both move together."""
    relative = os.path.relpath(target.absolute(), report_directory.absolute())
    return quote(Path(relative).as_posix())
