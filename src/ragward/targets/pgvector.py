"""The ``pgvector`` adapter: chunks in PostgreSQL, tenancy by row-level security.

The application's table holds ``id`` (primary key), ``doc_id``, the tenant
column (``tenant_key``), ``text``, ``metadata`` (jsonb) and ``embedding``:
``vector(n)`` with the pgvector extension (https://github.com/pgvector/pgvector,
distance ``<=>``), or ``real[]`` with the SQL function
``ragward_cosine_distance(real[], real[])`` where the extension is not
installed (``vector: array``; examples/targets/pgvector-schema.sql creates
both the table and the function). The adapter connects as the application's
role (the DSN's user): row-level security does not apply to a superuser, to a
role with ``BYPASSRLS`` or to the table's owner (unless ``FORCE ROW LEVEL
SECURITY``), and a scan of such a setup rightly finds the leaks.

Tenancy (PostgreSQL manual, "Row Security Policies"):

- ``rls`` (default): every request runs in a transaction that first calls
  ``set_config('<tenant_setting>', <tenant>, true)`` with the tenant as a
  bound parameter; the table's policies (``USING (tenant =
  current_setting('app.tenant', true))``) decide what is visible. An
  ``unscoped`` request leaves the setting unset.
- ``where``: the filter template is an SQL predicate appended to every
  query, by default ``"<tenant_key> = {tenant:sql}"``.

``search_sql`` replaces the vector search by the application's own query,
with ``%(embedding)s``, ``%(k)s`` and ``%(tenant)s`` parameters and the columns
``id, doc_id, <tenant_key>, text, metadata, score`` (plus ``embedding`` for
MMR); a ``SECURITY DEFINER`` search function whose tenant parameter defaults
to ``NULL`` and means "all tenants" bypasses row-level security (CWE-863; the
PostgreSQL manual's warning on ``SECURITY DEFINER``), which a scan reports.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ragward.lab.models import Embedder
from ragward.targets._store import Hit, Row, Scope, StoreBackend, StoreQueryError, StoreTarget
from ragward.targets._template import text_form
from ragward.targets.config import PgvectorTargetConfig

__all__ = ["PgvectorTarget"]


class _PgBackend:
    """PostgreSQL primitives over one table, through one connection (calls are serialised)."""

    def __init__(self, config: PgvectorTargetConfig, dsn: str, tenant_values: Sequence[str]) -> None:
        import psycopg
        from psycopg import sql

        self._psycopg: Any = psycopg
        self._sql: Any = sql
        self._config = config
        self._tenants = list(tenant_values)
        try:
            self._conn: Any = psycopg.connect(dsn, connect_timeout=10)
        except psycopg.Error as exc:
            raise ConnectionError(f"cannot connect to PostgreSQL: {str(exc).splitlines()[0]}") from None
        vector = config.vector
        if vector == "auto":
            with self._conn.transaction():
                found = self._conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()
            vector = "pgvector" if found else "array"
        self._vector = vector
        self._table = sql.Identifier(*config.table.split("."))
        self._tenant_col = sql.Identifier(config.tenant_key)

    # ---------------------------------------------------------------- helpers

    def _embedding_param(self, embedding: NDArray[np.float32]) -> Any:
        values = [float(x) for x in embedding]
        if self._vector == "pgvector":
            return "[" + ",".join(repr(v) for v in values) + "]"
        return values

    def _distance(self) -> Any:
        sql = self._sql
        if self._vector == "pgvector":
            return sql.SQL("embedding <=> %(embedding)s::vector")
        return sql.SQL("ragward_cosine_distance(embedding, %(embedding)s::real[])")

    def _where(self, scope: Scope) -> Any:
        sql = self._sql
        if self._config.tenancy == "where" and scope.filter is not None:
            if not isinstance(scope.filter, str):
                raise StoreQueryError("a SQL tenant filter must render to a predicate string")
            return sql.SQL(" WHERE ") + sql.SQL(scope.filter)  # the application's own predicate, as it builds it
        return sql.SQL("")

    def _run(self, scope: Scope | None, tenant: str | None, query: Any, params: dict[str, Any]) -> list[Any]:
        """Run ``query`` in a transaction with the tenant setting (RLS) of ``scope`` or ``tenant``."""
        psycopg = self._psycopg
        try:
            with self._conn.transaction(), self._conn.cursor() as cur:
                if self._config.tenancy == "rls":
                    if scope is not None and not scope.unscoped:
                        value = None if scope.tenant is None else text_form(scope.tenant)
                        cur.execute("SELECT set_config(%s, %s, true)", (self._config.tenant_setting, value))
                    elif tenant is not None:
                        cur.execute("SELECT set_config(%s, %s, true)", (self._config.tenant_setting, tenant))
                cur.execute(query, params)
                return list(cur.fetchall()) if cur.description is not None else []
        except (psycopg.errors.SyntaxError, psycopg.errors.DataException, psycopg.errors.UndefinedColumn) as exc:
            raise StoreQueryError(str(exc).splitlines()[0]) from None

    def _row(self, record: Any, *, with_vector: bool = False) -> Row:
        cid, doc_id, tenant, text, meta = record[:5]
        if isinstance(meta, str):
            try:
                meta = json.loads(meta)
            except ValueError:
                meta = {}
        vector = None
        if with_vector and len(record) > 6 and record[6] is not None:
            raw = record[6]
            vector = np.asarray(json.loads(raw) if isinstance(raw, str) else raw, dtype=np.float32)
        return Row(
            id=str(cid),
            doc_id=str(doc_id),
            tenant=str(tenant) if tenant is not None else None,
            text=str(text or ""),
            metadata=dict(meta) if isinstance(meta, dict) else {},
            embedding=vector,
        )

    # ------------------------------------------------------------- primitives

    def add(self, rows: Sequence[Row]) -> None:
        sql = self._sql
        cast = sql.SQL("::vector" if self._vector == "pgvector" else "::real[]")
        query = sql.SQL(
            "INSERT INTO {t} (id, doc_id, {tc}, text, metadata, embedding) "
            "VALUES (%(id)s, %(doc_id)s, %(tenant)s, %(text)s, %(metadata)s::jsonb, %(embedding)s{cast}) "
            "ON CONFLICT (id) DO UPDATE SET doc_id = EXCLUDED.doc_id, {tc} = EXCLUDED.{tc}, text = EXCLUDED.text, "
            "metadata = EXCLUDED.metadata, embedding = EXCLUDED.embedding"
        ).format(t=self._table, tc=self._tenant_col, cast=cast)
        for r in rows:
            params = {
                "id": r.id,
                "doc_id": r.doc_id,
                "tenant": r.tenant,
                "text": r.text,
                "metadata": json.dumps(r.metadata),
                "embedding": self._embedding_param(np.asarray(r.embedding, dtype=np.float32)),
            }
            self._run(None, r.tenant, query, params)

    def delete(self, doc_id: str, tenant: str) -> None:
        query = self._sql.SQL("DELETE FROM {t} WHERE doc_id = %(doc_id)s AND {tc} = %(tenant)s").format(
            t=self._table, tc=self._tenant_col
        )
        self._run(None, tenant, query, {"doc_id": doc_id, "tenant": tenant})

    def doc_ids(self) -> set[str]:
        query = self._sql.SQL("SELECT DISTINCT doc_id FROM {t}").format(t=self._table)
        ids: set[str] = set()
        # under row-level security each tenant sees its own rows only
        for tenant in self._tenants if self._config.tenancy == "rls" else [None]:
            ids.update(str(r[0]) for r in self._run(None, tenant, query, {}))
        return ids

    def search(self, embedding: NDArray[np.float32], k: int, scope: Scope, *, with_vectors: bool) -> list[Hit]:
        sql = self._sql
        params = {
            "embedding": self._embedding_param(embedding),
            "k": k,
            "tenant": None if scope.tenant is None else text_form(scope.tenant),
        }
        if self._config.search_sql:
            query = sql.SQL(self._config.search_sql)  # the application's own query
        else:
            vector_col = sql.SQL(", embedding::text" if self._vector == "pgvector" else ", embedding")
            query = sql.SQL(
                "SELECT id, doc_id, {tc}, text, metadata, 1 - ({d}) AS score{v} FROM {t}{w} ORDER BY {d} LIMIT %(k)s"
            ).format(
                tc=self._tenant_col,
                d=self._distance(),
                v=vector_col if with_vectors else sql.SQL(""),
                t=self._table,
                w=self._where(scope),
            )
        records = self._run(scope, None, query, params)
        return [Hit(self._row(r, with_vector=with_vectors), float(r[5])) for r in records]

    def scan(self, scope: Scope) -> list[Row]:
        query = self._sql.SQL("SELECT id, doc_id, {tc}, text, metadata FROM {t}{w}").format(
            tc=self._tenant_col, t=self._table, w=self._where(scope)
        )
        return [self._row(r) for r in self._run(scope, None, query, {})]

    def close(self) -> None:
        self._conn.close()


class PgvectorTarget(StoreTarget):
    """A PostgreSQL chunk table used the way the application uses it; see the module docstring.

    ``name``: the config's label; ``key``: ``pgvector-<sha256(host, db, table)[:12]>``.
    The DSN's ``${VAR}`` references (the password) resolve now; the connection opens on first use.
    """

    kind = "pgvector"

    def __init__(self, config: PgvectorTargetConfig, *, embedder: Embedder | None = None) -> None:
        """Prepare the target."""
        super().__init__(config, embedder=embedder)
        self._dsn = self.secrets.resolve(config.dsn, "dsn")

    def _default_template(self) -> Any:
        if self.config.tenancy == "rls":
            return None
        return f"{self.config.tenant_key} = {{tenant:sql}}"

    def _fingerprint(self) -> str:
        return str(self.config.location)

    def _make_backend(self, dimension: int) -> StoreBackend:
        return _PgBackend(self.config, self._dsn, [t.filter_value for t in self.config.tenants])
