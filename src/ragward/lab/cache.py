"""The lab's semantic response cache.

A semantic cache returns a stored answer for a new query whose embedding is
close enough (cosine similarity at or above a threshold) to a cached query's,
as GPTCache and the semantic caches of LLM gateways do. Whether entries are
also keyed by tenant is the difference between the ``shared_response_cache``
flaw (one namespace for everyone: tenant B receives tenant A's answer to a
similar question) and the hardened, tenant-keyed cache. See Gu et al., "Auditing
Prompt Caching in Language Model APIs" (arXiv 2502.07776) for cache-based
cross-user leaks in production APIs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ragward.targets.base import Chunk

__all__ = ["CacheEntry", "CacheHit", "SemanticCache"]


@dataclass(frozen=True)
class CacheEntry:
    """A cached answer: ``scope`` is the tenant key (``None`` in a shared cache)."""

    scope: str | None
    query: str
    embedding: NDArray[np.float64]
    answer: str
    contexts: tuple[Chunk, ...] = field(default_factory=tuple)

    @property
    def doc_ids(self) -> frozenset[str]:
        """The documents whose chunks produced this answer."""
        return frozenset(c.doc_id for c in self.contexts)


@dataclass(frozen=True)
class CacheHit:
    """A cache lookup that found an entry, with the cosine ``similarity`` in [-1, 1]."""

    entry: CacheEntry
    similarity: float


class SemanticCache:
    """Answers keyed by query embedding and, when ``keyed_by_tenant``, by tenant.

    ``threshold`` is the minimum cosine similarity for a hit, in (0, 1];
    ``max_entries`` bounds the cache (oldest entries evicted first). Embeddings
    are 1-D vectors of one fixed dimension. Not thread safe: the lab serialises access.
    """

    def __init__(self, *, threshold: float, keyed_by_tenant: bool, max_entries: int = 1024) -> None:
        """Raises ``ValueError`` for a threshold outside (0, 1] or ``max_entries < 1``."""
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries}")
        self.threshold = threshold
        self.keyed_by_tenant = keyed_by_tenant
        self.max_entries = max_entries
        self._entries: list[CacheEntry] = []

    def __len__(self) -> int:
        """Number of cached answers."""
        return len(self._entries)

    def _scope(self, tenant: str | None) -> str | None:
        return tenant if self.keyed_by_tenant else None

    @staticmethod
    def _unit(embedding: Sequence[float] | NDArray[np.floating]) -> NDArray[np.float64]:
        vec = np.asarray(embedding, dtype=np.float64).reshape(-1)
        norm = float(np.linalg.norm(vec))
        if vec.size == 0 or norm == 0.0 or not np.isfinite(norm):
            raise ValueError("a cache key embedding must be a non-zero finite vector")
        return vec / norm

    def _best(
        self, embedding: Sequence[float] | NDArray[np.floating], *, tenant: str | None, own: bool
    ) -> CacheHit | None:
        query = self._unit(embedding)
        scope = self._scope(tenant)
        best: CacheHit | None = None
        for entry in self._entries:
            if (entry.scope == scope) != own or entry.embedding.shape != query.shape:
                continue
            similarity = float(entry.embedding @ query)
            if similarity >= self.threshold and (best is None or similarity > best.similarity):
                best = CacheHit(entry, similarity)
        return best

    def lookup(self, embedding: Sequence[float] | NDArray[np.floating], *, tenant: str | None) -> CacheHit | None:
        """The most similar entry in the caller's scope at or above the threshold, or ``None``."""
        return self._best(embedding, tenant=tenant, own=True)

    def lookup_other_scopes(
        self, embedding: Sequence[float] | NDArray[np.floating], *, tenant: str | None
    ) -> CacheHit | None:
        """The most similar entry of another tenant's scope at or above the threshold, or ``None``.

        Used only to report that tenant keying kept a match from being served.
        """
        return self._best(embedding, tenant=tenant, own=False)

    def store(
        self,
        embedding: Sequence[float] | NDArray[np.floating],
        *,
        tenant: str | None,
        query: str,
        answer: str,
        contexts: Sequence[Chunk] = (),
    ) -> CacheEntry:
        """Cache ``answer`` for ``query`` in the caller's scope; returns the new entry."""
        entry = CacheEntry(self._scope(tenant), query, self._unit(embedding), answer, tuple(contexts))
        self._entries.append(entry)
        if len(self._entries) > self.max_entries:
            del self._entries[: len(self._entries) - self.max_entries]
        return entry

    def invalidate_document(self, doc_id: str) -> int:
        """Drop every entry whose answer used a chunk of ``doc_id``; returns how many."""
        before = len(self._entries)
        self._entries = [e for e in self._entries if doc_id not in e.doc_ids]
        return before - len(self._entries)

    def clear(self) -> None:
        """Drop every entry."""
        self._entries.clear()
