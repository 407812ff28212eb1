"""Rank fusion and diversification used by the lab's hybrid and MMR retrieval modes.

- Reciprocal rank fusion: Cormack, Clarke and Büttcher, "Reciprocal Rank Fusion
  outperforms Condorcet and individual Rank Learning Methods", SIGIR 2009.
- Maximal marginal relevance: Carbonell and Goldstein, "The Use of MMR,
  Diversity-Based Reranking for Reordering Documents and Producing Summaries",
  SIGIR 1998.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["RRF_K", "maximal_marginal_relevance", "reciprocal_rank_fusion"]

#: The constant ``k`` of reciprocal rank fusion (60 in the original paper).
RRF_K = 60


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], *, k: int = RRF_K) -> list[tuple[str, float]]:
    """Fuse ranked id lists: ``score(id) = sum over lists of 1 / (k + rank)``, rank from 1.

    Returns ``(id, score)`` pairs, best first; ties keep the order of first appearance.
    Raises ``ValueError`` when ``k`` is negative.
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    order = {item: n for n, item in enumerate(scores)}
    return sorted(scores.items(), key=lambda pair: (-pair[1], order[pair[0]]))


def maximal_marginal_relevance(
    query: NDArray[np.floating],
    candidates: NDArray[np.floating],
    *,
    top_k: int,
    lambda_mult: float = 0.5,
) -> list[tuple[int, float]]:
    """Select ``top_k`` candidate rows by MMR.

    ``query`` has shape ``(d,)`` and ``candidates`` shape ``(n, d)``; vectors are
    compared by cosine similarity. Each step picks the candidate maximising
    ``lambda_mult * sim(query, c) - (1 - lambda_mult) * max sim(c, selected)``.
    Returns ``(row index, MMR score)`` pairs in selection order (at most ``n``).
    Raises ``ValueError`` on mismatched shapes, ``top_k < 1`` or ``lambda_mult`` outside [0, 1].
    """
    if candidates.ndim != 2 or query.ndim != 1 or candidates.shape[1:] != query.shape:
        raise ValueError(f"shape mismatch: query {query.shape}, candidates {candidates.shape}")
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    if not 0.0 <= lambda_mult <= 1.0:
        raise ValueError(f"lambda_mult must be in [0, 1], got {lambda_mult}")
    if candidates.shape[0] == 0:
        return []

    def _unit(m: NDArray[np.floating]) -> NDArray[np.float64]:
        m64 = np.asarray(m, dtype=np.float64)
        norms = np.linalg.norm(m64, axis=-1, keepdims=True)
        return m64 / np.where(norms == 0.0, 1.0, norms)

    cand = _unit(candidates)
    relevance = cand @ _unit(query)
    pairwise = cand @ cand.T
    selected: list[tuple[int, float]] = []
    remaining = list(range(cand.shape[0]))
    while remaining and len(selected) < top_k:
        chosen = [i for i, _ in selected]
        best_i, best_score = remaining[0], -np.inf
        for i in remaining:
            redundancy = float(pairwise[i, chosen].max()) if chosen else 0.0
            score = lambda_mult * float(relevance[i]) - (1.0 - lambda_mult) * redundancy
            if score > best_score:
                best_i, best_score = i, score
        selected.append((best_i, float(best_score)))
        remaining.remove(best_i)
    return selected
