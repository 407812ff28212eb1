"""Report renderers: ``json``, ``junit``, ``sarif`` and ``html``.

Every format has the same signature, ``render(runs, stream)``, taking a sequence
of :class:`ragward.model.RunSummary` (one file may hold several runs, e.g. the
``vulnerable`` and ``hardened`` lab profiles) and writing text to ``stream``.
:func:`render` dispatches on the format name and :func:`write_report` writes a file.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from ragward.errors import ConfigError
from ragward.model import RunSummary
from ragward.reports import html_report, json_report, junit, sarif

Renderer = Callable[[Sequence[RunSummary], TextIO], None]

#: Format name → renderer.
FORMATS: dict[str, Renderer] = {
    "json": json_report.render,
    "junit": junit.render,
    "sarif": sarif.render,
    "html": html_report.render,
}


def _renderer(fmt: str) -> Renderer:
    """The renderer of ``fmt`` (case and surrounding blanks ignored); ``ConfigError`` if unknown."""
    key = fmt.strip().lower() if isinstance(fmt, str) else ""
    try:
        return FORMATS[key]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise ConfigError(f"unknown report format {fmt!r}; choose one of: {known}") from None


def _checked(runs: Sequence[RunSummary]) -> list[RunSummary]:
    """``runs`` as a list, or ``TypeError`` naming the first item that is not a RunSummary."""
    if isinstance(runs, RunSummary):
        raise TypeError("runs must be a sequence of RunSummary, not a single RunSummary")
    items = list(runs)
    for i, run in enumerate(items):
        if not isinstance(run, RunSummary):
            raise TypeError(f"runs[{i}] is a {type(run).__name__}, not a RunSummary")
    return items


def render(fmt: str, runs: Sequence[RunSummary], stream: TextIO) -> None:
    """Write the ``fmt`` report of ``runs`` to ``stream``.

    Raises :class:`ragward.errors.ConfigError` for an unknown format and
    ``TypeError`` when ``runs`` holds something other than ``RunSummary`` objects.
    """
    renderer = _renderer(fmt)
    renderer(_checked(runs), stream)


def write_report(fmt: str, runs: Sequence[RunSummary], path: Path) -> Path:
    """Render the ``fmt`` report of ``runs`` into the file ``path`` (UTF-8) and return ``path``.

    The report is rendered in memory first, so a rendering error leaves no
    partial file; missing parent directories are created. Raises ``ConfigError``
    for an unknown format or when the file cannot be written (the ``OSError`` is
    chained), ``TypeError`` as :func:`render`.
    """
    buffer = io.StringIO()
    render(fmt, runs, buffer)
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(buffer.getvalue(), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write the {fmt} report to {path}: {exc.strerror or exc}") from exc
    return path


__all__ = ["FORMATS", "Renderer", "render", "write_report"]
