"""Deterministic stand-ins for the lab's two models, shared by tests/lab, tests/targets and tests/integration.

``HashingEmbedder`` is a feature-hashing bag-of-words embedder (Weinberger et
al., "Feature Hashing for Large Scale Multitask Learning", ICML 2009): texts
sharing words get similar vectors, so retrieval behaves sensibly without the
real model. ``ParrotModel`` is a worst-case chat model that repeats its
context, so anything retrieved reaches the answer; it records every prompt,
and streams its reply in 7-character pieces (a 16-character canary always
spans three or more pieces).
Test doubles only: the product always runs the real models.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence

import numpy as np
from numpy.typing import NDArray

from ragward.lab.keyword import tokenize


class HashingEmbedder:
    """Bag-of-words feature hashing into ``dimension`` signed buckets, L2-normalised."""

    name = "hashing-test"

    def __init__(self, dimension: int = 256) -> None:
        self.dimension = dimension

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in tokenize(text) or ["empty"]:
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dimension
                out[row, bucket] += 1.0 if digest[4] & 1 else -1.0
            norm = float(np.linalg.norm(out[row]))
            out[row] = out[row] / norm if norm else 1.0 / np.sqrt(self.dimension)
        return out


class ParrotModel:
    """Answers with its whole context (up to 2,000 characters); records every prompt."""

    n_ctx = 2048
    piece_chars = 7

    def __init__(self) -> None:
        self.prompts: list[list[dict[str, str]]] = []

    def chat(self, messages: Sequence[dict[str, str]], *, max_tokens: int) -> str:
        self.prompts.append([dict(m) for m in messages])
        user = messages[-1]["content"]
        context = user.split("Context:\n", 1)[-1].rsplit("\n\nQuestion:", 1)[0]
        return context[:2000]

    def chat_stream(self, messages: Sequence[dict[str, str]], *, max_tokens: int) -> Iterator[str]:
        reply = self.chat(messages, max_tokens=max_tokens)
        for start in range(0, len(reply), self.piece_chars):
            yield reply[start : start + self.piece_chars]

    def count_tokens(self, text: str) -> int:
        return len(text) // 4 + 1
