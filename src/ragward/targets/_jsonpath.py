"""JMESPath expressions (https://jmespath.org/specification.html), compiled once, with a fast path.

Response mappings are evaluated for every reply and every retrieved chunk, so
the common shapes skip the JMESPath interpreter: a plain field name (``text``),
a dotted path (``data.answer``) and alternatives of those (``doc_id || id``,
with JMESPath's ``||`` semantics: the first value that is not ``null``,
``false`` or empty). Anything else is compiled by ``jmespath`` 1.1.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

from ragward.errors import ConfigError

__all__ = ["Expr", "compile_expr", "truthy"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
Expr = Callable[[Any], Any]


def truthy(value: Any) -> bool:
    """JMESPath truthiness: false for ``null``, ``false``, ``""``, ``[]`` and ``{}``."""
    return not (value is None or value is False or value == "" or value == [] or value == {})


def _path(parts: list[str]) -> Expr:
    if len(parts) == 1:
        key = parts[0]
        return lambda data: data.get(key) if isinstance(data, dict) else None

    def walk(data: Any) -> Any:
        for key in parts:
            if not isinstance(data, dict):
                return None
            data = data.get(key)
        return data

    return walk


def _fast(expr: str) -> Expr | None:
    alternatives = [a.strip() for a in expr.split("||")]
    paths: list[Expr] = []
    for alt in alternatives:
        parts = alt.split(".")
        if not all(_IDENT.fullmatch(p) for p in parts):
            return None
        paths.append(_path(parts))
    if len(paths) == 1:
        return paths[0]

    def first(data: Any) -> Any:
        value = None
        for path in paths:
            value = path(data)
            if truthy(value):
                return value
        return value

    return first


def compile_expr(expr: str, where: str = "expression") -> Expr:
    """A function evaluating JMESPath ``expr`` on a decoded JSON value.

    Raises :class:`ConfigError` naming ``where`` when ``expr`` is not valid JMESPath.
    """
    try:
        parsed = jmespath.compile(expr)
    except JMESPathError as exc:
        raise ConfigError(f"{where}: invalid JMESPath expression {expr!r}: {str(exc).splitlines()[0]}") from None
    fast = _fast(expr)
    if fast is not None:
        return fast
    search = parsed.search

    def evaluate(data: Any) -> Any:
        try:
            return search(data)
        except JMESPathError:
            return None

    return evaluate
