"""Text normalisation with an offset map back to the original text (private).

Detectors match on a *folded* view of a text (NFKC, invisible characters
removed, HTML entities decoded, common homoglyphs mapped to Latin, case folded)
and on *projections* of it (letters and digits only), but report spans in the
original text. :class:`Mapped` carries, for every character of a derived text,
the ``[start, end)`` range of the original characters it came from.

Sources for the character classes: Unicode TR36 / UTS #39 (confusables),
Boucher & Anderson, "Trojan Source" (CVE-2021-42574) for bidi controls,
Rehberger, "ASCII smuggler" (Embrace The Red, 2024) for the tag block, and
Butler, "Smuggling arbitrary data through an emoji" (2025) for variation
selectors.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

#: Zero-width and other invisible formatting characters (no glyph, no advance).
ZERO_WIDTH = frozenset(
    "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u180e\u00ad\u034f\u115f\u1160\u3164\uffa0\u17b4\u17b5"
)
#: Bidirectional embedding, override and isolate controls (Trojan Source).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: Bidi marks, invisible but common in right-to-left text.
BIDI_MARKS = frozenset("\u200e\u200f\u061c")
TAG_FIRST, TAG_LAST = 0xE0000, 0xE007F


def is_tag_char(ch: str) -> bool:
    """True for a character of the Unicode tag block U+E0000–U+E007F."""
    return TAG_FIRST <= ord(ch) <= TAG_LAST


def is_variation_selector(ch: str) -> bool:
    """True for U+FE00–U+FE0F and U+E0100–U+E01EF (variation selectors)."""
    o = ord(ch)
    return 0xFE00 <= o <= 0xFE0F or 0xE0100 <= o <= 0xE01EF


def is_invisible(ch: str) -> bool:
    """True for characters that render as nothing (zero-width, bidi, tags, selectors)."""
    return ch in ZERO_WIDTH or ch in BIDI_CONTROLS or ch in BIDI_MARKS or is_tag_char(ch) or is_variation_selector(ch)


# Cyrillic and Greek letters that look like Latin ones (subset of UTS #39 confusables).
_HOMOGLYPH_PAIRS = (
    "АA ВB ЕE КK МM НH ОO РP СC ТT ХX ЅS ІI ЈJ ԌG ԛq ԝw Үy УY "
    "аa вb еe кk мm нh оo рp сc тt хx ѕs іi јj ԁd ɡg һh ӏl үy уy "
    "ΑA ΒB ΕE ΖZ ΗH ΙI ΚK ΜM ΝN ΟO ΡP ΤT ΥY ΧX "
    "αa βb εe ιi κk νv οo ρp τt υu χx"
)
HOMOGLYPHS: dict[str, str] = {pair[0]: pair[1] for pair in _HOMOGLYPH_PAIRS.split() if len(pair) == 2}

# Crockford base32 decoding rules (I and L read as 1, O as 0), applied to
# projections so that look-alike letters and digits still match.
_CROCKFORD = str.maketrans({"o": "0", "i": "1", "l": "1"})

_ENTITY_RE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_TAG_RE = re.compile(r"<[a-z!/?][^<>]{0,2000}>")


@dataclass(frozen=True)
class Mapped:
    """A derived text with the original range of each of its characters.

    ``starts[i]`` / ``ends[i]`` give the ``[start, end)`` range in the original
    text that produced ``text[i]`` (several derived characters may share one).
    """

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original ``(start, end)`` range covering derived characters ``[start, end)``."""
        if end <= start:
            raise ValueError(f"empty span {start}:{end}")
        return self.starts[start], self.ends[end - 1]


def _fold_char(ch: str) -> str:
    if ch.isascii():
        return ch.lower()
    if is_invisible(ch):
        return ""
    out = []
    for c in unicodedata.normalize("NFKC", ch):
        out.append(HOMOGLYPHS.get(c, c))
    return "".join(out).casefold()


