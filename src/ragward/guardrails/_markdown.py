"""Markdown carriers of text a reader does not see (private).

Markdown renderers drop link reference definitions (``[label]: url "title"``),
so ``[//]: # (text)`` and ``[comment]: <> (text)`` are the common "Markdown
comment" idioms; an image's alt text is shown only when the image fails to
load. Both reach a model that reads the Markdown source (CommonMark 0.31 §4.7
link reference definitions; Greshake et al., arXiv 2302.12173, hidden text in
rendered documents).
"""

from __future__ import annotations

import re

from ragward.guardrails._html import Carrier

__all__ = ["comment_spans", "find_markdown_carriers"]

_DEFINITION = re.compile(
    r"^[ ]{0,3}\[([^\[\]\n]{1,200})\]:[ \t]*(<[^<>\n]*>|\S+)[ \t]+(?:\"([^\"\n]*)\"|'([^'\n]*)'|\(([^()\n]*)\))[ \t]*$",
    re.MULTILINE,
)
_IMAGE_ALT = re.compile(r"!\[([^\[\]\n]{1,1000})\]\(")


def find_markdown_carriers(text: str) -> list[Carrier]:
    """Link reference definitions with a title (Markdown comments) and image alt texts."""
    out: list[Carrier] = []
    if "]" not in text:
        return out
    for m in _DEFINITION.finditer(text):
        title = next(g for g in (m.group(3), m.group(4), m.group(5)) if g is not None).strip()
        if title:
            out.append(Carrier("comment", "Markdown comment (link reference definition title)", m.span(), title))
    for m in _IMAGE_ALT.finditer(text):
        alt = m.group(1).strip()
        if alt:
            out.append(Carrier("attribute", "Markdown image alt text", m.span(), alt))
    return out


def comment_spans(text: str) -> list[tuple[int, int]]:
    """Spans of Markdown comments: reference definitions whose target is ``#``,
    ``<>`` or ``//`` and which carry a title (they exist only to hide text)."""
    if "]:" not in text:
        return []
    spans: list[tuple[int, int]] = []
    for m in _DEFINITION.finditer(text):
        if m.group(2) in ("#", "<>", "//", "<#>"):
            spans.append(m.span())
    return spans
