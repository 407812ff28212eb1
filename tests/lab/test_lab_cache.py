"""The semantic response cache: threshold, tenant keying, invalidation."""

from __future__ import annotations

import numpy as np
import pytest

from ragward.lab.cache import SemanticCache
from ragward.targets.base import Chunk


def _vec(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def _chunk(doc_id: str, tenant: str) -> Chunk:
    return Chunk(id=f"{doc_id}#0", doc_id=doc_id, text="t", tenant=tenant)


def test_hit_at_or_above_threshold_and_miss_below() -> None:
    cache = SemanticCache(threshold=0.92, keyed_by_tenant=True)
    cache.store(_vec(1, 0), tenant="acme", query="q", answer="A")
    close = _vec(1, 0.3)  # cosine 0.958
    far = _vec(1, 0.5)  # cosine 0.894
    hit = cache.lookup(close, tenant="acme")
    assert hit is not None
    assert hit.entry.answer == "A"
    assert hit.similarity == pytest.approx(1 / np.sqrt(1.09))
    assert cache.lookup(far, tenant="acme") is None


def test_tenant_keyed_cache_never_serves_another_tenant() -> None:
    cache = SemanticCache(threshold=0.92, keyed_by_tenant=True)
    cache.store(_vec(1, 0), tenant="acme", query="q", answer="acme answer")
    assert cache.lookup(_vec(1, 0), tenant="globex") is None
    hit = cache.lookup(_vec(1, 0), tenant="acme")
    assert hit is not None
    assert hit.entry.answer == "acme answer"


def test_shared_cache_serves_everyone_the_first_answer() -> None:
    cache = SemanticCache(threshold=0.92, keyed_by_tenant=False)
    cache.store(_vec(1, 0), tenant="acme", query="q", answer="acme answer")
    hit = cache.lookup(_vec(1, 0.01), tenant="globex")
    assert hit is not None
    assert hit.entry.answer == "acme answer"


def test_best_match_wins() -> None:
    cache = SemanticCache(threshold=0.5, keyed_by_tenant=False)
    cache.store(_vec(1, 0.4), tenant=None, query="a", answer="second best")
    cache.store(_vec(1, 0.1), tenant=None, query="b", answer="best")
    hit = cache.lookup(_vec(1, 0), tenant=None)
    assert hit is not None
    assert hit.entry.answer == "best"


def test_invalidate_document_drops_only_entries_that_used_it() -> None:
    cache = SemanticCache(threshold=0.9, keyed_by_tenant=True)
    cache.store(_vec(1, 0), tenant="acme", query="a", answer="x", contexts=[_chunk("d1", "acme")])
    cache.store(_vec(0, 1), tenant="acme", query="b", answer="y", contexts=[_chunk("d2", "acme")])
    assert cache.invalidate_document("d1") == 1
    assert cache.lookup(_vec(1, 0), tenant="acme") is None
    assert cache.lookup(_vec(0, 1), tenant="acme") is not None


def test_oldest_entries_are_evicted() -> None:
    cache = SemanticCache(threshold=0.99, keyed_by_tenant=False, max_entries=2)
    for n, vec in enumerate([_vec(1, 0, 0), _vec(0, 1, 0), _vec(0, 0, 1)]):
        cache.store(vec, tenant=None, query=str(n), answer=str(n))
    assert len(cache) == 2
    assert cache.lookup(_vec(1, 0, 0), tenant=None) is None


@pytest.mark.parametrize("threshold", [0.0, 1.5, -0.1])
def test_bad_threshold_raises(threshold: float) -> None:
    with pytest.raises(ValueError, match="threshold"):
        SemanticCache(threshold=threshold, keyed_by_tenant=True)


def test_zero_vector_key_raises() -> None:
    cache = SemanticCache(threshold=0.9, keyed_by_tenant=True)
    with pytest.raises(ValueError, match="non-zero"):
        cache.lookup(np.zeros(3), tenant="acme")
