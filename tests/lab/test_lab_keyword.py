"""The BM25 keyword index."""

from __future__ import annotations

import pytest

from ragward.lab.filters import FilterError
from ragward.lab.keyword import IndexedChunk, KeywordIndex, tokenize

CHUNKS = [
    IndexedChunk("a1#0", "a1", "Refund requests are filed within 30 days.", {"tenant": "acme"}),
    IndexedChunk("g1#0", "g1", "Refunds of subscriptions within 14 days.", {"tenant": "globex"}),
    IndexedChunk("g2#0", "g2", "The VPN gateway fails over to the secondary.", {"tenant": "globex"}),
    IndexedChunk("i1#0", "i1", "Chargeback fee and refund processing.", {"tenant": "initech"}),
]


def test_tokenize_lowercases_and_drops_stopwords() -> None:
    assert tokenize("What is the WMS_backup-svc Password?") == ["wms_backup-svc", "password"]


def test_search_ranks_matching_chunks_only() -> None:
    index = KeywordIndex(CHUNKS)
    hits = index.search("VPN gateway", top_k=4)
    assert [c.id for c, _ in hits] == ["g2#0"]
    assert hits[0][1] > 0


def test_where_filter_limits_results_to_the_tenant() -> None:
    index = KeywordIndex(CHUNKS)
    unfiltered = {c.metadata["tenant"] for c, _ in index.search("refund", top_k=4)}
    filtered = {c.metadata["tenant"] for c, _ in index.search("refund", top_k=4, where={"tenant": "acme"})}
    assert unfiltered == {"acme", "initech"}
    assert filtered == {"acme"}


def test_remove_document() -> None:
    index = KeywordIndex(CHUNKS)
    assert index.remove_document("g2") == 1
    assert index.search("VPN gateway", top_k=4) == []
    assert "g2" not in index.doc_ids()
    assert len(index) == 3


def test_empty_index_and_empty_query() -> None:
    assert KeywordIndex().search("refund", top_k=3) == []
    assert KeywordIndex(CHUNKS).search("the of and", top_k=3) == []


def test_invalid_filter_raises_even_without_hits() -> None:
    with pytest.raises(FilterError):
        KeywordIndex(CHUNKS).search("zzz", top_k=3, where={"tenant": {"$regex": "x"}})


def test_bad_top_k() -> None:
    with pytest.raises(ValueError, match="top_k"):
        KeywordIndex(CHUNKS).search("refund", top_k=0)
