"""Text of a PDF with the hidden parts marked (private).

A PDF can carry text a reader never sees but a text extractor (and so a RAG
pipeline) reads: text in the invisible render mode (``3 Tr``), white text on
a white page, text in a font too small to read, text placed outside the page,
and strings in the document information dictionary or in annotations. Each
was used to plant instructions for LLM-based screening tools (Greshake et al.,
arXiv 2302.12173 §4; Kai Greshake's "inject my PDF" résumé demonstration,
2023; reports of hidden white text in papers aimed at LLM reviewers, Nikkei
Asia, July 2025; OWASP LLM01:2025 scenario on hidden text in documents).

The PDF is parsed with pdfminer.six, which interprets the content streams and
gives, per character, its position, size, fill colour and the text render
mode in force. Invisible render mode over an image is an OCR text layer (a
scanned page), white text over a dark filled shape or over an image is
light-on-dark design: both count as visible.

:func:`extract_pdf` raises :class:`PdfError` on anything it cannot parse; the
ingest scanner turns that into a quarantine (fail closed).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["PdfError", "PdfRun", "PdfText", "extract_pdf"]

#: Characters smaller than this (in points) cannot be read on a page.
TINY_FONT_PT = 1.5
#: Fill luminance (0 black – 1 white) at or above which text is white.
WHITE = 0.95
MAX_PAGES = 2000
MAX_CHARS = 5_000_000

_INVISIBLE_MODES = (3, 7)  # 3: neither fill nor stroke; 7: add to clipping path only
_STROKE_ONLY_MODES = (1, 5)

Rect = tuple[float, float, float, float]


class PdfError(Exception):
    """The PDF could not be parsed (malformed, encrypted, too large, or no parser)."""


@dataclass(frozen=True)
class PdfRun:
    """A stretch of a PDF's text with one visibility.

    ``reason`` is ``"visible"`` or why the text is hidden (``"invisible render
    mode 3"``, ``"white text on a white page"``, ``"tiny font (0.5 pt)"``,
    ``"text placed off the page"``) or where it sits (``"PDF metadata Title"``,
    ``"annotation"``); ``hidden`` is true for the hidden reasons; ``page``
    counts from 1 (0 for metadata); ``span`` is the ``[start, end)`` range in
    :attr:`PdfText.text`.
    """

    reason: str
    hidden: bool
    page: int
    span: tuple[int, int]
    text: str


@dataclass(frozen=True)
class PdfText:
    """The text of a PDF: ``text`` holds every run (visible and hidden) in
    content-stream order, then metadata and annotations; ``visible`` only what
    a reader sees; ``runs`` the runs; ``pages`` the number of pages."""

    text: str
    visible: str
    runs: tuple[PdfRun, ...]
    pages: int

    @property
    def hidden_runs(self) -> list[PdfRun]:
        """The runs a reader does not see."""
        return [r for r in self.runs if r.hidden]


@dataclass
class _Char:
    text: str
    bbox: Rect
    size: float
    render: int
    luminance: float | None
    page: int


def _luminance(color: object) -> float | None:
    """Luminance (0–1) of a pdfminer colour value (gray, RGB or CMYK), None if unknown."""
    try:
        if isinstance(color, (int, float)):
            return float(color)
        if isinstance(color, (list, tuple)):
            values = [float(v) for v in color]
            if len(values) == 1:
                return values[0]
            if len(values) == 3:
                r, g, b = values
                return 0.299 * r + 0.587 * g + 0.114 * b
            if len(values) == 4:
                c, m, y, k = values
                return (1 - c) * (1 - m) * (1 - y) * (1 - k)
    except (TypeError, ValueError):
        return None
    return None


def _apply(matrix: Sequence[float], x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = matrix
    return a * x + c * y + e, b * x + d * y + f


def _bbox(points: list[tuple[float, float]]) -> Rect:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def _inside(point: tuple[float, float], rect: Rect) -> bool:
    return rect[0] <= point[0] <= rect[2] and rect[1] <= point[1] <= rect[3]


def _make_collector(rsrcmgr: Any) -> Any:
    """A pdfminer text device recording characters, images and filled shapes."""
    from pdfminer.layout import LTChar
    from pdfminer.pdfdevice import PDFTextDevice
    from pdfminer.pdffont import PDFUnicodeNotDefined

    class Collector(PDFTextDevice):
        def __init__(self) -> None:
            super().__init__(rsrcmgr)
            self.chars: list[_Char] = []
            self.images: dict[int, list[Rect]] = {}
            self.fills: dict[int, list[tuple[Rect, float]]] = {}
            self.boxes: dict[int, Rect] = {}
            self.page = 0
            self.render = 0

        def begin_page(self, page: Any, ctm: Any) -> None:
            self.page += 1
            x0, y0, x1, y1 = (float(v) for v in page.cropbox)
            self.boxes[self.page] = _bbox([_apply(ctm, x, y) for x, y in ((x0, y0), (x1, y1), (x0, y1), (x1, y0))])

        def render_string(self, textstate: Any, seq: Any, ncs: Any, graphicstate: Any) -> None:
            self.render = int(textstate.render or 0)
            super().render_string(textstate, seq, ncs, graphicstate)

        def render_char(
            self,
            matrix: Any,
            font: Any,
            fontsize: float,
            scaling: float,
            rise: float,
            cid: int,
            ncs: Any,
            graphicstate: Any,
        ) -> float:
            try:
                text = font.to_unichr(cid)
            except PDFUnicodeNotDefined:
                text = ""
            item = LTChar(
                matrix,
                font,
                fontsize,
                scaling,
                rise,
                text,
                font.char_width(cid),
                font.char_disp(cid),
                ncs,
                graphicstate,
            )
            if len(self.chars) >= MAX_CHARS:
                raise PdfError(f"more than {MAX_CHARS} characters of text")
            self.chars.append(
                _Char(text, item.bbox, abs(item.size), self.render, _luminance(graphicstate.ncolor), self.page)
            )
            return float(item.adv)

        def render_image(self, name: str, stream: Any) -> None:
            if self.ctm is not None:
                corners = [_apply(self.ctm, x, y) for x, y in ((0, 0), (1, 1), (0, 1), (1, 0))]
                self.images.setdefault(self.page, []).append(_bbox(corners))

        def paint_path(self, gstate: Any, stroke: bool, fill: bool, evenodd: bool, path: Any) -> None:
            if not fill or self.ctm is None:
                return
            points = [(float(seg[-2]), float(seg[-1])) for seg in path if len(seg) >= 3]
            lum = _luminance(gstate.ncolor)
            if len(points) >= 3 and lum is not None:
                self.fills.setdefault(self.page, []).append((_bbox([_apply(self.ctm, x, y) for x, y in points]), lum))

    return Collector()


def _hidden_reason(ch: _Char, images: list[Rect], fills: list[tuple[Rect, float]], page_box: Rect) -> str | None:
    x0, y0, x1, y1 = ch.bbox
    centre = ((x0 + x1) / 2, (y0 + y1) / 2)
    over_image = any(_inside(centre, r) for r in images)
    if ch.render in _INVISIBLE_MODES:
        return None if over_image else f"invisible render mode {ch.render}"
    if x1 < page_box[0] or x0 > page_box[2] or y1 < page_box[1] or y0 > page_box[3]:
        return "text placed off the page"
    if ch.size < TINY_FONT_PT:
        return "tiny font (under 1.5 pt)"
    if ch.render in _STROKE_ONLY_MODES or ch.luminance is None or over_image:
        return None
    under = [lum for rect, lum in fills if _inside(centre, rect)]
    background = under[-1] if under else 1.0  # the page itself is white
    if abs(background - ch.luminance) < 0.05:
        return "white text on a white page" if background >= WHITE else "text coloured like its background"
    return None


def _assemble(chars: list[_Char], collector: Any) -> tuple[str, list[tuple[str, int, int, int]]]:
    """Join characters into text; returns the text and (reason, page, start, end) runs."""
    parts: list[str] = []
    runs: list[tuple[str, int, int, int]] = []
    length = 0
    prev: _Char | None = None
    prev_reason = ""
    for ch in chars:
        page = ch.page
        if prev is not None and ch.text.isspace() and page == prev.page:
            reason = prev_reason  # a space takes the visibility of the word before it
        else:
            reason = (
                _hidden_reason(ch, collector.images.get(page, []), collector.fills.get(page, []), collector.boxes[page])
                or "visible"
            )
        sep = ""
        if prev is not None:
            line = max(prev.size, ch.size, 1.0)
            if page != prev.page:
                sep = "\n\n"
            elif abs(ch.bbox[1] - prev.bbox[1]) > 0.6 * line:
                sep = "\n"
            elif not prev.text.isspace() and not ch.text.isspace():
                gap = ch.bbox[0] - prev.bbox[2] > 0.25 * line
                sep = " " if gap or reason != prev_reason else ""
        if sep:
            parts.append(sep)
            length += len(sep)
        if not runs or runs[-1][0] != reason or runs[-1][1] != page:
            runs.append((reason, page, length, length))
        parts.append(ch.text)
        length += len(ch.text)
        runs[-1] = (reason, page, runs[-1][2], length)
        prev, prev_reason = ch, reason
    return "".join(parts), runs


def _decode_pdf_string(value: Any) -> str:
    from pdfminer.pdftypes import resolve1
    from pdfminer.utils import decode_text

    value = resolve1(value)
    if isinstance(value, bytes):
        return str(decode_text(value))
    return value if isinstance(value, str) else ""


def _extras(document: Any, pages: list[Any]) -> list[tuple[str, int, str]]:
    """(reason, page, text) of metadata strings and annotation contents."""
    from pdfminer.pdftypes import resolve1

    out: list[tuple[str, int, str]] = []
    for info in document.info:
        for key in ("Title", "Subject", "Keywords", "Author", "Creator"):
            text = _decode_pdf_string(info.get(key)).strip()
            if text:
                out.append((f"PDF metadata {key}", 0, text))
    for number, page in enumerate(pages, start=1):
        for annot in resolve1(page.annots) or []:
            annot = resolve1(annot)
            if isinstance(annot, dict):
                text = _decode_pdf_string(annot.get("Contents")).strip()
                if text:
                    out.append(("annotation", number, text))
    return out


def extract_pdf(data: bytes, *, max_pages: int = MAX_PAGES) -> PdfText:
    """Parse a PDF and return its text with hidden runs marked.

    Args:
        data: the PDF file's bytes.
        max_pages: more pages than this is refused (a parser bomb guard).

    Returns:
        A :class:`PdfText`.

    Raises:
        PdfError: pdfminer.six is not installed, the file is not a PDF, is
            malformed, encrypted with a password, has no pages, or is larger
            than the limits.
        TypeError: ``data`` is not bytes.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"PDF data must be bytes, not {type(data).__name__}")
    try:
        from pdfminer.pdfdocument import PDFDocument
        from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
        from pdfminer.pdfpage import PDFPage
        from pdfminer.pdfparser import PDFParser
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise PdfError("PDF support needs the pdfminer.six package") from exc
    raw = bytes(data)
    if b"%PDF-" not in raw[:1024]:
        raise PdfError("not a PDF (no %PDF- header)")
    try:
        document = PDFDocument(PDFParser(io.BytesIO(raw)))
        if not document.is_extractable:
            raise PdfError("the PDF forbids text extraction")
        rsrcmgr = PDFResourceManager(caching=True)
        collector = _make_collector(rsrcmgr)
        interpreter = PDFPageInterpreter(rsrcmgr, collector)
        pages: list[Any] = []
        for page in PDFPage.create_pages(document):
            if len(pages) >= max_pages:
                raise PdfError(f"more than {max_pages} pages")
            pages.append(page)
            interpreter.process_page(page)
        extras = _extras(document, pages)
    except PdfError:
        raise
    except Exception as exc:  # pdfminer raises many types on malformed input
        raise PdfError(f"{type(exc).__name__}: {exc}".strip()) from exc
    if not pages:
        raise PdfError("the PDF has no pages")
    text, raw_runs = _assemble(collector.chars, collector)
    runs = [PdfRun(reason, reason != "visible", page, (s, e), text[s:e]) for reason, page, s, e in raw_runs if e > s]
    parts = [text]
    length = len(text)
    for where, number, extra in extras:
        parts.append("\n\n")
        length += 2
        runs.append(PdfRun(where, False, number, (length, length + len(extra)), extra))
        parts.append(extra)
        length += len(extra)
    hidden = [r.span for r in runs if r.hidden]
    kept: list[str] = []
    pos = 0
    for start, end in hidden:
        kept.append(text[pos:start])
        pos = end
    kept.append(text[pos:])
    visible = " ".join(" ".join(part.split(" ")) for part in kept if part.strip()).strip()
    return PdfText("".join(parts), visible, tuple(runs), len(pages))
