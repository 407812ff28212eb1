"""The BM25 index's where-filter evaluator agrees with Chroma's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ragward.lab.filters import FilterError, matches_where
from ragward.lab.models import Embedder
from ragward.lab.store import ChromaStore, StoreFilterError

Meta = dict[str, str | int | float | bool]
META: Meta = {"tenant": "acme", "doc_id": "d1", "chunk": 2}
OTHER: Meta = {"tenant": "globex", "doc_id": "d2", "chunk": 0}

VALID: list[dict[str, Any]] = [
    {"tenant": "acme"},
    {"tenant": "globex"},
    {"tenant": {"$eq": "acme"}},
    {"tenant": {"$ne": ""}},
    {"tenant": {"$ne": "acme"}},
    {"tenant": {"$in": ["acme", "globex"]}},
    {"tenant": {"$nin": ["acme"]}},
    {"chunk": {"$gt": 1}},
    {"chunk": {"$lte": 1}},
    {"$and": [{"tenant": "acme"}, {"doc_id": "d1"}]},
    {"$or": [{"tenant": "globex"}, {"doc_id": "d1"}]},
    {"$and": [{"tenant": "acme"}, {"doc_id": "d2"}]},
]

INVALID: list[Any] = [
    {"tenant": {"$regex": "a.*"}},
    {"tenant": ["acme"]},
    {"tenant": None},
    {"tenant": {"$ne": "", "$eq": "acme"}},
    {"tenant": {"$in": "acme"}},
    {"$and": [{"tenant": "acme"}]},
    {"tenant": "acme", "doc_id": "d1"},
]


def test_expected_matches() -> None:
    assert matches_where(META, {"tenant": "acme"})
    assert not matches_where(META, {"tenant": "globex"})
    assert matches_where(META, {"tenant": {"$ne": ""}})
    assert matches_where(META, {"tenant": {"$in": ["globex", "acme"]}})
    assert not matches_where(META, {"$and": [{"tenant": "acme"}, {"doc_id": "d2"}]})


@pytest.mark.parametrize("where", INVALID)
def test_invalid_filters_raise(where: Any) -> None:
    with pytest.raises(FilterError):
        matches_where(META, where)


@pytest.fixture(scope="module")
def store(module_dir: Path, embedder: Embedder) -> Iterator[ChromaStore]:
    s = ChromaStore(module_dir / "chroma", "filters", embedder)
    s.add(["d1#2", "d2#0"], ["one", "two"], [META, OTHER], embedder.embed(["one", "two"]))
    yield s
    s.close()


@pytest.mark.parametrize("where", VALID)
def test_matcher_agrees_with_chroma(store: ChromaStore, where: dict[str, Any]) -> None:
    chroma_ids = set(store.ids(where))
    ours = {cid for cid, meta in [("d1#2", META), ("d2#0", OTHER)] if matches_where(meta, where)}
    assert ours == chroma_ids


@pytest.mark.parametrize("where", INVALID[:5])
def test_chroma_rejects_what_the_matcher_rejects(store: ChromaStore, embedder: Embedder, where: Any) -> None:
    with pytest.raises(StoreFilterError):
        store.query(np.ones(embedder.dimension, dtype=np.float32), n_results=1, where=where)
