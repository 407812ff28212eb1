"""Reciprocal rank fusion and maximal marginal relevance."""

from __future__ import annotations

import numpy as np
import pytest

from ragward.lab.ranking import RRF_K, maximal_marginal_relevance, reciprocal_rank_fusion


def test_rrf_scores_follow_the_formula() -> None:
    fused = dict(reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]]))
    assert fused["a"] == pytest.approx(1 / (RRF_K + 1))
    assert fused["b"] == pytest.approx(1 / (RRF_K + 2) + 1 / (RRF_K + 1))
    assert fused["d"] == pytest.approx(1 / (RRF_K + 2))
    assert fused["c"] == pytest.approx(1 / (RRF_K + 3))


def test_rrf_orders_best_first_and_ties_by_first_appearance() -> None:
    order = [item for item, _ in reciprocal_rank_fusion([["a", "b"], ["c", "b"]])]
    assert order == ["b", "a", "c"]


def test_rrf_item_in_both_lists_beats_a_single_top_rank() -> None:
    order = [item for item, _ in reciprocal_rank_fusion([["x", "y"], ["z", "y"]], k=60)]
    assert order[0] == "y"


def test_rrf_rejects_negative_k() -> None:
    with pytest.raises(ValueError, match="k must be"):
        reciprocal_rank_fusion([["a"]], k=-1)


def test_mmr_picks_the_most_relevant_first_then_diversifies() -> None:
    query = np.array([1.0, 0.0, 0.0])
    candidates = np.array(
        [
            [0.95, 0.31, 0.0],  # most relevant
            [0.94, 0.34, 0.0],  # near-duplicate of the first
            [0.70, 0.0, 0.71],  # less relevant, different
        ]
    )
    picked = [i for i, _ in maximal_marginal_relevance(query, candidates, top_k=2, lambda_mult=0.5)]
    assert picked == [0, 2]


def test_mmr_with_lambda_one_is_plain_relevance_order() -> None:
    rng = np.random.default_rng(7)
    query = rng.normal(size=8)
    candidates = rng.normal(size=(12, 8))
    picked = [i for i, _ in maximal_marginal_relevance(query, candidates, top_k=12, lambda_mult=1.0)]
    unit = candidates / np.linalg.norm(candidates, axis=1, keepdims=True)
    expected = list(np.argsort(-(unit @ (query / np.linalg.norm(query)))))
    assert picked == expected


def test_mmr_returns_at_most_the_candidates() -> None:
    query = np.ones(4)
    assert len(maximal_marginal_relevance(query, np.eye(4)[:2], top_k=5)) == 2
    assert maximal_marginal_relevance(query, np.zeros((0, 4)), top_k=3) == []


@pytest.mark.parametrize(
    ("query", "candidates", "top_k", "lam"),
    [
        (np.ones(3), np.ones((2, 4)), 1, 0.5),
        (np.ones(3), np.ones((2, 3)), 0, 0.5),
        (np.ones(3), np.ones((2, 3)), 1, 1.5),
    ],
)
def test_mmr_rejects_bad_arguments(query: np.ndarray, candidates: np.ndarray, top_k: int, lam: float) -> None:
    with pytest.raises(ValueError, match=r"shape|top_k|lambda"):
        maximal_marginal_relevance(query, candidates, top_k=top_k, lambda_mult=lam)
