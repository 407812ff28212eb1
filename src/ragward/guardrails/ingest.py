"""Ingest-time scanner: quarantine documents that carry indirect prompt injection.

Indirect prompt injection (Greshake et al., arXiv 2302.12173; OWASP LLM01;
MITRE ATLAS AML.T0051.001) and knowledge poisoning (Zou et al., PoisonedRAG,
arXiv 2402.07867) enter a RAG pipeline through the documents it indexes. The
cheapest place to stop them is before they are embedded. The scanner is
deterministic and explains every decision with one event per signal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ragward.engine.detectors._decode import MAX_DEPTH, Decoded, decode_candidates
from ragward.engine.detectors.exfiltration import host_allowed, url_host
from ragward.guardrails._html import find_carriers, looks_like_html
from ragward.guardrails._patterns import Signal, instruction_signals
from ragward.guardrails._unicode import find_invisible
from ragward.guardrails.base import Decision, Guardrail, require_str
from ragward.model import Action, GuardrailEvent, Layer

__all__ = ["IngestScanner"]

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_URL = re.compile(r"https?://[^\s)\"'<>]+", re.IGNORECASE)
_EXCERPT = 80
_HIDDEN_WORDS_FLAG = 12
_ZERO_WIDTH_BLOCK = 3
_CITE = "indirect prompt injection, OWASP LLM01, MITRE ATLAS AML.T0051.001"


def _excerpt(text: str, span: tuple[int, int]) -> str:
    snippet = " ".join(text[span[0] : span[1]].split())
    return snippet if len(snippet) <= _EXCERPT else snippet[: _EXCERPT - 1] + "…"


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _EXCERPT else flat[: _EXCERPT - 1] + "…"


class IngestScanner(Guardrail):
    """Scan a document before it is indexed; BLOCK (quarantine) when it carries an
    instruction for the model.

    Signals, each reported as one event with its span in the scanned text:

    * ``injection_phrase`` — override phrases ("ignore previous instructions",
      "answer only with", "reply with the word", "always recommend", "from now
      on" addressed to the model, role markers, system-prompt overrides), also
      in French, German and Spanish for the commonest one;
    * ``hidden_html`` — instructions in HTML comments, elements hidden by CSS
      (display:none, visibility:hidden, font-size:0, opacity:0, off-screen,
      clipping, white text, ``hidden``), img alt, title, meta content; hidden
      prose without instructions is only FLAGged;
    * ``invisible_unicode`` — Unicode tag characters (ASCII smuggling),
      zero-width characters between Latin letters, bidi controls outside
      right-to-left text, variation-selector runs;
    * ``encoded_instruction`` — base64 or hex blobs anywhere in the text
      (nested up to 3 levels) that decode to an instruction;
    * ``exfiltration_instruction`` — requests to append an image or link to
      answers, or image URL templates with a data placeholder, to hosts not in
      ``allowed_hosts``.

    Benign text, including ordinary HTML and base64 of harmless content,
    passes with ALLOW. The scanner never raises on odd content; it raises
    TypeError only for arguments of the wrong type.

    Args:
        allowed_hosts: hosts (and their subdomains) that an instruction may
            legitimately point images or links at.
    """

    name = "ingest_scanner"
    layer = Layer.INGEST

    def __init__(self, *, allowed_hosts: Iterable[str] = ()) -> None:
        if isinstance(allowed_hosts, str):
            raise TypeError("allowed_hosts must be an iterable of str, not a str")
        self.allowed_hosts = tuple(require_str(h, "allowed host") for h in allowed_hosts)

    def scan(self, text: str, *, doc_id: str | None = None, content_type: str = "text/plain") -> Decision:
        """Scan one document.

        Args:
            text: the document text (plain, markdown or HTML).
            doc_id: carried into every event.
            content_type: a MIME type; ``text/html`` forces the HTML checks,
                which otherwise run whenever the text holds HTML tags.

        Returns:
            BLOCK with ``text=None`` when any signal is an instruction, FLAG
            (text unchanged) for suspicious but not instructive content,
            ALLOW otherwise.

        Raises:
            TypeError: ``text`` or ``content_type`` is not a str, ``doc_id`` not str/None.
        """
        require_str(text, "text")
        require_str(content_type, "content_type")
        if doc_id is not None:
            require_str(doc_id, "doc_id")
        events: list[GuardrailEvent] = []
        events += self._invisible(text, doc_id)
        events += self._phrases(text, doc_id)
        is_html = content_type.split(";")[0].strip().lower() in _HTML_TYPES
        if is_html or looks_like_html(text):
            events += self._html(text, doc_id)
        events += self._encoded(text, doc_id)
        events.sort(key=lambda e: (e.span or (0, 0), e.reason))
        return self.decide(events, text)

    # ------------------------------------------------------------------ signals

    def _signal_event(self, text: str, sig: Signal, doc_id: str | None) -> GuardrailEvent | None:
        if sig.code.startswith("exfiltration"):
            urls = _URL.findall(text[sig.span[0] : sig.span[1] + 400])
            hosts = [url_host(u) for u in urls[:1]]
            if hosts and all(host_allowed(h, self.allowed_hosts) for h in hosts):
                return None
            return self.event(
                Action.BLOCK,
                f"exfiltration_instruction: {sig.code} {_excerpt(text, sig.span)!r} "
                "(data exfiltration via rendered image/link, OWASP LLM02)",
                span=sig.span,
                doc_id=doc_id,
            )
        return self.event(
            Action.BLOCK,
            f"injection_phrase: {sig.code} {_excerpt(text, sig.span)!r} ({_CITE})",
            span=sig.span,
            doc_id=doc_id,
        )

    def _phrases(self, text: str, doc_id: str | None) -> list[GuardrailEvent]:
        out: list[GuardrailEvent] = []
        for sig in instruction_signals(text):
            event = self._signal_event(text, sig, doc_id)
            if event is not None:
                out.append(event)
        return out

    def _invisible(self, text: str, doc_id: str | None) -> list[GuardrailEvent]:
        out: list[GuardrailEvent] = []
        for run in find_invisible(text):
            if run.kind in ("unicode_tags", "variation_selectors"):
                hidden = _short(run.hidden)
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

    def _html(self, text: str, doc_id: str | None) -> list[GuardrailEvent]:
        out: list[GuardrailEvent] = []
        for carrier in find_carriers(text):
            if not carrier.text:
                continue
            lenient = carrier.kind != "raw_element"
            signals = instruction_signals(carrier.text, lenient=lenient)
            if signals:
                codes = ", ".join(sorted({s.code for s in signals}))
                out.append(
                    self.event(
                        Action.BLOCK,
                        f"hidden_html: instruction in {carrier.reason} ({codes}): {_short(carrier.text)!r} ({_CITE})",
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
            if dec.encoding not in ("base64", "hex", "percent"):
                continue
            found = _instruction_in(dec, 1)
            if found is None:
                continue
            chain, decoded = found
            out.append(
                self.event(
                    Action.BLOCK,
                    f"encoded_instruction: {chain} blob decodes to an instruction {_short(decoded)!r} ({_CITE})",
                    span=dec.span,
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
            if inner.encoding in ("base64", "hex", "percent"):
                found = _instruction_in(inner, depth + 1)
                if found is not None:
                    return f"{dec.encoding}→{found[0]}", found[1]
    return None
