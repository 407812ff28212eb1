"""Instruction detection shared by the ingest scanner and the context sanitiser (private).

:func:`instruction_hits` combines the two detectors of an instruction aimed at
the model in plain text: phrase patterns (:mod:`ragward.guardrails._patterns`,
on every de-obfuscated reading of the text) and the soft instruction score
over sentence windows (:mod:`ragward.guardrails._score`). A window is only
reported when no phrase was found inside it, so each place yields one hit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ragward.engine.detectors.exfiltration import host_allowed, url_host
from ragward.guardrails._patterns import Signal, instruction_signals, text_views
from ragward.guardrails._score import THRESHOLD, Window, document_score, scored_windows

__all__ = ["Hit", "excerpt", "instruction_hits", "short"]

_URL = re.compile(r"https?://[^\s)\"'<>]+", re.IGNORECASE)
EXCERPT = 80
CITE = "indirect prompt injection, OWASP LLM01, MITRE ATLAS AML.T0051.001"


@dataclass(frozen=True)
class Hit:
    """One detected instruction: ``category`` (``injection_phrase``,
    ``exfiltration_instruction`` or ``instruction_score``), the rest of the
    event ``reason``, its ``span`` in the scanned text and a ``score`` in [0, 1]."""

    category: str
    reason: str
    span: tuple[int, int]
    score: float = 1.0

    @property
    def full_reason(self) -> str:
        """``"<category>: <reason>"``, the form of a guardrail event's reason."""
        return f"{self.category}: {self.reason}"


def excerpt(text: str, span: tuple[int, int]) -> str:
    """The text of ``span`` with white space squeezed, at most 80 characters."""
    return short(text[span[0] : span[1]])


def short(text: str) -> str:
    """``text`` with white space squeezed, cut to 80 characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 1] + "…"


def _signal_hit(text: str, sig: Signal, allowed_hosts: Sequence[str]) -> Hit | None:
    if sig.code.startswith("exfiltration"):
        urls = _URL.findall(text[sig.span[0] : sig.span[1] + 400])
        hosts = [url_host(u) for u in urls[:1]]
        if hosts and all(host_allowed(h, allowed_hosts) for h in hosts):
            return None
        return Hit(
            "exfiltration_instruction",
            f"{sig.code} {excerpt(text, sig.span)!r} (data exfiltration via rendered image/link, OWASP LLM02)",
            sig.span,
        )
    return Hit("injection_phrase", f"{sig.code} {excerpt(text, sig.span)!r} ({CITE})", sig.span)


def granularity(window: Window) -> str:
    """``"sentence"``, ``"window"`` or ``"document"``: how much text the window spans."""
    if window.sentences == (0, window.total - 1):
        return "document"
    return "sentence" if window.sentences[0] == window.sentences[1] else "window"


def _window_hit(text: str, window: Window, doc_score: float) -> Hit:
    first, last = window.sentences
    where = f"sentence {first + 1}" if first == last else f"sentences {first + 1}–{last + 1}"
    level = granularity(window)
    whole = "" if level == "document" else f"; whole-document score {doc_score:.1f}, below {THRESHOLD:.1f}"
    return Hit(
        "instruction_score",
        f"{window.score:.2f} ≥ {THRESHOLD:.1f} in {where} of {window.total} "
        f"({', '.join(window.features)}): {excerpt(text, window.span)!r}{whole} "
        f"[granularity: {level}] ({CITE})",
        window.span,
        min(1.0, window.score / (2 * THRESHOLD)),
    )


def instruction_hits(text: str, *, lenient: bool = False, allowed_hosts: Sequence[str] = ()) -> list[Hit]:
    """Instructions to the model in ``text``: phrase hits, then score windows
    that hold no phrase hit. Spans are in ``text``; ``lenient`` as in
    :func:`~ragward.guardrails._patterns.instruction_signals`."""
    hits: list[Hit] = []
    views = text_views(text)
    for sig in instruction_signals(text, lenient=lenient, views=views):
        hit = _signal_hit(text, sig, allowed_hosts)
        if hit is not None:
            hits.append(hit)
    taken = [h.span for h in hits]
    doc_score = document_score(views[0])
    for view in views:
        for window in scored_windows(view):
            if any(window.span[0] < e and s < window.span[1] for s, e in taken):
                continue
            taken.append(window.span)
            hits.append(_window_hit(text, window, doc_score))
    hits.sort(key=lambda h: h.span)
    return hits
