"""Schema, migrations and the tenant-scoping rule of the data-access layer."""

from __future__ import annotations

import ast
import inspect
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.dialects import sqlite
from svc_helpers import PgRedis

import ragward.service.api as api_package
from ragward.service.auth import TenantId
from ragward.service.db import repositories
from ragward.service.db.engine import Database
from ragward.service.db.tables import Base
from ragward.service.db.types import UTCDateTime
from ragward.service.settings import ServiceSettings

pytestmark = pytest.mark.timeout(120)


def _diff(db: Database) -> list[object]:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, Base.metadata))


def test_migrations_match_the_tables_sqlite(tmp_path: Path) -> None:
    db = Database(ServiceSettings(database_url=f"sqlite:///{tmp_path / 'm.db'}"))
    db.migrate()
    db.migrate()  # idempotent
    assert _diff(db) == []
    db.dispose()


@pytest.mark.integration
def test_migrations_match_the_tables_postgres(pg_redis: PgRedis) -> None:
    db = Database(pg_redis.settings())
    db.migrate()
    assert _diff(db) == []
    db.dispose()


TENANT_SCOPED = [repositories.Assets, repositories.Runs, repositories.Findings, repositories.Schedules]


@pytest.mark.parametrize("cls", TENANT_SCOPED, ids=lambda c: c.__name__)
def test_every_repository_method_takes_the_tenant_first(cls: type) -> None:
    methods = [m for name, m in inspect.getmembers(cls, inspect.isfunction) if not name.startswith("_")]
    assert methods
    hints = {}
    for method in methods:
        params = list(inspect.signature(method).parameters.values())
        assert params[1].name == "tenant", f"{cls.__name__}.{method.__name__}"
        hints[method.__name__] = params[1].annotation
    assert set(hints.values()) == {"TenantId"}
    assert TenantId is uuid.UUID


def test_api_uses_only_the_tenant_scoped_repositories() -> None:
    """No route builds its own query or reaches the worker's cross-tenant operations."""
    root = Path(api_package.__file__).parent
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module != "ragward.service.db.jobs", path
                assert node.module != "ragward.service.db.tables", path
                assert not (
                    node.module == "sqlalchemy"
                    and any(a.name in ("select", "update", "delete", "text") for a in node.names)
                ), path


def test_utc_datetime_refuses_naive_values() -> None:
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 1, 1), sqlite.dialect())
