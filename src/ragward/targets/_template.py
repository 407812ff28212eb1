"""Request and filter templates with ``{placeholder}`` fields, compiled once.

A template is any JSON-like value (mapping, list, string, number, boolean,
null). Strings may carry placeholders ``{name}`` or ``{name:conv}``:

- a string that is exactly one placeholder without a conversion is replaced by
  the raw value, keeping its JSON type (``"{tenant}"`` with ``{"$ne": ""}``
  gives the object, with ``None`` gives ``null``): this is how an application
  that forwards a request's JSON value into a store filter behaves;
- a placeholder inside a longer string is replaced by its text form (strings
  as they are, anything else as compact JSON), or by the conversion named:
  ``str`` (text form), ``json`` (JSON text), ``url`` (percent-encoded text form),
  ``sql`` (a SQL string literal, quotes doubled: ``'it''s'``).

``${VAR}`` environment references are resolved when the template is compiled
(at target build time) through a :class:`~ragward.targets._secrets.SecretStore`.
Unknown placeholder names are refused at compile time with a
:class:`~ragward.errors.ConfigError`, so a typo never reaches a request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any
from urllib.parse import quote

from ragward.errors import ConfigError
from ragward.targets._secrets import ENV_REF, SecretStore

__all__ = ["CONVERSIONS", "Template", "placeholders", "sql_literal", "text_form"]

_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?\}")
Values = Mapping[str, Any]
_Render = Callable[[Values], Any]


def text_form(value: Any) -> str:
    """A value as text: strings unchanged, anything else as compact JSON (``None`` → ``null``)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def sql_literal(value: Any) -> str:
    """A SQL string literal of ``text_form(value)``, single quotes doubled (``O'Hara`` → ``'O''Hara'``)."""
    return "'" + text_form(value).replace("'", "''") + "'"


CONVERSIONS: dict[str, Callable[[Any], str]] = {
    "str": text_form,
    "json": lambda v: json.dumps(v, separators=(",", ":"), ensure_ascii=False, default=str),
    "url": lambda v: quote(text_form(v), safe=""),
    "sql": sql_literal,
}


def placeholders(value: Any) -> frozenset[str]:
    """The placeholder names a template uses (``{name}`` or ``{name:conv}``), in strings, mapping keys and values
    and list items at any depth; ``${VAR}`` environment references are not placeholders.

    Nothing is resolved or validated (unknown names are reported by :class:`Template`), so a configuration can
    be checked for a required placeholder when it is parsed, before any secret is read.
    """
    if isinstance(value, str):
        return frozenset(m.group(1) for m in _FIELD.finditer(ENV_REF.sub("", value)))
    if isinstance(value, Mapping):
        return frozenset().union(*(placeholders(k) | placeholders(v) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return frozenset().union(*(placeholders(v) for v in value))
    return frozenset()


def _compile_string(text: str, names: Collection[str], default_conv: str, where: str) -> _Render:
    matches = list(_FIELD.finditer(text))
    for m in matches:
        if m.group(1) not in names:
            raise ConfigError(
                f"{where}: unknown placeholder {{{m.group(1)}}} "
                f"(known: {', '.join('{' + n + '}' for n in sorted(names))})"
            )
        if m.group(2) is not None and m.group(2) not in CONVERSIONS:
            raise ConfigError(f"{where}: unknown conversion {m.group(2)!r} (known: {', '.join(CONVERSIONS)})")
    if not matches:
        return lambda values: text
    if len(matches) == 1 and matches[0].group(0) == text and matches[0].group(2) is None:
        name = matches[0].group(1)
        return lambda values: values.get(name)
    parts: list[str | tuple[str, Callable[[Any], str]]] = []
    pos = 0
    for m in matches:
        if m.start() > pos:
            parts.append(text[pos : m.start()])
        parts.append((m.group(1), CONVERSIONS[m.group(2) or default_conv]))
        pos = m.end()
    if pos < len(text):
        parts.append(text[pos:])

    def render(values: Values) -> str:
        return "".join(p if isinstance(p, str) else p[1](values.get(p[0])) for p in parts)

    return render


def _compile(value: Any, names: Collection[str], default_conv: str, secrets: SecretStore, where: str) -> _Render:
    if isinstance(value, str):
        return _compile_string(secrets.resolve(value, where), names, default_conv, where)
    if isinstance(value, Mapping):
        items = [
            (
                _compile_string(secrets.resolve(str(k), where), names, "str", where),
                _compile(v, names, default_conv, secrets, f"{where}.{k}"),
            )
            for k, v in value.items()
        ]
        return lambda values: {str(k(values)): v(values) for k, v in items}
    if isinstance(value, list | tuple):
        elements = [_compile(v, names, default_conv, secrets, f"{where}[{i}]") for i, v in enumerate(value)]
        return lambda values: [e(values) for e in elements]
    if value is None or isinstance(value, bool | int | float):
        return lambda values: value
    raise ConfigError(f"{where}: unsupported template value of type {type(value).__name__}")


class Template:
    """A compiled template: ``render(values)`` fills the placeholders.

    ``names`` are the allowed placeholder names; ``default_conv`` the
    conversion of embedded placeholders (``str``, or ``url`` for URLs).
    Raises :class:`ConfigError` for an unknown placeholder, conversion or an
    unset ``${VAR}``.
    """

    __slots__ = ("_render", "source")

    def __init__(
        self,
        source: Any,
        names: Collection[str],
        *,
        secrets: SecretStore | None = None,
        default_conv: str = "str",
        where: str = "template",
    ) -> None:
        """Compile ``source`` (see the module docstring)."""
        self.source = source
        self._render = _compile(source, frozenset(names), default_conv, secrets or SecretStore(), where)

    def render(self, values: Values) -> Any:
        """The template with ``values`` filled in (a fresh object on every call)."""
        return self._render(values)

    def __repr__(self) -> str:
        return "Template(<compiled>)"
