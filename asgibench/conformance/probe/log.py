"""Reading the recording app's log: JSON lines, grouped by case, read again as the file grows."""

from __future__ import annotations

import json
from pathlib import Path

from asgibench.conformance.observation import AppEvent, AppRecord, decode


class ProbeLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""
        self._records: dict[str, AppRecord] = {}

    def app(self, case: str) -> AppRecord:
        """What the app logged for ``case`` so far (a fresh copy of the list: later reads do not change it)."""
        self._read()
        record = self._records.get(case)
        return AppRecord(list(record.events)) if record is not None else AppRecord()

    def cases(self) -> list[str]:
        self._read()
        return list(self._records)

    def _read(self) -> None:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except FileNotFoundError:
            return
        self._offset += len(data)
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()  # a line still being written
        for line in lines:
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            record = self._records.setdefault(str(entry.get("case")), AppRecord())
            record.events.append(AppEvent(float(entry["at"]), str(entry["kind"]), decode(entry.get("value"))))
