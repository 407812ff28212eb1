"""How the ``vulnerable`` lab (and the mock target's ``naive_pdf`` flaw) turn a PDF into text: naively.

This is what common RAG document loaders do with a PDF: LangChain's
``PyPDFLoader`` (pypdf ``extract_text``) and ``PDFMinerLoader``
(pdfminer.six ``extract_text``) return every character a content stream
draws, whether a reader can see it or not: text in the invisible render mode
(``3 Tr``), white on a white page, in a 0.5 pt font or placed off the page all
reach the index (Greshake et al., arXiv 2302.12173 §4; OWASP LLM01:2025). And
some are lenient with damaged files: MuPDF (LangChain's ``PyMuPDFLoader``)
repairs a file cut off before its cross-reference table and returns the text
of its content streams (checked with PyMuPDF 2.0 on RW-INJ-131's file; pypdf
7.1 in non-strict mode and pdfminer.six give up on it). :func:`naive_pdf_text`
reproduces both: pdfminer's ``extract_text`` first, and when the parser gives
up, the strings of every text-showing operator (``Tj``, ``TJ``, ``'``, ``"``)
found in the file's uncompressed content streams, so a malformed PDF is indexed
with whatever text could be read (fail open). This small scan stands in for
MuPDF's repair because PyMuPDF is AGPL-licensed and ragward is not. The
``hardened`` lab uses :class:`ragward.guardrails.IngestScanner` instead (fail
closed).
"""

from __future__ import annotations

import io
import re

__all__ = ["naive_pdf_text", "raw_pdf_strings"]

_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
_BLOCK = re.compile(rb"\bBT\b(.*?)\bET\b", re.S)
_LITERAL = re.compile(rb"\((?:\\.|[^\\()])*\)", re.S)
_SHOW = re.compile(rb"(\[(?:[^\]\\]|\\.)*\]\s*TJ|\((?:\\.|[^\\()])*\)\s*(?:Tj|'|\"))", re.S)
_ESCAPES = {b"n": "\n", b"r": "\r", b"t": "\t", b"b": "\b", b"f": "\f", b"(": "(", b")": ")", b"\\": "\\"}
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|.)", re.S)


def _unescape(literal: bytes) -> str:
    """A PDF literal string's text (ISO 32000-1 §7.3.4.2), bytes read as Latin-1."""
    body = literal[1:-1]
    parts: list[str] = []
    pos = 0
    for m in _ESCAPE.finditer(body):
        parts.append(body[pos : m.start()].decode("latin-1"))
        code = m.group(1)
        if code[:1].isdigit():
            parts.append(chr(int(code, 8) & 0xFF))
        elif code in (b"\n", b"\r"):
            pass  # a line continuation
        else:
            parts.append(_ESCAPES.get(code, code.decode("latin-1")))
        pos = m.end()
    parts.append(body[pos:].decode("latin-1"))
    return "".join(parts)


def raw_pdf_strings(data: bytes) -> str:
    """The strings shown by text operators in ``data``'s uncompressed content streams, one line per text block.

    No parsing of the file's structure: this reads a PDF whose cross-reference
    table or trailer is missing or broken. Compressed streams yield nothing.
    """
    lines: list[str] = []
    for stream in _STREAM.finditer(data):
        for block in _BLOCK.finditer(stream.group(1)):
            shown = [
                "".join(_unescape(lit.group(0)) for lit in _LITERAL.finditer(op.group(0)))
                for op in _SHOW.finditer(block.group(1))
            ]
            line = " ".join(s for s in shown if s.strip())
            if line.strip():
                lines.append(line.strip())
    return "\n".join(lines)


def naive_pdf_text(data: bytes) -> str:
    """All the text of a PDF, hidden runs included, like a naive RAG loader (see the module docstring).

    Returns pdfminer.six's ``extract_text`` of ``data``, or, when pdfminer
    cannot parse the file, :func:`raw_pdf_strings`; ``""`` when neither finds
    text. Never raises on malformed input.

    Raises:
        TypeError: ``data`` is not bytes.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"PDF data must be bytes, not {type(data).__name__}")
    from pdfminer.high_level import extract_text

    try:
        text = extract_text(io.BytesIO(bytes(data)))
    except Exception:  # pdfminer raises many types on a damaged file; a naive loader shrugs
        text = ""
    text = text.replace("\x0c", "\n").strip()
    return text or raw_pdf_strings(bytes(data))
