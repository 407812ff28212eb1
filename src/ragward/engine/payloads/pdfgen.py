"""A minimal PDF writer for the PDFs the scanner plants and for test and evaluation documents.

Writes PDF 1.4 files by hand (ISO 32000-1: one catalog, a page tree, pages
whose content stream draws text in the standard Helvetica font, filled
rectangles and, optionally, a 1×1 grey image), with a correct cross-reference
table. It exists so that tests and the evaluation corpus can produce PDFs
with hidden text (render mode 3, white on white, tiny fonts, text off the
page) deterministically and without a PDF library; it is not a general PDF
writer: text is Latin-1 only. Content streams are not compressed.
:func:`truncate_before_xref` makes a malformed PDF from a well-formed one.
The deep scan profile (:mod:`ragward.engine.suites.pdf`) and the guardrail
evaluation corpus (:mod:`ragward.guardrails.eval.corpus`) use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["PdfImage", "PdfPage", "PdfRect", "PdfTextItem", "truncate_before_xref", "write_pdf"]

PAGE_SIZE = (595.0, 842.0)  # A4 in points


@dataclass(frozen=True)
class PdfTextItem:
    """Text drawn at (``x``, ``y``) points from the lower-left corner, ``size``
    points high, with fill colour ``rgb`` (0–1 each) and text render ``mode``
    (0 fill, 3 invisible; ISO 32000-1 §9.3.6)."""

    text: str
    x: float = 72.0
    y: float = 760.0
    size: float = 11.0
    rgb: tuple[float, float, float] = (0.0, 0.0, 0.0)
    mode: int = 0


@dataclass(frozen=True)
class PdfRect:
    """A filled rectangle (``x``, ``y``, ``width``, ``height``) in colour ``rgb``."""

    x: float
    y: float
    width: float
    height: float
    rgb: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class PdfImage:
    """A 1×1 grey image scaled to (``x``, ``y``, ``width``, ``height``): stands
    in for a scanned page under an OCR text layer."""

    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class PdfPage:
    """One page: shapes and images are drawn first, then ``texts`` in order."""

    texts: tuple[PdfTextItem, ...] = ()
    rects: tuple[PdfRect, ...] = ()
    images: tuple[PdfImage, ...] = ()
    size: tuple[float, float] = PAGE_SIZE


@dataclass
class _Writer:
    objects: list[bytes] = field(default_factory=list)

    def add(self, body: bytes) -> int:
        self.objects.append(body)
        return len(self.objects)

    def stream(self, content: bytes, extra: bytes = b"") -> int:
        return self.add(b"<< /Length %d%s >>\nstream\n%s\nendstream" % (len(content), extra, content))


def _escape(text: str) -> bytes:
    raw = text.encode("latin-1", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _num(value: float) -> bytes:
    return (f"{value:.3f}".rstrip("0").rstrip(".") or "0").encode()


def _content(page: PdfPage) -> bytes:
    ops: list[bytes] = []
    for rect in page.rects:
        r, g, b = (_num(v) for v in rect.rgb)
        ops.append(
            b"%s %s %s rg %s %s %s %s re f" % (r, g, b, *(_num(v) for v in (rect.x, rect.y, rect.width, rect.height)))
        )
    for image in page.images:
        ops.append(
            b"q %s 0 0 %s %s %s cm /Im1 Do Q" % tuple(_num(v) for v in (image.width, image.height, image.x, image.y))
        )
    for item in page.texts:
        r, g, b = (_num(v) for v in item.rgb)
        ops.append(
            b"BT /F1 %s Tf %d Tr %s %s %s rg %s %s Td (%s) Tj ET"
            % (_num(item.size), item.mode, r, g, b, _num(item.x), _num(item.y), _escape(item.text))
        )
    return b"\n".join(ops)


def write_pdf(pages: list[PdfPage], *, title: str = "", subject: str = "") -> bytes:
    """The bytes of a PDF with ``pages`` and optional ``title``/``subject`` metadata.

    Raises:
        ValueError: ``pages`` is empty.
    """
    if not pages:
        raise ValueError("a PDF needs at least one page")
    w = _Writer()
    catalog = w.add(b"")  # filled below
    tree = w.add(b"")
    font = w.add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    image = w.stream(
        b"\x80", b" /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8"
    )
    kids: list[int] = []
    for page in pages:
        content = w.stream(_content(page))
        width, height = page.size
        kids.append(
            w.add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s] /Contents %d 0 R "
                b"/Resources << /Font << /F1 %d 0 R >> /XObject << /Im1 %d 0 R >> >> >>"
                % (tree, _num(width), _num(height), content, font, image)
            )
        )
    w.objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % tree
    w.objects[tree - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    info = None
    if title or subject:
        info = w.add(b"<< /Title (%s) /Subject (%s) >>" % (_escape(title), _escape(subject)))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets: list[int] = []
    for number, body in enumerate(w.objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(w.objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    trailer = b"<< /Size %d /Root %d 0 R" % (len(w.objects) + 1, catalog)
    if info is not None:
        trailer += b" /Info %d 0 R" % info
    out += b"trailer\n%s >>\nstartxref\n%d\n%%%%EOF\n" % (trailer, xref)
    return bytes(out)


def truncate_before_xref(pdf: bytes) -> bytes:
    """``pdf`` cut off just before its cross-reference table, trailer and ``%%EOF``.

    This is what a truncated download or a broken writer leaves: every object
    (and so every uncompressed content stream) is still in the file, but there
    is no cross-reference table and no trailer naming the ``/Root`` catalog
    (ISO 32000-1 §7.5.4–7.5.5). A strict parser (pdfminer.six) refuses it; a
    lenient loader still finds the text in the content streams.

    Raises:
        ValueError: ``pdf`` has no cross-reference table.
    """
    start = pdf.rfind(b"\nxref\n")
    if start < 0:
        raise ValueError("the PDF has no cross-reference table")
    return pdf[: start + 1]
