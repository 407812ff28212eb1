"""The ``lancedb`` adapter: a LanceDB table (https://lancedb.github.io/lancedb/) in a local directory.

The table (created when missing) has the columns ``id``, ``doc_id``, the tenant
column (``tenant_key``), ``text``, ``metadata`` (JSON text) and ``vector``
(fixed-size float32 list). Searches use cosine distance with the tenant
predicate as a pre-filter.

LanceDB filters are SQL predicates, so the tenant filter template is a string,
by default ``"<tenant_key> = {tenant:sql}"`` (the value as a quoted SQL
literal, quotes doubled). An application that interpolates the value into
quotes itself (``"tenant = '{tenant}'"``) lets ``acme' OR '1'='1`` turn the
predicate always true (CWE-89, OWASP LLM08:2025); a predicate LanceDB cannot
parse fails the request (``Response.error``). Modes: :mod:`ragward.targets._store`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ragward.errors import ConfigError
from ragward.lab.models import Embedder
from ragward.targets._store import Hit, Row, Scope, StoreBackend, StoreQueryError, StoreTarget
from ragward.targets._template import sql_literal
from ragward.targets.config import LanceDBTargetConfig

__all__ = ["LanceDBTarget"]

_SCAN_LIMIT = 1_000_000


class _LanceBackend:
    """LanceDB primitives over one table."""

    def __init__(self, config: LanceDBTargetConfig, uri: str, dimension: int) -> None:
        import lancedb
        import pyarrow as pa

        self._tenant_key = config.tenant_key
        self._db: Any = lancedb.connect(uri)
        if config.table in self._db.list_tables().tables:
            self._table: Any = self._db.open_table(config.table)
        else:
            schema = pa.schema(
                [
                    ("id", pa.string()),
                    ("doc_id", pa.string()),
                    (config.tenant_key, pa.string()),
                    ("text", pa.string()),
                    ("metadata", pa.string()),
                    ("vector", pa.list_(pa.float32(), dimension)),
                ]
            )
            self._table = self._db.create_table(config.table, schema=schema)

    def _where(self, scope: Scope) -> str | None:
        if scope.filter is None:
            return None
        if not isinstance(scope.filter, str):
            raise StoreQueryError("a LanceDB tenant filter must render to an SQL predicate string")
        return scope.filter

    def _row(self, record: dict[str, Any], with_vector: bool = False) -> Row:
        try:
            meta = json.loads(record.get("metadata") or "{}")
        except ValueError:
            meta = {}
        vector = record.get("vector") if with_vector else None
        tenant = record.get(self._tenant_key)
        return Row(
            id=str(record["id"]),
            doc_id=str(record.get("doc_id", record["id"])),
            tenant=str(tenant) if tenant is not None else None,
            text=str(record.get("text") or ""),
            metadata=meta if isinstance(meta, dict) else {},
            embedding=np.asarray(vector, dtype=np.float32) if vector is not None else None,
        )

    def add(self, rows: Sequence[Row]) -> None:
        data = [
            {
                "id": r.id,
                "doc_id": r.doc_id,
                self._tenant_key: r.tenant,
                "text": r.text,
                "metadata": json.dumps(r.metadata),
                "vector": np.asarray(r.embedding, dtype=np.float32).tolist(),
            }
            for r in rows
        ]
        self._table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all().execute(data)

    def delete(self, doc_id: str, tenant: str) -> None:
        self._table.delete(f"doc_id = {sql_literal(doc_id)} AND {self._tenant_key} = {sql_literal(tenant)}")

    def doc_ids(self) -> set[str]:
        return {str(d) for d in self._table.to_arrow().column("doc_id").to_pylist()}

    def search(self, embedding: NDArray[np.float32], k: int, scope: Scope, *, with_vectors: bool) -> list[Hit]:
        where = self._where(scope)
        query = self._table.search(embedding.tolist()).distance_type("cosine")
        if where is not None:
            query = query.where(where, prefilter=True)
        try:
            records = query.limit(k).to_list()
        except ValueError as exc:
            raise StoreQueryError(str(exc).splitlines()[0]) from None
        return [Hit(self._row(r, with_vectors), 1.0 - float(r["_distance"])) for r in records]

    def scan(self, scope: Scope) -> list[Row]:
        where = self._where(scope)
        query = self._table.search()
        if where is not None:
            query = query.where(where)
        try:
            return [self._row(r) for r in query.limit(_SCAN_LIMIT).to_list()]
        except ValueError as exc:
            raise StoreQueryError(str(exc).splitlines()[0]) from None

    def close(self) -> None:
        self._table = None


class LanceDBTarget(StoreTarget):
    """A LanceDB table used the way the application uses it; see the module docstring.

    ``name``: the config's label; ``key``: ``lancedb-<sha256(uri, table)[:12]>``.
    Raises :class:`ConfigError` when the filter template is not a string.
    """

    kind = "lancedb"

    def __init__(self, config: LanceDBTargetConfig, *, embedder: Embedder | None = None) -> None:
        """Prepare the target; the database opens on first use."""
        template = config.tenant_filter.template
        if template is not None and not isinstance(template, str):
            raise ConfigError("tenant_filter.template: a LanceDB filter is an SQL predicate string")
        super().__init__(config, embedder=embedder)
        self._uri = self.secrets.resolve(config.uri, "uri")

    def _default_template(self) -> Any:
        return f"{self.config.tenant_key} = {{tenant:sql}}"

    def _fingerprint(self) -> str:
        return f"{self.config.uri}|{self.config.table}"

    def _make_backend(self, dimension: int) -> StoreBackend:
        return _LanceBackend(self.config, self._uri, dimension)
