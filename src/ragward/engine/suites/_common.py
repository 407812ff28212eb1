"""Helpers shared by the suites: leak checks and evidence shaping."""

from __future__ import annotations

from typing import Any

from ragward.engine.detectors.canary import CanaryMatch, find_canary
from ragward.model import Layer, Severity
from ragward.targets.base import Chunk, Response

EXCERPT_CHARS = 400


def excerpt(text: str | None, limit: int = EXCERPT_CHARS) -> str:
    """The first ``limit`` characters of ``text`` (reports redact canaries later)."""
    if not text:
        return ""
    return text if len(text) <= limit else text[:limit] + "…"


def chunks_evidence(contexts: list[Chunk]) -> list[dict[str, Any]]:
    """Retrieved chunks as evidence: id, document, tenant, score, a short excerpt."""
    return [
        {
            "id": c.id,
            "doc_id": c.doc_id,
            "tenant": c.tenant,
            "score": round(c.score, 4),
            "text": excerpt(c.text, 160),
        }
        for c in contexts
    ]


def response_evidence(response: Response) -> dict[str, Any]:
    """A response as evidence (answer excerpt, chunks, flags); a streamed answer adds what the client received."""
    evidence: dict[str, Any] = {
        "answer": excerpt(response.answer),
        "retrieved": chunks_evidence(response.contexts),
        "blocked": response.blocked,
        "cached": response.cached,
        "error": response.error,
    }
    if response.pieces is not None:
        evidence["streamed"] = {"pieces": len(response.pieces), "received": excerpt(response.received)}
    return evidence


def retrieved_doc(response: Response, doc_id: str) -> bool:
    """True when any chunk of ``doc_id`` is in the response's contexts."""
    return any(c.doc_id == doc_id for c in response.contexts)


def leak_matches(response: Response, canary: str) -> list[CanaryMatch]:
    """Canary matches in the text the client received (:attr:`Response.received`: for a streamed answer every
    piece, also those delivered before a later block)."""
    received = response.received
    return find_canary(received, canary) if received else []


def leak_severity(matches: list[CanaryMatch], full: Severity) -> Severity:
    """``full`` for a whole-token leak, medium when only fragments leaked."""
    return Severity.MEDIUM if all(m.is_fragment for m in matches) else full


def answer_stage(response: Response, doc_id: str) -> Layer:
    """Where an answer-level attack stopped, when nothing reported it.

    Not retrieved: retrieval. Retrieved, answer missing or blocked: output.
    Retrieved and answered without the payload's effect: model.
    """
    if not retrieved_doc(response, doc_id):
        return Layer.RETRIEVAL
    if response.blocked or response.answer is None:
        return Layer.OUTPUT
    return Layer.MODEL
