"""The lab's vector store: one embedded Chroma collection per lab, with our embedding function.

Chroma (https://docs.trychroma.com) runs in-process through
``chromadb.PersistentClient``; product telemetry is off and Chroma's default
embedding function (which downloads an ONNX model) is never used: the
collection is created with :class:`LabEmbeddingFunction`, and the lab passes
precomputed embeddings on every add and query. Distances are cosine
(``1 - cosine similarity``, in [0, 2]).

Every chunk carries metadata ``tenant``, ``doc_id``, ``source``,
``classification``, ``chunk`` (its index) and ``doc_sha256``. Not thread safe:
the lab serialises access.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ragward.lab.models import Embedder

__all__ = ["ChromaStore", "LabEmbeddingFunction", "StoreFilterError", "StoredChunk"]

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import chromadb  # telemetry must be off before import
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.config import Settings


class StoreFilterError(ValueError):
    """Chroma rejected a ``where`` filter (e.g. an unknown operator smuggled in as a tenant)."""


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as read back from the store; ``distance`` is the cosine distance of a query hit."""

    id: str
    text: str
    metadata: Mapping[str, Any]
    distance: float | None = None
    embedding: NDArray[np.float32] | None = field(default=None, compare=False)

    @property
    def doc_id(self) -> str:
        """The id of the document this chunk belongs to."""
        return str(self.metadata.get("doc_id", ""))

    @property
    def tenant(self) -> str | None:
        """The tenant recorded in the chunk's metadata (``None`` when absent)."""
        value = self.metadata.get("tenant")
        return value if isinstance(value, str) else None


class LabEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma embedding function backed by a lab :class:`~ragward.lab.models.Embedder`.

    Registered with Chroma under the name ``"ragward-lab"``, so Chroma never
    falls back to its downloading default function.
    """

    def __init__(self, embedder: Embedder | None = None) -> None:
        """Wrap ``embedder`` (default: the process-wide all-MiniLM-L6-v2 singleton, loaded lazily)."""
        self._embedder = embedder

    def _model(self) -> Embedder:
        if self._embedder is None:
            from ragward.lab.models import get_embedder

            self._embedder = get_embedder()
        return self._embedder

    def __call__(self, input: Documents) -> Embeddings:
        """Embed ``input`` texts; returns one float32 vector per text."""
        return list(self._model().embed(list(input)))

    @staticmethod
    def name() -> str:
        """The registered name of this embedding function."""
        return "ragward-lab"

    def default_space(self) -> str:  # type: ignore[override]
        """Cosine space: the embeddings are L2-normalised."""
        return "cosine"

    def get_config(self) -> dict[str, Any]:
        """The serialisable config Chroma stores with the collection."""
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> LabEmbeddingFunction:
        """Rebuild from a stored config (uses the process-wide embedder)."""
        return LabEmbeddingFunction()


def _settings() -> Settings:
    return Settings(anonymized_telemetry=False, allow_reset=False)


class ChromaStore:
    """A Chroma collection ``name`` under ``path``; embeddings come from ``embedder``.

    Raises :class:`ragward.errors.ConfigError`-free ``ValueError`` for an invalid
    collection name (3-63 chars of ``[A-Za-z0-9._-]``), as Chroma does.
    """

    def __init__(self, path: Path, name: str, embedder: Embedder) -> None:
        """Open (creating if needed) the persistent store at ``path`` and its collection ``name``."""
        path.mkdir(parents=True, exist_ok=True)
        self._embedder = embedder
        self._client: Any = chromadb.PersistentClient(path=str(path), settings=_settings())
        function: Any = LabEmbeddingFunction(embedder)
        self._collection: Any = self._client.get_or_create_collection(
            name=name,
            embedding_function=function,
            configuration={"hnsw": {"space": "cosine"}},
        )

    def count(self) -> int:
        """Number of stored chunks."""
        return int(self._collection.count())

    def add(
        self,
        ids: Sequence[str],
        texts: Sequence[str],
        metadatas: Sequence[Mapping[str, str | int | float | bool]],
        embeddings: NDArray[np.float32],
    ) -> None:
        """Add chunks (``embeddings`` of shape ``(len(ids), dim)``); an id already stored is replaced."""
        if not ids:
            return
        self._collection.upsert(
            ids=list(ids),
            documents=list(texts),
            metadatas=[dict(m) for m in metadatas],
            embeddings=[np.asarray(e, dtype=np.float32) for e in embeddings],
        )

    def delete_where(self, where: Mapping[str, Any]) -> list[str]:
        """Delete the chunks matching ``where``; returns their ids."""
        ids = self.ids(where)
        if ids:
            self._collection.delete(ids=ids)
        return ids

    def ids(self, where: Mapping[str, Any] | None = None) -> list[str]:
        """Ids of the chunks matching ``where`` (all chunks when ``None``)."""
        result = self._get(where, include=[])
        return [str(i) for i in result["ids"]]

    def get(self, where: Mapping[str, Any] | None = None) -> list[StoredChunk]:
        """Every chunk matching ``where`` (all when ``None``), with text and metadata."""
        result = self._get(where, include=["documents", "metadatas"])
        return [
            StoredChunk(id=str(i), text=str(t or ""), metadata=dict(m or {}))
            for i, t, m in zip(result["ids"], result["documents"], result["metadatas"], strict=True)
        ]

    def _get(self, where: Mapping[str, Any] | None, include: list[str]) -> Any:
        try:
            return self._collection.get(where=dict(where) if where else None, include=include)
        except ValueError as exc:  # chromadb validation errors are ValueError subclasses
            raise StoreFilterError(f"invalid where filter {where!r}: {exc}") from exc

    def query(
        self,
        embedding: NDArray[np.float32],
        *,
        n_results: int,
        where: Mapping[str, Any] | None = None,
        with_embeddings: bool = False,
    ) -> list[StoredChunk]:
        """The ``n_results`` nearest chunks to ``embedding`` (shape ``(dim,)``) matching ``where``.

        Nearest first; raises :class:`StoreFilterError` when Chroma rejects ``where``.
        """
        total = self.count()
        if total == 0 or n_results < 1:
            return []
        include = ["documents", "metadatas", "distances"]
        if with_embeddings:
            include.append("embeddings")
        try:
            result = self._collection.query(
                query_embeddings=[np.asarray(embedding, dtype=np.float32)],
                n_results=min(n_results, total),
                where=dict(where) if where else None,
                include=include,
            )
        except ValueError as exc:
            raise StoreFilterError(f"invalid where filter {where!r}: {exc}") from exc
        embeddings = result["embeddings"][0] if with_embeddings else [None] * len(result["ids"][0])
        return [
            StoredChunk(
                id=str(i),
                text=str(t or ""),
                metadata=dict(m or {}),
                distance=float(d),
                embedding=None if e is None else np.asarray(e, dtype=np.float32),
            )
            for i, t, m, d, e in zip(
                result["ids"][0],
                result["documents"][0],
                result["metadatas"][0],
                result["distances"][0],
                embeddings,
                strict=True,
            )
        ]

    def close(self) -> None:
        """Release this client's reference to the shared Chroma system."""
        close = getattr(self._client, "close", None)
        if callable(close):
            close()
