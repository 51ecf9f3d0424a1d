"""What a framework reader reports for one route, and the sample values that fill its parameters."""

from __future__ import annotations

import datetime
import decimal
import enum
import pathlib
import types
import typing
import uuid
from dataclasses import dataclass
from typing import Any

from asgibench.conformance.scenarios import HTTP_METHODS

# One sample per parameter kind: each parses under the kind's usual converter.
SAMPLES: dict[str, str] = {
    "str": "sample",
    "slug": "sample",
    "int": "1",
    "float": "1.5",
    "decimal": "1.5",
    "bool": "true",
    "uuid": "123e4567-e89b-42d3-a456-426614174000",
    "path": "a/b",
    "date": "2024-01-02",
    "datetime": "2024-01-02T03:04:05",
    "time": "03:04:05",
}

_TYPE_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "bool"),  # before int: bool is an int
    (int, "int"),
    (float, "float"),
    (decimal.Decimal, "decimal"),
    (uuid.UUID, "uuid"),
    (pathlib.PurePath, "path"),
    (datetime.datetime, "datetime"),  # before date: a datetime is a date
    (datetime.date, "date"),
    (datetime.time, "time"),
    (str, "str"),
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One route as a framework declares it; ``path`` is None when it could not be filled."""

    template: str  # the route as the framework writes it, for messages
    methods: frozenset[str]  # upper-case HTTP methods, or {"WS"}
    path: str | None
    reason: str = ""  # why ``path`` is None
    framework_own: bool = False  # served by the framework itself (OpenAPI pages, static files, OPTIONS)


def sample_for_type(annotation: Any) -> str | None:
    """A path value for a Python type annotation (int, UUID, an Enum, a Literal...), or None."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return sample_for_type(typing.get_args(annotation)[0])
    if origin is typing.Literal:
        return str(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return sample_for_type(options[0]) if len(options) == 1 else None
    if not isinstance(annotation, type):
        return None
    if issubclass(annotation, enum.Enum):
        members = list(annotation)
        return str(members[0].value) if members else None
    for python_type, kind in _TYPE_KINDS:
        if issubclass(annotation, python_type):
            return SAMPLES[kind]
    return None


def http_methods(methods: object) -> frozenset[str]:
    """The methods worth driving: HEAD goes when GET is there, OPTIONS when anything else is.

    Frameworks add both by themselves (Starlette's HEAD, Litestar's OPTIONS);
    the default ``HEAD /`` already covers how the framework answers HEAD.
    """
    found = {str(method).upper() for method in methods or ()} & HTTP_METHODS  # type: ignore[attr-defined]
    if "GET" in found:
        found.discard("HEAD")
    if len(found) > 1:
        found.discard("OPTIONS")
    return frozenset(found)


def module_of(function: Any) -> str:
    """The module a handler was defined in, looking through functools.partial and wrappers."""
    seen = 0
    while seen < 10:
        inner = getattr(function, "func", None) or getattr(function, "__wrapped__", None)
        if inner is None:
            break
        function = inner
        seen += 1
    return str(getattr(function, "__module__", "") or "")


def is_framework_own(function: Any, *packages: str) -> bool:
    module = module_of(function)
    return any(module == package or module.startswith(f"{package}.") for package in packages)
