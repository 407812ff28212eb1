"""Invisible Unicode that hides text from a human reviewer (private).

* Tag characters U+E0000–U+E007F mirror ASCII and render as nothing
  ("ASCII smuggling", Rehberger, Embrace The Red, 2024; Goodside, 2024).
  Emoji subdivision flags (🏴 + tags + U+E007F) are legitimate and skipped.
* Zero-width characters between Latin letters split words so filters miss
  them while a tokenizer still reads them.
* Bidi embedding/override/isolate controls reorder what is displayed
  (Boucher & Anderson, "Trojan Source", CVE-2021-42574).
* Runs of variation selectors smuggle bytes (Butler, "Smuggling arbitrary data
  through an emoji", 2025).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ragward.engine.detectors._decode import decode_candidates
from ragward.engine.detectors._text import (
    BIDI_CONTROLS,
    ZERO_WIDTH,
    is_invisible,
    is_tag_char,
    is_variation_selector,
)

InvisibleKind = Literal["unicode_tags", "zero_width", "bidi", "variation_selectors"]

_FLAG_BASE = "\U0001f3f4"
_CANCEL_TAG = "\U000e007f"
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")
_CLUSTER_GAP = 40


@dataclass(frozen=True)
class InvisibleRun:
    """A cluster of invisible characters of one kind.

    ``span`` covers the cluster in the scanned text; ``count`` is the number of
    invisible characters in it; ``hidden`` the text they encode (tags and
    selectors) or "" ; ``rtl_context`` is True when a bidi control sits on a
    line that also holds right-to-left script (where it may be legitimate).
    """

    kind: InvisibleKind
    span: tuple[int, int]
    count: int
    hidden: str = ""
    rtl_context: bool = False


def _is_flag_sequence(text: str, start: int, end: int) -> bool:
    return start > 0 and text[start - 1] == _FLAG_BASE and text[end - 1] == _CANCEL_TAG


def _neighbour(text: str, i: int, step: int) -> str:
    j = i + step
    while 0 <= j < len(text) and is_invisible(text[j]):
        j += step
    return text[j] if 0 <= j < len(text) else ""


def _suspicious_zero_width(text: str, i: int) -> bool:
    ch = text[i]
    if ch == "\u00ad":  # soft hyphen: a hyphenation hint
        return False
    if ch == "\ufeff" and i == 0:  # byte order mark
        return False
    before, after = _neighbour(text, i, -1), _neighbour(text, i, 1)
    # ZWJ/ZWNJ join emoji and shape Arabic/Indic scripts: only suspicious
    # between ASCII characters.
    return bool(before) and bool(after) and before.isascii() and after.isascii()


def _clusters(positions: list[int]) -> list[tuple[int, int, int]]:
    out: list[tuple[int, int, int]] = []
    for p in positions:
        if out and p - out[-1][1] <= _CLUSTER_GAP:
            start, _, count = out[-1]
            out[-1] = (start, p + 1, count + 1)
        else:
            out.append((p, p + 1, 1))
    return out


def find_invisible(text: str) -> list[InvisibleRun]:
    """Clusters of suspicious invisible characters in ``text``, in text order."""
    if text.isascii():
        return []
    runs: list[InvisibleRun] = []
    for dec in decode_candidates(text):
        if dec.encoding == "unicode_tags" and not _is_flag_sequence(text, *dec.span):
            runs.append(InvisibleRun("unicode_tags", dec.span, dec.span[1] - dec.span[0], dec.text))
        elif dec.encoding == "variation_selectors":
            runs.append(InvisibleRun("variation_selectors", dec.span, dec.span[1] - dec.span[0], dec.text))
    zero_width: list[int] = []
    bidi: list[int] = []
    for i, ch in enumerate(text):
        if ch in ZERO_WIDTH and _suspicious_zero_width(text, i):
            zero_width.append(i)
        elif ch in BIDI_CONTROLS:
            bidi.append(i)
    for start, end, count in _clusters(zero_width):
        runs.append(InvisibleRun("zero_width", (start, end), count))
    for start, end, count in _clusters(bidi):
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", end)
        line = text[line_start : line_end if line_end >= 0 else len(text)]
        runs.append(InvisibleRun("bidi", (start, end), count, rtl_context=bool(_RTL.search(line))))
    runs.sort(key=lambda r: r.span)
    return runs


def strip_invisible(text: str) -> tuple[str, list[tuple[int, int]]]:
    """``text`` without zero-width, bidi-control, tag and variation-selector characters.

    Keeps ZWJ/ZWNJ and single variation selectors outside ASCII context (emoji,
    Arabic and Indic shaping) and emoji subdivision flags. Returns the cleaned
    text and the ``[start, end)`` spans removed (in ``text`` coordinates).
    """
    if text.isascii():
        return text, []
    remove: list[tuple[int, int]] = []
    for run in find_invisible(text):
        if run.kind in ("unicode_tags", "variation_selectors"):
            remove.append(run.span)
        else:
            remove.extend((i, i + 1) for i in range(*run.span) if text[i] in ZERO_WIDTH or text[i] in BIDI_CONTROLS)
    # Stray tag characters and selectors outside detected runs.
    for i, ch in enumerate(text):
        if is_tag_char(ch) and not any(s <= i < e for s, e in remove):
            if not _in_flag(text, i):
                remove.append((i, i + 1))
        elif ch in BIDI_CONTROLS or (is_variation_selector(ch) and ord(ch) > 0xFFFF):
            remove.append((i, i + 1))
    merged: list[tuple[int, int]] = []
    for s, e in sorted(set(remove)):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    out: list[str] = []
    pos = 0
    for s, e in merged:
        out.append(text[pos:s])
        pos = e
    out.append(text[pos:])
    return "".join(out), merged


def _in_flag(text: str, i: int) -> bool:
    j = i
    while j > 0 and is_tag_char(text[j - 1]):
        j -= 1
    k = i
    while k < len(text) and is_tag_char(text[k]):
        k += 1
    return _is_flag_sequence(text, j, k)
