"""Ingest-time scanner: quarantine documents that carry indirect prompt injection.

Indirect prompt injection (Greshake et al., arXiv 2302.12173; OWASP LLM01;
MITRE ATLAS AML.T0051.001) and knowledge poisoning (Zou et al., PoisonedRAG,
arXiv 2402.07867) enter a RAG pipeline through the documents it indexes. The
cheapest place to stop them is before they are embedded. The scanner is
deterministic and explains every decision with one event per signal.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable

from ragward.engine.detectors._decode import MAX_DEPTH, Decoded, decode_candidates
from ragward.engine.detectors._text import fold
from ragward.guardrails._detect import CITE, instruction_hits, short
from ragward.guardrails._html import Carrier, find_carriers, looks_like_html
from ragward.guardrails._markdown import find_markdown_carriers
from ragward.guardrails._patterns import instruction_signals
from ragward.guardrails._pdf import PdfError, PdfText, extract_pdf
from ragward.guardrails._score import scored_windows
from ragward.guardrails._unicode import find_invisible
from ragward.guardrails.base import Decision, Guardrail, require_str
from ragward.model import Action, GuardrailEvent, Layer

__all__ = ["IngestScanner"]

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_PDF_TYPES = ("application/pdf", "application/x-pdf")
_HIDDEN_WORDS_FLAG = 12
_ZERO_WIDTH_BLOCK = 3
_PDF_HIDDEN_WORDS_FLAG = 3
_TEXT_ENCODINGS = ("base64", "base32", "hex", "binary", "percent", "unicode_escape")


class IngestScanner(Guardrail):
    """Scan a document before it is indexed; BLOCK (quarantine) when it carries an
    instruction for the model.

    Signals, each reported as one event with its span in the scanned text:

    * ``injection_phrase`` — override phrases ("ignore previous instructions",
      "answer only with", "reply with the word", "always recommend", "from now
      on" addressed to the model, role markers, system-prompt overrides), in
      English and a dozen other languages, found also when the words are
      spaced out, split by line breaks or zero-width joiners, written in
      leetspeak, fullwidth or Cyrillic look-alike letters;
    * ``instruction_score`` — a sentence window whose wording has the shape of
      an instruction to the model (it addresses the model or tells it to set
      other content aside, obliges it to say something, controls the answer)
      although no known phrase matched; the reason names the granularity
      (``sentence``, ``window`` or ``document``) that caught it, so one
      sentence in a 3,000-word policy is not diluted by the rest;
    * ``hidden_html`` — instructions in HTML comments, elements hidden by CSS
      (display:none, visibility:hidden, font-size:0, opacity:0, off-screen,
      clipping, white text, ``hidden``), img alt, title, meta content, and
      Markdown comments and image alt text; hidden prose without
      instructions is only FLAGged;
    * ``hidden_pdf`` — text a PDF reader does not show (invisible render mode,
      white on white, fonts under 1.5 pt, text off the page): BLOCK when it
      holds an instruction (or always, with ``block_hidden_pdf_text``), FLAG
      otherwise (it is never passed on);
    * ``invisible_unicode`` — Unicode tag characters (ASCII smuggling),
      zero-width characters between Latin letters, bidi controls outside
      right-to-left text, variation-selector runs;
    * ``encoded_instruction`` — base64 or hex blobs anywhere in the text
      (nested up to 3 levels) that decode to an instruction;
    * ``exfiltration_instruction`` — requests to append an image or link to
      answers, or image URL templates with a data placeholder, to hosts not in
      ``allowed_hosts``;
    * ``parse_error`` — the document could not be parsed (a malformed PDF,
      bytes that are not UTF-8): it is quarantined (fail closed).

    Benign text, including ordinary HTML and base64 of harmless content,
    passes with ALLOW. The scanner never raises on odd content; it raises
    TypeError only for arguments of the wrong type.

    Args:
        allowed_hosts: hosts (and their subdomains) that an instruction may
            legitimately point images or links at.
        block_hidden_pdf_text: quarantine (BLOCK) a PDF whose hidden text
            holds no instruction too, instead of FLAGging it; a hidden fact
            that contradicts the visible page ("the contract value is 1 EUR"
            under a visible 240,000 EUR) is knowledge poisoning (Zou et al.,
            PoisonedRAG, arXiv 2402.07867) without any instruction. The
            hardened lab turns it on.

    Raises:
        TypeError: ``allowed_hosts`` is a str or holds a non-str.
    """

    name = "ingest_scanner"
    layer = Layer.INGEST

    def __init__(self, *, allowed_hosts: Iterable[str] = (), block_hidden_pdf_text: bool = False) -> None:
        if isinstance(allowed_hosts, str):
            raise TypeError("allowed_hosts must be an iterable of str, not a str")
        self.allowed_hosts = tuple(require_str(h, "allowed host") for h in allowed_hosts)
        self.block_hidden_pdf_text = bool(block_hidden_pdf_text)

    def scan(self, text: str | bytes, *, doc_id: str | None = None, content_type: str = "text/plain") -> Decision:
        """Scan one document.

        Args:
            text: the document: a str (plain text, Markdown or HTML), or the
                bytes of a file (PDF, or UTF-8 text). Bytes that start with
                ``%PDF-`` are read as a PDF whatever ``content_type`` says.
            doc_id: carried into every event.
            content_type: a MIME type; ``text/html`` forces the HTML checks
                (which otherwise run whenever the text holds HTML tags),
                ``application/pdf`` the PDF parser.

        Returns:
            BLOCK with ``text=None`` when any signal is an instruction or the
            document cannot be parsed; FLAG for suspicious but not instructive
            content; ALLOW otherwise. For text input, ``text`` is the input
            unchanged; for a PDF it is the extracted *visible* text (hidden
            runs dropped), which is what should be indexed.

        Raises:
            TypeError: ``text`` is not str/bytes, ``content_type`` not a str,
                ``doc_id`` not str/None, or a PDF content type with str text.
        """
        require_str(content_type, "content_type")
        if doc_id is not None:
            require_str(doc_id, "doc_id")
        media = content_type.split(";")[0].strip().lower()
        if isinstance(text, (bytes, bytearray)):
            data = bytes(text)
            if media in _PDF_TYPES or data.lstrip()[:5] == b"%PDF-":
                return self._scan_pdf(data, doc_id)
            try:
                decoded = codecs.decode(data, "utf-8-sig")
            except UnicodeDecodeError as exc:
                return self._parse_error(f"the document is not valid UTF-8 ({exc.reason} at byte {exc.start})", doc_id)
            return self.scan(decoded, doc_id=doc_id, content_type=content_type)
        require_str(text, "text")
        if media in _PDF_TYPES:
            raise TypeError("a PDF must be passed as bytes, not str")
        events = self._text_events(text, doc_id, html=media in _HTML_TYPES)
        return self.decide(events, text)

    # ------------------------------------------------------------------ text

    def _text_events(self, text: str, doc_id: str | None, *, html: bool = False) -> list[GuardrailEvent]:
        events: list[GuardrailEvent] = []
        events += self._invisible(text, doc_id)
        events += self._instructions(text, doc_id)
        if html or looks_like_html(text):
            events += self._hidden(find_carriers(text), doc_id)
        events += self._hidden(find_markdown_carriers(text), doc_id)
        events += self._encoded(text, doc_id)
        events.sort(key=lambda e: (e.span or (0, 0), e.reason))
        return events

    def _instructions(self, text: str, doc_id: str | None) -> list[GuardrailEvent]:
        return [
            self.event(Action.BLOCK, hit.full_reason, span=hit.span, score=hit.score, doc_id=doc_id)
            for hit in instruction_hits(text, allowed_hosts=self.allowed_hosts)
        ]

    def _invisible(self, text: str, doc_id: str | None) -> list[GuardrailEvent]:
        out: list[GuardrailEvent] = []
        for run in find_invisible(text):
            if run.kind in ("unicode_tags", "variation_selectors"):
                hidden = short(run.hidden)
                instructive = bool(run.hidden and instruction_signals(run.hidden, lenient=True))
                what = "an instruction" if instructive else "hidden text"
                label = "Unicode tag characters" if run.kind == "unicode_tags" else "variation selectors"
                out.append(
                    self.event(
                        Action.BLOCK,
                        f"invisible_unicode: {run.count} {label} hide {what} {hidden!r} "
                        "(ASCII smuggling, Rehberger 2024)",
                        span=run.span,
                        doc_id=doc_id,
                    )
                )
            elif run.kind == "zero_width":
                action = Action.BLOCK if run.count >= _ZERO_WIDTH_BLOCK else Action.FLAG
                out.append(
                    self.event(
                        action,
                        f"invisible_unicode: {run.count} zero-width characters inside words (filter evasion)",
                        span=run.span,
                        score=1.0 if action is Action.BLOCK else 0.5,
                        doc_id=doc_id,
                    )
                )
            else:
                action = Action.FLAG if run.rtl_context else Action.BLOCK
                out.append(
                    self.event(
                        action,
                        f"invisible_unicode: {run.count} bidi control characters (Trojan Source, CVE-2021-42574)",
                        span=run.span,
                        score=1.0 if action is Action.BLOCK else 0.5,
                        doc_id=doc_id,
                    )
                )
        return out

    def _hidden(self, carriers: list[Carrier], doc_id: str | None) -> list[GuardrailEvent]:
        out: list[GuardrailEvent] = []
        for carrier in carriers:
            if not carrier.text:
                continue
            lenient = carrier.kind != "raw_element"
            signals = instruction_signals(carrier.text, lenient=lenient)
            codes = sorted({s.code for s in signals})
            if not codes and lenient:
                codes = sorted({"instruction_score" for _ in scored_windows(fold(carrier.text))})
            if codes:
                out.append(
                    self.event(
                        Action.BLOCK,
                        f"hidden_html: instruction in {carrier.reason} ({', '.join(codes)}): "
                        f"{short(carrier.text)!r} ({CITE})",
                        span=carrier.span,
                        doc_id=doc_id,
                    )
                )
            elif carrier.kind == "hidden_element" and len(carrier.text.split()) >= _HIDDEN_WORDS_FLAG:
                out.append(
                    self.event(
                        Action.FLAG,
                        f"hidden_html: {len(carrier.text.split())} words of hidden text ({carrier.reason})",
                        span=carrier.span,
                        score=0.5,
                        doc_id=doc_id,
                    )
                )
        return out

    def _encoded(self, text: str, doc_id: str | None) -> list[GuardrailEvent]:
        out: list[GuardrailEvent] = []
        for dec in decode_candidates(text):
            if dec.encoding not in _TEXT_ENCODINGS:
                continue
            found = _instruction_in(dec, 1)
            if found is None:
                continue
            chain, decoded = found
            out.append(
                self.event(
                    Action.BLOCK,
                    f"encoded_instruction: {chain} blob decodes to an instruction {short(decoded)!r} ({CITE})",
                    span=dec.span,
                    doc_id=doc_id,
                )
            )
        return out

    # ------------------------------------------------------------------- PDF

    def _parse_error(self, why: str, doc_id: str | None) -> Decision:
        event = self.event(Action.BLOCK, f"parse_error: {why}; quarantined (fail closed)", doc_id=doc_id)
        return self.decide([event], None)

    def _scan_pdf(self, data: bytes, doc_id: str | None) -> Decision:
        try:
            pdf = extract_pdf(data)
        except PdfError as exc:
            return self._parse_error(f"the PDF could not be parsed ({short(str(exc))})", doc_id)
        events = self._pdf_hidden(pdf, doc_id)
        events += self._text_events(pdf.text, doc_id)
        events.sort(key=lambda e: (e.span or (0, 0), e.reason))
        return self.decide(events, pdf.visible)

    def _pdf_hidden(self, pdf: PdfText, doc_id: str | None) -> list[GuardrailEvent]:
        out: list[GuardrailEvent] = []
        for run in pdf.hidden_runs:
            words = len(run.text.split())
            if words < _PDF_HIDDEN_WORDS_FLAG:
                continue
            instructive = bool(instruction_signals(run.text, lenient=True)) or bool(scored_windows(fold(run.text)))
            action = Action.BLOCK if instructive or self.block_hidden_pdf_text else Action.FLAG
            what = "an instruction" if instructive else f"{words} words of hidden text"
            out.append(
                self.event(
                    action,
                    f"hidden_pdf: {what} in {run.reason} on page {run.page}: {short(run.text)!r} "
                    "(hidden text in documents, OWASP LLM01)",
                    span=run.span,
                    score=1.0 if instructive else 0.6,
                    doc_id=doc_id,
                )
            )
        return out


def _instruction_in(dec: Decoded, depth: int) -> tuple[str, str] | None:
    """(encoding chain, decoded text) when ``dec`` decodes to an instruction."""
    if not dec.is_text:
        return None
    lenient = dec.encoding != "percent"
    if instruction_signals(dec.text, lenient=lenient):
        return dec.encoding, dec.text
    if depth < MAX_DEPTH:
        for inner in decode_candidates(dec.text):
            if inner.encoding in _TEXT_ENCODINGS:
                found = _instruction_in(inner, depth + 1)
                if found is not None:
                    return f"{dec.encoding}→{found[0]}", found[1]
    return None
