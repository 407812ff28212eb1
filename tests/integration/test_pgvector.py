"""The pgvector adapter on the local PostgreSQL 15: row-level security, a SECURITY DEFINER bypass, SQL injection.

The pgvector extension is not in this machine's Debian (bookworm) archive, so
the table stores ``real[]`` embeddings with the SQL cosine function of
examples/targets/pgvector-schema.sql (``vector: auto`` picks pgvector where
the extension exists; test_pgvector_extension.py covers that path on
PostgreSQL 16 + pgvector from the pgserver wheel). Each test creates its own database and application role
and drops them afterwards.
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

pytestmark = pytest.mark.integration
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "targets"
MISSING = ["RW-ISO-011", "RW-ISO-012", "RW-ISO-013"]
TAMPER = ["RW-ISO-014", "RW-ISO-015", "RW-ISO-016", "RW-ISO-017", "RW-ISO-019"]
DEFINER = """
CREATE FUNCTION search_chunks(q real[], k int, p_tenant text DEFAULT NULL)
RETURNS TABLE(id text, doc_id text, tenant text, text text, metadata jsonb, score double precision, embedding real[])
LANGUAGE sql STABLE SECURITY {security} SET search_path = public AS $$
  SELECT c.id, c.doc_id, c.tenant, c.text, c.metadata, 1 - ragward_cosine_distance(c.embedding, q), c.embedding
  FROM ragward_chunks c
  WHERE p_tenant IS NULL OR c.tenant = p_tenant
  ORDER BY ragward_cosine_distance(c.embedding, q) LIMIT k
$$;
GRANT EXECUTE ON FUNCTION search_chunks(real[], int, text) TO {role};
"""


def _admin_ok() -> bool:
    try:
        with psycopg.connect(ADMIN, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@pytest.fixture
def database() -> Iterator[dict[str, str]]:
    if not _admin_ok():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432 as postgres")
    suffix = secrets.token_hex(4)
    db, role = f"rw_tgt_{suffix}", f"rw_app_{suffix}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    schema = (EXAMPLES / "pgvector-schema.sql").read_text().replace("rag_app", role)
    try:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{db}", autocommit=True) as conn:
            conn.execute(schema)
        yield {"db": db, "role": role, "dsn": f"postgresql://{role}:${{RW_TEST_PG_PASSWORD}}@127.0.0.1:5432/{db}"}
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def _sql(database: dict[str, str], statement: str) -> None:
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{database['db']}", autocommit=True) as conn:
        conn.execute(statement)


def _target(database: dict[str, str], embedder: HashingEmbedder, **changes: Any) -> PgvectorTarget:
    data = yaml.safe_load((EXAMPLES / "pgvector.yaml").read_text())
    data.update({"dsn": database["dsn"]}, **changes)
    config = parse_target_config(data)
    assert isinstance(config, PgvectorTargetConfig)
    return PgvectorTarget(config, embedder=embedder)


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder(384)


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RW_TEST_PG_PASSWORD", "unused-with-trust-auth")


def test_example_config_with_row_level_security_passes(
    database: dict[str, str], embedder: HashingEmbedder, journal: Path
) -> None:
    run = scan(_target(database, embedder), journal, profile="all")
    assert run.error is None
    assert failed(run) == set()
    ran = {t.id for t in run.tests if t.outcome.value == "passed"}
    assert {"RW-CAN-001", "RW-CAN-007", "RW-ISO-001", "RW-ISO-003", "RW-ISO-004", *MISSING, *TAMPER} <= ran
    # the rows the scan planted are gone (verified by the engine; checked here as the owner too)
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{database['db']}") as conn:
        assert conn.execute("SELECT count(*) FROM ragward_chunks").fetchone() == (0,)


def test_failure_4_security_definer_search_function_bypasses_rls(
    database: dict[str, str], embedder: HashingEmbedder, journal: Path
) -> None:
    search = "SELECT * FROM search_chunks(%(embedding)s::real[], %(k)s, %(tenant)s)"
    app = {"search_sql": search, "tenant_filter": {"on_missing": "null"}, "modes": {"vector": {}, "mmr": {}}}
    _sql(database, DEFINER.format(security="DEFINER", role=database["role"]))
    run = scan(_target(database, embedder, **app), journal, only=[*MISSING, "RW-ISO-001", "RW-ISO-004"])
    assert failed(run) == set(MISSING)
    assert all(f.severity is Severity.CRITICAL for f in run.findings)
    # the fix: the same function as SECURITY INVOKER, so the policies apply to the caller
    _sql(database, "DROP FUNCTION search_chunks(real[], int, text)")
    _sql(database, DEFINER.format(security="INVOKER", role=database["role"]))
    fixed = scan(_target(database, embedder, **app), journal, only=[*MISSING, "RW-ISO-001", "RW-ISO-004"])
    assert failed(fixed) == set() and fixed.tests_skipped == 0


def test_failure_3_sql_predicate_built_by_string_interpolation(
    database: dict[str, str], embedder: HashingEmbedder, journal: Path
) -> None:
    # an application that filters in SQL instead of RLS (RLS off for this table)
    _sql(database, "ALTER TABLE ragward_chunks DISABLE ROW LEVEL SECURITY")
    naive = {"tenancy": "where", "tenant_filter": {"template": "tenant = '{tenant}'", "on_missing": "refuse"}}
    run = scan(_target(database, embedder, **naive), journal, only=TAMPER)
    assert failed(run) == {"RW-ISO-016", "RW-ISO-019"}
    assert run.findings[0].severity is Severity.CRITICAL
    quoted = {"tenancy": "where", "tenant_filter": {"template": "tenant = {tenant:sql}", "on_missing": "refuse"}}
    fixed = scan(_target(database, embedder, **quoted), journal, only=TAMPER)
    assert failed(fixed) == set() and fixed.tests_skipped == 0


def test_failure_4_missing_tenant_in_sql_filter_fails_open(
    database: dict[str, str], embedder: HashingEmbedder, journal: Path
) -> None:
    _sql(database, "ALTER TABLE ragward_chunks DISABLE ROW LEVEL SECURITY")
    flawed = {"tenancy": "where", "tenant_filter": {"on_missing": "unscoped"}}
    assert failed(scan(_target(database, embedder, **flawed), journal, only=MISSING)) == set(MISSING)
    # with row-level security on, the same application code fails closed
    _sql(database, "ALTER TABLE ragward_chunks ENABLE ROW LEVEL SECURITY")
    rls = {"tenancy": "rls", "tenant_filter": {"on_missing": "unscoped"}}
    run = scan(_target(database, embedder, **rls), journal, only=MISSING)
    assert failed(run) == set() and run.tests_skipped == 0


def test_password_reference_must_be_set(
    database: dict[str, str], embedder: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ragward.errors import ConfigError

    monkeypatch.delenv("RW_TEST_PG_PASSWORD")
    with pytest.raises(ConfigError, match="RW_TEST_PG_PASSWORD is not set"):
        _target(database, embedder)
