"""The ``chroma`` adapter: a Chroma collection (https://docs.trychroma.com), embedded or over HTTP.

``path`` opens ``chromadb.PersistentClient`` on a directory; ``url`` connects
``chromadb.HttpClient`` to a ``chroma run`` server. Product telemetry is off.
The collection is created (cosine space, no embedding function: the adapter
always passes embeddings, so Chroma never downloads its default model) when it
does not exist. The tenant filter is a Chroma ``where`` document rendered from
the configured template, by default ``{"<tenant_key>": "{tenant}"}``, which
forwards the request's value as it is: an application that does that lets
``{"$ne": ""}`` or ``{"$in": [...]}`` widen the filter (CWE-943, OWASP
LLM08:2025), and a ``$regex`` makes Chroma reject the query. Retrieval modes
and their per-mode filtering: :mod:`ragward.targets._store`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from numpy.typing import NDArray

from ragward.errors import ConfigError
from ragward.lab.models import Embedder
from ragward.targets._store import Hit, Row, Scope, StoreBackend, StoreQueryError, StoreTarget
from ragward.targets.config import ChromaTargetConfig

__all__ = ["ChromaTarget"]

_RESERVED = ("doc_id",)


def _metadata(row: Row, tenant_key: str) -> dict[str, str | int | float | bool]:
    meta: dict[str, str | int | float | bool] = {
        k: v if isinstance(v, str | int | float | bool) else json.dumps(v) for k, v in row.metadata.items()
    }
    meta["doc_id"] = row.doc_id
    if row.tenant is not None:
        meta[tenant_key] = row.tenant
    return meta


class _ChromaBackend:
    """Chroma primitives over one collection."""

    def __init__(self, config: ChromaTargetConfig, url: str | None) -> None:
        os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False)
        if url is not None:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigError(f"url: {url!r} is not an http(s) URL")
            self._client: Any = chromadb.HttpClient(
                host=parts.hostname,
                port=parts.port or (443 if parts.scheme == "https" else 80),
                ssl=parts.scheme == "https",
                settings=settings,
            )
        else:
            assert config.path is not None
            path = config.path.expanduser()
            path.mkdir(parents=True, exist_ok=True)
            self._client = chromadb.PersistentClient(path=str(path), settings=settings)
        self._tenant_key = config.tenant_key
        self._col: Any = self._client.get_or_create_collection(
            config.collection, embedding_function=None, metadata={"hnsw:space": "cosine"}
        )

    def _row(self, cid: str, text: str | None, meta: Any, embedding: Any = None) -> Row:
        meta = dict(meta or {})
        tenant = meta.get(self._tenant_key)
        return Row(
            id=str(cid),
            doc_id=str(meta.get("doc_id", cid)),
            tenant=str(tenant) if tenant is not None else None,
            text=text or "",
            metadata=meta,
            embedding=np.asarray(embedding, dtype=np.float32) if embedding is not None else None,
        )

    def add(self, rows: Sequence[Row]) -> None:
        self._col.upsert(
            ids=[r.id for r in rows],
            embeddings=[np.asarray(r.embedding, dtype=np.float32).tolist() for r in rows],
            documents=[r.text for r in rows],
            metadatas=[_metadata(r, self._tenant_key) for r in rows],
        )

    def delete(self, doc_id: str, tenant: str) -> None:
        self._col.delete(where={"$and": [{"doc_id": doc_id}, {self._tenant_key: tenant}]})

    def doc_ids(self) -> set[str]:
        got = self._col.get(include=["metadatas"])
        return {str((m or {}).get("doc_id", i)) for i, m in zip(got["ids"], got["metadatas"], strict=True)}

    def _where(self, scope: Scope) -> Any:
        return scope.filter if scope.filter is not None else None

    def search(self, embedding: NDArray[np.float32], k: int, scope: Scope, *, with_vectors: bool) -> list[Hit]:
        count = self._col.count()
        if count == 0:
            return []
        include = ["documents", "metadatas", "distances"] + (["embeddings"] if with_vectors else [])
        try:
            got = self._col.query(
                query_embeddings=[embedding.tolist()],
                n_results=min(k, count),
                where=self._where(scope),
                include=include,
            )
        except ValueError as exc:
            raise StoreQueryError(str(exc).splitlines()[0]) from None
        vectors = got.get("embeddings")
        hits = []
        for j, cid in enumerate(got["ids"][0]):
            vec = vectors[0][j] if with_vectors and vectors is not None else None
            row = self._row(cid, got["documents"][0][j], got["metadatas"][0][j], vec)
            hits.append(Hit(row, 1.0 - float(got["distances"][0][j])))
        return hits

    def scan(self, scope: Scope) -> list[Row]:
        try:
            got = self._col.get(where=self._where(scope), include=["documents", "metadatas"])
        except ValueError as exc:
            raise StoreQueryError(str(exc).splitlines()[0]) from None
        return [self._row(i, d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)]

    def close(self) -> None:
        self._col = None


class ChromaTarget(StoreTarget):
    """A Chroma collection used the way the application uses it; see the module docstring.

    ``name``: the config's label; ``key``: ``chroma-<sha256(location)[:12]>``.
    Raises :class:`ConfigError` for a bad URL; store failures are :class:`TargetError`.
    """

    kind = "chroma"

    def __init__(self, config: ChromaTargetConfig, *, embedder: Embedder | None = None) -> None:
        """Prepare the target; the client opens on first use."""
        super().__init__(config, embedder=embedder)
        self._url = self.secrets.resolve(config.url, "url") if config.url else None

    def _fingerprint(self) -> str:
        c: ChromaTargetConfig = self.config
        where = c.url or str(c.path.expanduser().resolve() if c.path else "")
        return f"{where}|{c.collection}"

    def _make_backend(self, dimension: int) -> StoreBackend:
        return _ChromaBackend(self.config, self._url)
