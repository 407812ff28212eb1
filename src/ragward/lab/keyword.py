"""The lab's keyword (sparse) index: BM25 over chunk texts, with its own metadata copy.

BM25 is Okapi BM25 (Robertson and Zaragoza, "The Probabilistic Relevance
Framework: BM25 and Beyond", 2009) as implemented by ``rank_bm25.BM25Okapi``.
The index is rebuilt from the vector store when a lab opens, updated on ingest,
and (unless the ``stale_index_on_delete`` flaw is on) on delete. Not thread
safe: the lab serialises access.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rank_bm25 import BM25Okapi

from ragward.lab.filters import matches_where

__all__ = ["IndexedChunk", "KeywordIndex", "tokenize"]

_TOKEN = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*")
_STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "that",
        "the",
        "their",
        "this",
        "to",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    }
)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens of ``text`` (hyphen/underscore compounds kept), stopwords removed."""
    return [t for t in _TOKEN.findall(text.lower()) if t not in _STOPWORDS]


@dataclass(frozen=True)
class IndexedChunk:
    """A chunk as the keyword index holds it: id, document id, text and metadata copy."""

    id: str
    doc_id: str
    text: str
    metadata: Mapping[str, Any] = field(default_factory=dict)


class KeywordIndex:
    """BM25 index over chunks; scores are BM25 scores (unbounded, larger is better)."""

    def __init__(self, chunks: Iterable[IndexedChunk] = ()) -> None:
        """Build the index from ``chunks`` (later chunks replace earlier ones with the same id)."""
        self._chunks: dict[str, IndexedChunk] = {}
        self._bm25: BM25Okapi | None = None
        self._order: list[str] = []
        self._tokens: list[frozenset[str]] = []
        self.add(chunks)

    def __len__(self) -> int:
        """Number of indexed chunks."""
        return len(self._chunks)

    def __contains__(self, chunk_id: object) -> bool:
        """True when a chunk with this id is indexed."""
        return chunk_id in self._chunks

    def doc_ids(self) -> set[str]:
        """Ids of the documents that have at least one indexed chunk."""
        return {c.doc_id for c in self._chunks.values()}

    def add(self, chunks: Iterable[IndexedChunk]) -> None:
        """Index ``chunks`` (replacing same-id chunks) and rebuild the BM25 statistics."""
        for chunk in chunks:
            self._chunks[chunk.id] = chunk
        self._rebuild()

    def remove_document(self, doc_id: str) -> int:
        """Drop every chunk of ``doc_id``; returns how many were dropped."""
        gone = [cid for cid, c in self._chunks.items() if c.doc_id == doc_id]
        for cid in gone:
            del self._chunks[cid]
        if gone:
            self._rebuild()
        return len(gone)

    def _rebuild(self) -> None:
        self._order = list(self._chunks)
        corpus = [tokenize(self._chunks[cid].text) or ["\x00"] for cid in self._order]
        self._tokens = [frozenset(tokens) for tokens in corpus]
        self._bm25 = BM25Okapi(corpus) if corpus else None

    def search(
        self, query: str, *, top_k: int, where: Mapping[str, Any] | None = None
    ) -> list[tuple[IndexedChunk, float]]:
        """The ``top_k`` best chunks sharing at least one term with ``query``, by BM25 score.

        ``where`` is a Chroma-style metadata filter (see :mod:`ragward.lab.filters`);
        ``None`` searches every chunk. Raises :class:`ragward.lab.filters.FilterError`
        for an invalid filter and ``ValueError`` when ``top_k < 1``.
        """
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        if where is not None:
            matches_where({}, where)  # validate the whole filter even when nothing scores
        tokens = tokenize(query)
        if self._bm25 is None or not tokens:
            return []
        scores = np.asarray(self._bm25.get_scores(tokens), dtype=np.float64)
        wanted = set(tokens)
        hits: list[tuple[IndexedChunk, float]] = []
        for i in np.argsort(-scores, kind="stable"):
            if len(hits) == top_k:
                break
            if not wanted & self._tokens[i]:
                continue
            chunk = self._chunks[self._order[i]]
            if where is None or matches_where(chunk.metadata, where):
                hits.append((chunk, float(scores[i])))
        return hits