def fold(text: str) -> Mapped:
    """Fold ``text``: decode HTML entities, NFKC, drop invisible characters,
    map homoglyphs, case-fold. Offsets map back to ``text``.
    """
    if text.isascii() and "&" not in text:
        folded = text.lower()
        idx = tuple(range(len(text)))
        return Mapped(folded, idx, tuple(i + 1 for i in idx))
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    n = len(text)
    while pos < n:
        ch = text[pos]
        if ch == "&":
            m = _ENTITY_RE.match(text, pos)
            if m is not None:
                decoded = html.unescape(m.group())
                if decoded != m.group():
                    for c in decoded:
                        for f in _fold_char(c):
                            chars.append(f)
                            starts.append(pos)
                            ends.append(m.end())
                    pos = m.end()
                    continue
        for f in _fold_char(ch):
            chars.append(f)
            starts.append(pos)
            ends.append(pos + 1)
        pos += 1
    return Mapped("".join(chars), tuple(starts), tuple(ends))


def project(mapped: Mapped, *, strip_tags: bool = False) -> Mapped:
    """Keep only letters and digits of a folded text (Crockford I/L→1, O→0).

    With ``strip_tags`` the characters of HTML tags (``<b>``, ``</span>``,
    ``<!-- … -->`` and their attributes) are dropped first, so markup between
    the characters of a secret does not hide it.
    """
    text = mapped.text
    drop: list[tuple[int, int]] = []
    if strip_tags and "<" in text:
        drop = [(m.start(), m.end()) for m in _TAG_RE.finditer(text)]
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    d = 0
    for i, ch in enumerate(text):
        while d < len(drop) and drop[d][1] <= i:
            d += 1
        if d < len(drop) and drop[d][0] <= i:
            continue
        if ch.isalnum():
            chars.append(ch)
            starts.append(mapped.starts[i])
            ends.append(mapped.ends[i])
    return Mapped("".join(chars).translate(_CROCKFORD), tuple(starts), tuple(ends))


def key_of(secret: str) -> str:
    """The projection of a secret (folded, letters and digits only)."""
    return project(fold(secret)).text


def pick(mapped: Mapped, indices: list[int], text: str | None = None) -> Mapped:
    """A derived text made of ``mapped``'s characters at ``indices`` (in that order).

    ``text`` replaces the picked characters one for one (same length), for
    substitutions that keep offsets (leetspeak digits read as letters).

    Raises:
        ValueError: ``text`` is given and its length differs from ``indices``.
    """
    chars = "".join(mapped.text[i] for i in indices) if text is None else text
    if len(chars) != len(indices):
        raise ValueError(f"text has {len(chars)} characters for {len(indices)} indices")
    return Mapped(chars, tuple(mapped.starts[i] for i in indices), tuple(mapped.ends[i] for i in indices))


_ITEM_SPLIT = re.compile(r"[\n,;|]+")


def scattered(mapped: Mapped) -> list[Mapped]:
    """Views that read a secret hidden one character at a time in a longer text.

    A model asked to slip a secret into an alphabet recital or an acrostic writes
    it as every second character (``A R B W C C …``), or as the first or last
    letter or digit of each line or list item (``A is for R, B is for W, …``).
    Returns, for a *projected* text (letters and digits only, see :func:`project`)
    computed from the folded ``mapped``: the two stride-2 views, and the views of
    the first and of the last letter or digit of each item (items split on line
    breaks, commas, semicolons and pipes). Each view maps back to the original text.
    """
    plain = project(mapped)
    views = [pick(plain, list(range(0, len(plain.text), 2))), pick(plain, list(range(1, len(plain.text), 2)))]
    firsts: list[int] = []
    lasts: list[int] = []
    pos = 0
    text = mapped.text
    for m in [*_ITEM_SPLIT.finditer(text), None]:
        end = m.start() if m is not None else len(text)
        item = [i for i in range(pos, end) if text[i].isalnum()]
        if item:
            firsts.append(item[0])
            lasts.append(item[-1])
        pos = m.end() if m is not None else len(text)
    for picked in (firsts, lasts):
        if len(picked) >= MIN_SCATTERED:
            view = pick(mapped, picked)
            views.append(Mapped(view.text.translate(_CROCKFORD), view.starts, view.ends))
    return [v for v in views if len(v.text) >= MIN_SCATTERED]


#: Fewest characters a scattered view needs to be searched at all.
MIN_SCATTERED = 8
