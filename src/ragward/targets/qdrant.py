"""The ``qdrant`` adapter: a Qdrant collection (https://qdrant.tech/documentation/), local mode or server.

``path`` runs ``qdrant_client.QdrantClient(path=...)`` in local mode (the
same API, in process); ``url`` connects to a Qdrant server (``api_key`` as a
``${ENV_VAR}`` reference). The collection is created with cosine distance when
missing. Point ids are UUIDv5 of the chunk id; the payload holds the chunk id,
``doc_id``, the tenant field (``tenant_key``), ``text`` and the metadata.

The tenant filter is a Qdrant filter object rendered from the template, by
default ``{"must": [{"key": "<tenant_key>", "match": {"value": "{tenant}"}}]}``,
then validated by the client's own model (``models.Filter``): a value Qdrant
cannot take (an operator object, ``null``) is rejected by the client, and the
request fails closed (``Response.error``). Modes: :mod:`ragward.targets._store`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ragward.lab.models import Embedder
from ragward.targets._store import Hit, Row, Scope, StoreBackend, StoreQueryError, StoreTarget
from ragward.targets.config import QdrantTargetConfig

__all__ = ["QdrantTarget"]

_SCROLL_PAGE = 256


class _QdrantBackend:
    """Qdrant primitives over one collection."""

    def __init__(self, config: QdrantTargetConfig, url: str | None, api_key: str | None, dimension: int) -> None:
        from qdrant_client import QdrantClient, models

        self._m: Any = models
        if url is not None:
            self._client: Any = QdrantClient(url=url, api_key=api_key, timeout=30)
        else:
            assert config.path is not None
            path = config.path.expanduser()
            path.mkdir(parents=True, exist_ok=True)
            self._client = QdrantClient(path=str(path))
        self._name = config.collection
        self._tenant_key = config.tenant_key
        if not self._client.collection_exists(self._name):
            self._client.create_collection(
                self._name, vectors_config=models.VectorParams(size=dimension, distance=models.Distance.COSINE)
            )

    def _filter(self, scope: Scope) -> Any:
        if scope.filter is None:
            return None
        try:
            return self._m.Filter.model_validate(scope.filter)
        except Exception as exc:  # pydantic.ValidationError: the client refuses the filter
            raise StoreQueryError(f"invalid Qdrant filter: {str(exc).splitlines()[0]}") from None

    def _row(self, point: Any) -> Row:
        payload = dict(point.payload or {})
        tenant = payload.get(self._tenant_key)
        vector = point.vector if isinstance(point.vector, list) else None
        meta = payload.get("metadata")
        return Row(
            id=str(payload.get("chunk_id", point.id)),
            doc_id=str(payload.get("doc_id", point.id)),
            tenant=str(tenant) if tenant is not None else None,
            text=str(payload.get("text", "")),
            metadata=dict(meta) if isinstance(meta, dict) else {},
            embedding=np.asarray(vector, dtype=np.float32) if vector is not None else None,
        )

    def add(self, rows: Sequence[Row]) -> None:
        points = [
            self._m.PointStruct(
                id=str(uuid.uuid5(uuid.NAMESPACE_URL, r.id)),
                vector=np.asarray(r.embedding, dtype=np.float32).tolist(),
                payload={
                    "chunk_id": r.id,
                    "doc_id": r.doc_id,
                    self._tenant_key: r.tenant,
                    "text": r.text,
                    "metadata": dict(r.metadata),
                },
            )
            for r in rows
        ]
        self._client.upsert(self._name, points=points, wait=True)

    def delete(self, doc_id: str, tenant: str) -> None:
        m = self._m
        selector = m.FilterSelector(
            filter=m.Filter(
                must=[
                    m.FieldCondition(key="doc_id", match=m.MatchValue(value=doc_id)),
                    m.FieldCondition(key=self._tenant_key, match=m.MatchValue(value=tenant)),
                ]
            )
        )
        self._client.delete(self._name, points_selector=selector, wait=True)

    def _scroll(self, flt: Any, *, payload: Any = True) -> list[Any]:
        points: list[Any] = []
        offset = None
        while True:
            page, offset = self._client.scroll(
                self._name, scroll_filter=flt, limit=_SCROLL_PAGE, offset=offset, with_payload=payload
            )
            points.extend(page)
            if offset is None:
                return points

    def doc_ids(self) -> set[str]:
        return {str((p.payload or {}).get("doc_id", p.id)) for p in self._scroll(None, payload=["doc_id"])}

    def search(self, embedding: NDArray[np.float32], k: int, scope: Scope, *, with_vectors: bool) -> list[Hit]:
        flt = self._filter(scope)
        try:
            got = self._client.query_points(
                self._name,
                query=embedding.tolist(),
                limit=k,
                query_filter=flt,
                with_payload=True,
                with_vectors=with_vectors,
            )
        except ValueError as exc:
            raise StoreQueryError(str(exc).splitlines()[0]) from None
        return [Hit(self._row(p), float(p.score)) for p in got.points]

    def scan(self, scope: Scope) -> list[Row]:
        return [self._row(p) for p in self._scroll(self._filter(scope))]

    def close(self) -> None:
        self._client.close()


class QdrantTarget(StoreTarget):
    """A Qdrant collection used the way the application uses it; see the module docstring.

    ``name``: the config's label; ``key``: ``qdrant-<sha256(location)[:12]>``.
    """

    kind = "qdrant"

    def __init__(self, config: QdrantTargetConfig, *, embedder: Embedder | None = None) -> None:
        """Prepare the target; ``${VAR}`` references in ``url``/``api_key`` resolve now, the client on first use."""
        super().__init__(config, embedder=embedder)
        self._url = self.secrets.resolve(config.url, "url") if config.url else None
        self._api_key = self.secrets.resolve(config.api_key, "api_key") if config.api_key else None

    def _default_template(self) -> Any:
        return {"must": [{"key": self.config.tenant_key, "match": {"value": "{tenant}"}}]}

    def _fingerprint(self) -> str:
        c: QdrantTargetConfig = self.config
        where = c.url or str(c.path.expanduser().resolve() if c.path else "")
        return f"{where}|{c.collection}"

    def _make_backend(self, dimension: int) -> StoreBackend:
        return _QdrantBackend(self.config, self._url, self._api_key, dimension)
