"""Resolve ``module:attribute`` to an ASGI3 application, the way uvicorn does.

The current directory (or ``--app-dir``) goes first on ``sys.path``; the
attribute may be dotted (``pkg.mod:holder.app``); ``--factory`` calls the
attribute with no arguments to build the app. Everything that can go wrong is
an ``AppLoadError`` naming the module, the attribute and what was found.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from asgibench.errors import AppLoadError

ASGIApp = Callable[..., Any]

_DOUBLE_CALLABLE_HINT = (
    "ASGI2 ('double callable') apps take only `scope` and return the coroutine. "
    "Wrap it with asgiref.compatibility.guarantee_single_callable(app)."
)


_APP_SPEC = re.compile(r"[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*(\(\))?")


def looks_like_app(text: str) -> bool:
    """``main:app`` or ``pkg.module:factory()``, not ``localhost:8000`` or a URL (the attribute is a name)."""
    return _APP_SPEC.fullmatch(text) is not None


def load_app(target: str, *, app_dir: str | Path = ".", factory: bool = False) -> ASGIApp:
    """Import ``target`` (``module:attribute``) and return an ASGI3 callable."""
    module_name, attribute_path = _split_target(target)
    _put_on_path(Path(app_dir))
    module = _import_module(module_name, target)
    app: Any = module
    for part in attribute_path.split("."):
        try:
            app = getattr(app, part)
        except AttributeError:
            raise AppLoadError(
                f"Attribute {attribute_path!r} not found in module {module_name!r} (APP {target!r}).",
                hint=f"Check the name after the colon; module {module_name!r} imported fine.",
            ) from None
    if factory:
        if not callable(app):
            raise AppLoadError(f"--factory was given but {target!r} is not callable.")
        try:
            app = app()
        except Exception as exc:
            raise AppLoadError(f"The app factory {target!r} raised {type(exc).__name__}: {exc}") from exc
    return check_asgi3(app, target)


def check_asgi3(app: Any, target: str) -> ASGIApp:
    """Refuse anything that is not an ASGI3 single callable, saying what it is."""
    if not callable(app):
        kind = "a module" if inspect.ismodule(app) else f"a {type(app).__name__}"
        raise AppLoadError(f"{target!r} is {kind}, not a callable ASGI application.")
    if inspect.isclass(app):
        # A class whose instances are awaitable is ASGI3 (App(scope, receive, send)
        # returns the awaitable); any other class is the legacy double callable.
        if hasattr(app, "__await__"):
            return app
        raise AppLoadError(f"{target!r} is a class: an ASGI2 double-callable app.", hint=_DOUBLE_CALLABLE_HINT)
    call = app if inspect.isroutine(app) else getattr(app, "__call__", app)  # noqa: B004
    if inspect.iscoroutinefunction(call):
        return app  # type: ignore[no-any-return]
    positional = _positional_parameter_count(call)
    if positional == 1:
        raise AppLoadError(
            f"{target!r} takes one argument (scope): an ASGI2 double-callable app.",
            hint=_DOUBLE_CALLABLE_HINT,
        )
    if positional == 2:
        raise AppLoadError(
            f"{target!r} takes two arguments: it looks like a WSGI app (environ, start_response).",
            hint="asgibench conform checks ASGI apps; wrap WSGI apps with a WSGI-to-ASGI adapter.",
        )
    # A plain callable with three parameters that returns an awaitable is fine;
    # what it returns is checked (HR-06) when the suite runs it.
    return app  # type: ignore[no-any-return]


def _split_target(target: str) -> tuple[str, str]:
    module_name, colon, attribute_path = target.partition(":")
    if not colon or not module_name or not attribute_path:
        raise AppLoadError(
            f"APP must be 'module:attribute' (like uvicorn), got {target!r}.",
            hint="For example: asgibench conform main:app",
        )
    return module_name, attribute_path


def _put_on_path(app_dir: Path) -> None:
    if not app_dir.is_dir():
        raise AppLoadError(f"--app-dir {str(app_dir)!r} is not a directory.")
    resolved = str(app_dir.resolve())
    if resolved not in sys.path:
        sys.path.insert(0, resolved)


def _import_module(module_name: str, target: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name or module_name.startswith(f"{exc.name}."):
            raise AppLoadError(
                f"Could not import module {module_name!r} (APP {target!r}).",
                hint="Run from the directory that holds it, or pass --app-dir.",
            ) from None
        raise AppLoadError(
            f"Importing {module_name!r} failed: it needs module {exc.name!r}, which is not installed."
        ) from exc
    except Exception as exc:
        last = traceback.extract_tb(exc.__traceback__)[-1]
        raise AppLoadError(
            f"Importing {module_name!r} raised {type(exc).__name__}: {exc} ({last.filename}, line {last.lineno})."
        ) from exc


def _positional_parameter_count(function: Any) -> int | None:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    parameters = list(signature.parameters.values())
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return None
    return sum(1 for p in parameters if p.kind in kinds)
