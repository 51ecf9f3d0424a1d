"""What a response must be to count as a success: expected status codes, and checks on the body or a header. Pure.

A response whose status is not expected is an error of kind ``status``; one
with an expected status that fails a check is an error of kind ``check``. By
default any 2xx or 3xx succeeds (what k6 and Locust call a success). Each check
is counted on its own (passed, failed), like k6's checks; the status rule is
the first check of every request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

# Body bytes kept for a body check; a check looks for its text in the first this-many bytes.
BODY_CHECK_LIMIT = 1 << 20
DEFAULT_STATUS = ("2xx", "3xx")
_STATUS_TEXT = re.compile(r"^([1-5])xx$|^([1-5]\d\d)(?:-([1-5]\d\d))?$")


def parse_status(text: str) -> tuple[int, int]:
    """``"2xx"``, ``"404"`` or ``"200-204"`` as an inclusive range of codes; ValueError otherwise."""
    match = _STATUS_TEXT.match(text.strip().lower())
    if not match:
        raise ValueError(f"{text!r} is not a status code; use a code (200), a class (2xx) or a range (200-204)")
    klass, low, high = match.groups()
    if klass:
        return int(klass) * 100, int(klass) * 100 + 99
    first, last = int(low), int(high) if high else int(low)
    if last < first:
        raise ValueError(f"{text!r}: the range runs backwards")
    return first, last


@dataclass(frozen=True, slots=True)
class Expectation:
    """A request's success rule: its expected statuses, and optional checks on the body and headers."""

    status: tuple[str, ...] = DEFAULT_STATUS  # as the user wrote them, checked by parse_status
    body_contains: str | None = None
    headers: tuple[tuple[str, str], ...] = ()  # (name, text its value must contain), names in lower case
    _codes: frozenset[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        codes: set[int] = set()
        for text in self.status:
            low, high = parse_status(text)
            codes.update(range(low, high + 1))
        object.__setattr__(self, "_codes", frozenset(codes))

    @property
    def codes(self) -> frozenset[int]:
        """Every status code that is a success (a set, so the hot path tests membership in O(1))."""
        return self._codes

    @property
    def captures(self) -> bool:
        """Whether checking needs the response's headers or body (the parser then reports them)."""
        return self.body_contains is not None or bool(self.headers)

    def check_names(self) -> list[str]:
        """One label per check, the status rule first, as results and reports show them."""
        names = ["status is " + " or ".join(self.status)]
        if self.body_contains is not None:
            names.append(f"body contains {self.body_contains!r}")
        names.extend(f"header {name} contains {text!r}" for name, text in self.headers)
        return names

    def failed_checks(self, headers: Iterable[tuple[bytes, bytes]], body: bytes) -> list[int]:
        """Indexes (into check_names) of the checks after the status rule that this response fails."""
        failed = []
        index = 1
        if self.body_contains is not None:
            if self.body_contains.encode("utf-8") not in body:
                failed.append(index)
            index += 1
        if self.headers:
            values: dict[str, list[str]] = {}
            for raw_name, raw_value in headers:
                values.setdefault(raw_name.decode("latin-1").lower(), []).append(raw_value.decode("latin-1"))
            for name, text in self.headers:
                if not any(text in value for value in values.get(name, [])):
                    failed.append(index)
                index += 1
        return failed

    def describe(self) -> dict[str, object]:
        return {"status": list(self.status), "body_contains": self.body_contains, "headers": dict(self.headers)}
