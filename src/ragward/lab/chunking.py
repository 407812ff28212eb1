"""Paragraph-aware chunking of documents into retrieval units.

Documents are split on blank lines into paragraphs; paragraphs are packed into
chunks of at most ``max_chars`` characters. A paragraph longer than that is
split at sentence ends, and a sentence longer than that at word boundaries (a
single word longer than ``max_chars`` is cut). Chunk ``n`` of document ``d``
has id ``"d#n"``, counting from 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["DEFAULT_MAX_CHARS", "TextChunk", "chunk_id", "split_text"]

DEFAULT_MAX_CHARS = 500

_PARAGRAPH = re.compile(r"\n[ \t]*\n+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class TextChunk:
    """One chunk: ``id`` is ``"<doc_id>#<index>"``, ``text`` at most ``max_chars`` chars."""

    id: str
    doc_id: str
    index: int
    text: str


def chunk_id(doc_id: str, index: int) -> str:
    """The id of chunk ``index`` (0-based) of ``doc_id``: ``"<doc_id>#<index>"``."""
    return f"{doc_id}#{index}"


def _pieces(paragraph: str, max_chars: int) -> list[str]:
    """Split one paragraph into pieces of at most ``max_chars`` at sentence, then word, ends."""
    if len(paragraph) <= max_chars:
        return [paragraph]
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(paragraph):
        if len(sentence) <= max_chars:
            pieces.append(sentence)
            continue
        current = ""
        for word in sentence.split():
            while len(word) > max_chars:
                if current:
                    pieces.append(current)
                    current = ""
                pieces.append(word[:max_chars])
                word = word[max_chars:]
            candidate = f"{current} {word}" if current else word
            if len(candidate) > max_chars:
                pieces.append(current)
                current = word
            else:
                current = candidate
        if current:
            pieces.append(current)
    return pieces


def split_text(doc_id: str, text: str, *, max_chars: int = DEFAULT_MAX_CHARS) -> list[TextChunk]:
    """Split ``text`` into chunks of at most ``max_chars`` characters.

    Paragraphs (separated by blank lines) are kept whole when they fit and packed
    together, separated by a blank line, while the chunk stays within
    ``max_chars``. Whitespace-only text gives no chunks.

    Raises ``ValueError`` when ``doc_id`` is empty or ``max_chars`` is below 20.
    """
    if not doc_id:
        raise ValueError("doc_id must be a non-empty string")
    if max_chars < 20:
        raise ValueError(f"max_chars must be at least 20, got {max_chars}")
    paragraphs = [p.strip() for p in _PARAGRAPH.split(text.strip()) if p.strip()]
    packed: list[str] = []
    current = ""
    for paragraph in paragraphs:
        for piece in _pieces(paragraph, max_chars):
            candidate = f"{current}\n\n{piece}" if current else piece
            if len(candidate) <= max_chars:
                current = candidate
            else:
                packed.append(current)
                current = piece
    if current:
        packed.append(current)
    return [TextChunk(id=chunk_id(doc_id, i), doc_id=doc_id, index=i, text=chunk) for i, chunk in enumerate(packed)]
