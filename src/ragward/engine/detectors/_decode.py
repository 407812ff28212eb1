"""Find and decode encoded runs anywhere in a text (private).

Attackers hide secrets and instructions from string matching by encoding them:
base64 (standard, url-safe, unpadded, line-wrapped), hex, percent-encoding,
Unicode tag characters ("ASCII smuggling", Rehberger 2024) and variation
selectors (Butler 2025). :func:`decode_candidates` finds runs of each alphabet
with a regular expression, decodes them leniently and reports the span of each
run in the text it was found in. Every step is linear in the text length.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

from ragward.engine.detectors._text import is_tag_char, is_variation_selector

Encoding = Literal[
    "base64", "hex", "percent", "unicode_tags", "variation_selectors", "base32", "binary", "unicode_escape"
]

MIN_BASE64 = 12  # characters of a base64 run (9 bytes)
MIN_HEX_BYTES = 8
MAX_DEPTH = 3

_B64_TOKEN = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
_B64_GAP = re.compile(r"[ \t]*\r?\n[ \t>]*")
_B64_CLEAN = re.compile(r"[^A-Za-z0-9+/]")
_HEX_RUN = re.compile(r"(?:(?:0x|\\x)?[0-9A-Fa-f]{2}(?:, ?|[ :-])?){8,}")
_HEX_CLEAN = re.compile(r"0x|\\x|[^0-9A-Fa-f]")
_URL_TOKEN = re.compile(r"[^\s<>\"'`]+")
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_BASE32_RUN = re.compile(r"(?<![A-Za-z0-9])[A-Z2-7]{16,}={0,6}(?![A-Za-z0-9])")
_BINARY_RUN = re.compile(r"(?<![01])(?:[01]{8}[ ,]?){4,}")
_ESCAPE = re.compile(r"\\u[0-9A-Fa-f]{4}")  # \xXX escapes are hex runs
_ESCAPE_RUN = re.compile(r"(?:\\u[0-9A-Fa-f]{4}){4,}")


@dataclass(frozen=True)
class Decoded:
    """One decoded run: its encoding, its ``[start, end)`` span in the scanned
    text, the decoded text (bytes read as UTF-8 with replacement) and the share
    of printable characters in it (0–1)."""

    encoding: Encoding
    span: tuple[int, int]
    text: str
    printable: float

    @property
    def is_text(self) -> bool:
        """True when the run decodes to readable text (≥ 85 % printable)."""
        return self.printable >= 0.85 and len(self.text) >= 4


def printable_share(text: str) -> float:
    """Share (0–1) of printable characters in ``text`` (U+FFFD counts as not)."""
    if not text:
        return 0.0
    good = sum(1 for c in text if (c.isprintable() and c != "\ufffd") or c in "\n\r\t")
    return good / len(text)


def _bytes_to_text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace")


def _b64_decode(chars: str) -> bytes:
    chars = chars[: len(chars) - len(chars) % 4] if len(chars) % 4 == 1 else chars
    pad = "=" * (-len(chars) % 4)
    try:
        return binascii.a2b_base64(chars + pad)
    except (binascii.Error, ValueError):
        return b""


def _best_base64(run: str) -> tuple[str, float]:
    clean = _B64_CLEAN.sub("", run.replace("-", "+").replace("_", "/"))
    best, best_score = "", -1.0
    for offset in range(4):
        part = clean[offset:]
        if len(part) < MIN_BASE64 - 3:
            break
        text = _bytes_to_text(_b64_decode(part))
        score = printable_share(text)
        if score > best_score + 1e-9:
            best, best_score = text, score
        if score >= 0.99:
            break
    return best, max(best_score, 0.0)


def _base64_runs(text: str) -> list[Decoded]:
    out: list[Decoded] = []
    group_start = group_end = -1
    pieces: list[str] = []

    def flush() -> None:
        run = "".join(pieces)
        if len(run.rstrip("=")) >= MIN_BASE64 and any(c.isdigit() or c.isupper() for c in run):
            decoded, score = _best_base64(run)
            if decoded:
                out.append(Decoded("base64", (group_start, group_end), decoded, score))

    for m in _B64_TOKEN.finditer(text):
        if pieces and _B64_GAP.fullmatch(text, group_end, m.start()):
            pieces.append(m.group())
            group_end = m.end()
            continue
        if pieces:
            flush()
        pieces = [m.group()]
        group_start, group_end = m.start(), m.end()
    if pieces:
        flush()
    return out


def _hex_runs(text: str) -> list[Decoded]:
    out: list[Decoded] = []
    for m in _HEX_RUN.finditer(text):
        digits = _HEX_CLEAN.sub("", m.group())
        best, best_score = "", -1.0
        for offset in (0, 1):
            part = digits[offset:]
            part = part[: len(part) - len(part) % 2]
            if len(part) < 2 * MIN_HEX_BYTES:
                continue
            decoded = _bytes_to_text(bytes.fromhex(part))
            score = printable_share(decoded)
            if score > best_score + 1e-9:
                best, best_score = decoded, score
        if best:
            out.append(Decoded("hex", (m.start(), m.end()), best, best_score))
    return out


def _percent_runs(text: str) -> list[Decoded]:
    out: list[Decoded] = []
    if "%" not in text:
        return out
    for m in _URL_TOKEN.finditer(text):
        token = m.group()
        if "%" in token and _PERCENT.search(token):
            decoded = unquote(token, errors="replace")
            out.append(Decoded("percent", (m.start(), m.end()), decoded, printable_share(decoded)))
    return out


def _base32_runs(text: str) -> list[Decoded]:
    out: list[Decoded] = []
    for m in _BASE32_RUN.finditer(text):
        run = m.group().rstrip("=")
        if not any(c.isdigit() for c in run) or len(run) % 8 in (1, 3, 6):
            continue
        try:
            raw = base64.b32decode(run + "=" * (-len(run) % 8))
        except (binascii.Error, ValueError):
            continue
        decoded = _bytes_to_text(raw)
        out.append(Decoded("base32", m.span(), decoded, printable_share(decoded)))
    return out


def _binary_runs(text: str) -> list[Decoded]:
    out: list[Decoded] = []
    for m in _BINARY_RUN.finditer(text):
        bits = re.sub(r"[^01]", "", m.group())
        raw = bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits) - len(bits) % 8, 8))
        decoded = _bytes_to_text(raw)
        out.append(Decoded("binary", m.span(), decoded, printable_share(decoded)))
    return out


def _escape_runs(text: str) -> list[Decoded]:
    out: list[Decoded] = []
    if "\\" not in text:
        return out
    for m in _ESCAPE_RUN.finditer(text):
        points = [int(part[2:], 16) for part in _ESCAPE.findall(m.group())]
        decoded = "".join("\ufffd" if 0xD800 <= p <= 0xDFFF else chr(p) for p in points)
        out.append(Decoded("unicode_escape", m.span(), decoded, printable_share(decoded)))
    return out


def _tag_runs(text: str) -> list[Decoded]:
    out: list[Decoded] = []
    start = -1
    chars: list[str] = []
    for i, ch in enumerate([*text, "\0"]):
        if i < len(text) and is_tag_char(ch):
            if start < 0:
                start = i
            o = ord(ch) - 0xE0000
            if 0x20 <= o <= 0x7E:
                chars.append(chr(o))
            continue
        if start >= 0:
            decoded = "".join(chars)
            out.append(Decoded("unicode_tags", (start, i), decoded, printable_share(decoded)))
            start, chars = -1, []
    return out


def _selector_runs(text: str) -> list[Decoded]:
    out: list[Decoded] = []
    start = -1
    raw = bytearray()
    for i, ch in enumerate([*text, "\0"]):
        if i < len(text) and is_variation_selector(ch):
            if start < 0:
                start = i
            o = ord(ch)
            raw.append(o - 0xFE00 if o <= 0xFE0F else o - 0xE0100 + 16)
            continue
        if start >= 0:
            if len(raw) >= 4:
                decoded = _bytes_to_text(bytes(raw))
                out.append(Decoded("variation_selectors", (start, i), decoded, printable_share(decoded)))
            start, raw = -1, bytearray()
    return out


def decode_candidates(text: str) -> list[Decoded]:
    """Every encoded run found in ``text``, decoded (one level, no recursion).

    Base64 runs are tokens of the standard or url-safe alphabet of at least
    12 characters, joined across line breaks (MIME wraps at 76); the decoder
    tries the 4 alignments and keeps the most readable one. Hex runs are 8+
    byte pairs, optionally ``0x``/``\\x``-prefixed or separated by spaces,
    colons, commas or dashes. Percent runs are URL-like tokens holding ``%XX``.
    Base32 runs are 16+ characters of the RFC 4648 alphabet with a digit;
    binary runs are 4+ groups of 8 bits; escape runs are 4+ ``\\uXXXX``
    escapes (``\\xXX`` escapes are hex runs).
    """
    if not text:
        return []
    found = _base64_runs(text) + _hex_runs(text) + _percent_runs(text)
    found += _base32_runs(text) + _binary_runs(text) + _escape_runs(text)
    if not text.isascii():
        found += _tag_runs(text) + _selector_runs(text)
    return found
