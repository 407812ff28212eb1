"""The pgvector adapter on a real pgvector extension: PostgreSQL 16 + pgvector from the ``pgserver`` wheel.

The machine's PostgreSQL 15 has no pgvector package (tests/integration/test_pgvector.py covers it with
``real[]``), so these tests start their own server on a Unix socket under ``tmp_path`` with pgserver
(PyPI: PostgreSQL 16.2 and pgvector 0.6.2 binaries), create the chunk table of
examples/targets/pgvector-extension-schema.sql (``vector(384)``, ``<=>``, row-level security) and scan it
with ``vector: auto``, which must pick the extension.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from tgt_helpers import HashingEmbedder, failed, scan

from ragward.model import Severity
from ragward.targets.config import PgvectorTargetConfig, parse_target_config
from ragward.targets.pgvector import PgvectorTarget

pgserver = pytest.importorskip("pgserver")

pytestmark = [pytest.mark.integration, pytest.mark.slow]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "targets"
MISSING = ["RW-ISO-011", "RW-ISO-012", "RW-ISO-013"]
TAMPER = ["RW-ISO-014", "RW-ISO-015", "RW-ISO-016", "RW-ISO-017", "RW-ISO-019"]
DEFINER = """
CREATE FUNCTION search_chunks(q vector, k int, p_tenant text DEFAULT NULL)
RETURNS TABLE(id text, doc_id text, tenant text, text text, metadata jsonb, score double precision)
LANGUAGE sql STABLE SECURITY {security} SET search_path = public AS $$
  SELECT c.id, c.doc_id, c.tenant, c.text, c.metadata, 1 - (c.embedding <=> q)
  FROM ragward_chunks c
  WHERE p_tenant IS NULL OR c.tenant = p_tenant
  ORDER BY c.embedding <=> q LIMIT k
$$;
GRANT EXECUTE ON FUNCTION search_chunks(vector, int, text) TO {role};
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    srv = pgserver.get_server(tmp_path_factory.mktemp("pgdata"), cleanup_mode="stop")
    try:
        yield srv
    finally:
        srv.cleanup()


@pytest.fixture
def database(server: Any) -> Iterator[dict[str, str]]:
    socket = str(server.pgdata)
    admin = f"postgresql://postgres@/postgres?host={socket}"
    suffix = secrets.token_hex(4)
    db, role = f"rw_vec_{suffix}", f"rw_app_{suffix}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    schema = (EXAMPLES / "pgvector-extension-schema.sql").read_text().replace("rag_app", role)
    owner = f"postgresql://postgres@/{db}?host={socket}"
    try:
        with psycopg.connect(owner, autocommit=True) as conn:
            conn.execute(schema)
        yield {"db": db, "role": role, "owner": owner, "dsn": f"postgresql://{role}@/{db}?host={socket}"}
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def _sql(database: dict[str, str], statement: str) -> None:
    with psycopg.connect(database["owner"], autocommit=True) as conn:
        conn.execute(statement)


def _target(database: dict[str, str], **changes: Any) -> PgvectorTarget:
    data = yaml.safe_load((EXAMPLES / "pgvector.yaml").read_text())
    data.update({"dsn": database["dsn"]}, **changes)
    config = parse_target_config(data)
    assert isinstance(config, PgvectorTargetConfig)
    return PgvectorTarget(config, embedder=HashingEmbedder(384))


def test_row_level_security_on_the_pgvector_extension_passes(database: dict[str, str], journal: Path) -> None:
    target = _target(database)
    run = scan(target, journal, profile="all")
    assert run.error is None
    assert failed(run) == set()
    ran = {t.id for t in run.tests if t.outcome.value == "passed"}
    assert {"RW-CAN-001", "RW-CAN-007", "RW-ISO-001", "RW-ISO-003", "RW-ISO-004", *MISSING, *TAMPER} <= ran
    with psycopg.connect(database["owner"]) as conn:
        assert conn.execute("SELECT count(*) FROM ragward_chunks").fetchone() == (0,)
        # the scan went through the extension: the column is pgvector's type
        column = conn.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'ragward_chunks'::regclass AND attname = 'embedding'"
        ).fetchone()
    assert column == ("vector(384)",)


def test_security_definer_search_function_bypasses_rls_on_pgvector(database: dict[str, str], journal: Path) -> None:
    search = "SELECT * FROM search_chunks(%(embedding)s::vector, %(k)s, %(tenant)s)"
    app = {"search_sql": search, "tenant_filter": {"on_missing": "null"}, "modes": {"vector": {}}}
    only = [*MISSING, "RW-ISO-001"]
    _sql(database, DEFINER.format(security="DEFINER", role=database["role"]))
    run = scan(_target(database, **app), journal, only=only)
    assert failed(run) == set(MISSING)
    assert all(f.severity is Severity.CRITICAL for f in run.findings)
    _sql(database, "DROP FUNCTION search_chunks(vector, int, text)")
    _sql(database, DEFINER.format(security="INVOKER", role=database["role"]))
    fixed = scan(_target(database, **app), journal, only=only)
    assert failed(fixed) == set() and fixed.tests_skipped == 0


def test_sql_predicate_built_by_string_interpolation_on_pgvector(database: dict[str, str], journal: Path) -> None:
    _sql(database, "ALTER TABLE ragward_chunks DISABLE ROW LEVEL SECURITY")
    naive = {"tenancy": "where", "tenant_filter": {"template": "tenant = '{tenant}'", "on_missing": "refuse"}}
    run = scan(_target(database, **naive), journal, only=TAMPER)
    assert failed(run) == {"RW-ISO-016", "RW-ISO-019"}
    assert all(f.severity is Severity.CRITICAL for f in run.findings)
    quoted = {"tenancy": "where", "tenant_filter": {"template": "tenant = {tenant:sql}", "on_missing": "refuse"}}
    fixed = scan(_target(database, **quoted), journal, only=TAMPER)
    assert failed(fixed) == set() and fixed.tests_skipped == 0
