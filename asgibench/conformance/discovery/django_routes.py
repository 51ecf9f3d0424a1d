"""Django: the root URL resolver's patterns, ``include()``s followed, every filled path resolved back."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from asgibench.conformance.discovery.model import SAMPLES, Candidate

_CONVERTER_KINDS = {
    "IntConverter": "int",
    "StringConverter": "str",
    "SlugConverter": "slug",
    "UUIDConverter": "uuid",
    "PathConverter": "path",
}
_ROUTE_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
_REGEX_TRIES = ("1", "2024", "sample")  # for a regex group: the first that resolves wins
_CLASS_VIEW_METHODS = ("get", "post", "put", "patch", "delete")
_MAX_DEPTH = 8
_MAX_ATTEMPTS = 12  # filled paths tried per route


def django_candidates(prefix: str) -> Iterator[Candidate]:
    from django.urls import get_resolver  # type: ignore[import-untyped]  # loaded already: the app is Django's

    resolver = get_resolver()
    yield from _walk(resolver, resolver.url_patterns, prefix, "/", [""], 0)


def _walk(
    resolver: Any, patterns: Any, prefix: str, parent: str, filled_parents: list[str], depth: int
) -> Iterator[Candidate]:
    """``filled_parents``: the ways the enclosing include()s' own patterns can be filled."""
    for pattern in patterns:
        template = parent + str(pattern.pattern)
        fills = _level_fills(pattern.pattern)
        if fills is None:
            yield Candidate(template, frozenset(), None, "a custom path converter")
            continue
        candidates = [head + fill for head in filled_parents for fill in fills][:_MAX_ATTEMPTS]
        if hasattr(pattern, "url_patterns"):  # an include()
            if depth < _MAX_DEPTH:
                yield from _walk(resolver, pattern.url_patterns, prefix, template, candidates, depth + 1)
            else:
                yield Candidate(template, frozenset(), None, f"includes nested deeper than {_MAX_DEPTH}")
            continue
        path = _resolving(resolver, candidates, pattern.callback)
        reason = "" if path is not None else "no sample value resolves to this view"
        yield Candidate(template, _view_methods(pattern.callback), None if path is None else prefix + path, reason)


def _level_fills(level: Any) -> list[str] | None:
    """One level's pattern with its parameters filled: a path() once, a re_path() a few ways."""
    from django.utils.regex_helper import normalize  # type: ignore[import-untyped]

    text = str(level)
    if type(level).__name__ != "RegexPattern":
        return _fill_route(text, getattr(level, "converters", {}))
    fills = [form % dict.fromkeys(names, sample) for form, names in normalize(text) for sample in _REGEX_TRIES]
    return list(dict.fromkeys(fills))  # in order, without repeats


def _resolving(resolver: Any, candidates: list[str], view: Any) -> str | None:
    """The first candidate Django resolves to this very view."""
    from django.urls import Resolver404

    for candidate in candidates:
        try:
            match = resolver.resolve("/" + candidate)
        except Resolver404:
            continue
        if match.func is view:
            return "/" + candidate
    return None


def _fill_route(template: str, converters: dict[str, Any]) -> list[str] | None:
    missing = False

    def sample(match: re.Match[str]) -> str:
        nonlocal missing
        converter = converters.get(match.group("name"))
        kind = _CONVERTER_KINDS.get(type(converter).__name__, "str" if converter is None else "")
        if not kind:
            missing = True
            return ""
        return SAMPLES[kind]

    filled = _ROUTE_PARAMETER.sub(sample, template)
    return None if missing else [filled]


def _view_methods(callback: Any) -> frozenset[str]:
    """A class-based view answers what it defines; a function view GET, and POST when CSRF-exempt.

    Function views do not declare their methods; a CSRF-exempt one is
    meant to take POSTs from clients without a CSRF token.
    """
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        allowed = getattr(view_class, "http_method_names", _CLASS_VIEW_METHODS)
        return frozenset(name.upper() for name in _CLASS_VIEW_METHODS if name in allowed and hasattr(view_class, name))
    if getattr(callback, "csrf_exempt", False):
        return frozenset({"GET", "POST"})
    return frozenset({"GET"})
