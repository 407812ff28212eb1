"""Fixtures of the service tests.

* ``svc``: the app in-process (Starlette TestClient) on SQLite with the embedded
  SqliteHuey queue and two embedded worker threads, scanning MockTargets.
* ``backend``: a live uvicorn server on 127.0.0.1, parametrized over
  ``sqlite`` (embedded queue and workers) and ``postgres`` (PostgreSQL + Redis,
  consumed by two ``ragward worker`` processes; marked ``integration``).
* ``pg_redis``: a throw-away PostgreSQL database and a private Redis key prefix
  with two ``ragward worker`` processes (session-scoped).
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))

from svc_factories import mock_factory
from svc_helpers import (
    PG_ADMIN_URL,
    REDIS_URL,
    Backend,
    Client,
    Harness,
    LiveServer,
    PgRedis,
    sqlite_settings,
    start_worker,
    stop_worker,
)

from ragward.service.api import create_app
from ragward.service.context import ServiceContext


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Journals and lab data go to the test's folder; nothing downloads."""
    monkeypatch.setenv("RAGWARD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[Client]:
    """The app in-process on SQLite with embedded workers scanning MockTargets."""
    app = create_app(sqlite_settings(tmp_path), target_factory=mock_factory)
    with TestClient(app) as client:
        yield Client(client, Harness(app.state.ctx), {"app": app})


@pytest.fixture(scope="session")
def pg_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgRedis]:
    """A fresh database ``ragward_test_<random>`` and Redis prefix, with two worker processes."""
    import psycopg
    import redis

    suffix = secrets.token_hex(4)
    db_name = f"ragward_test_{suffix}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:  # pragma: no cover - environment
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")
    admin.execute(f'CREATE DATABASE "{db_name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    home = tmp_path_factory.mktemp("pg-home")
    env = PgRedis(
        database_url=f"{base}/{db_name}",
        queue_url=REDIS_URL,
        queue_name=f"ragwardtest{suffix}",
        home=home,
    )
    try:
        ServiceContext.create(env.settings(), target_factory=mock_factory).close()  # migrate once
        for i in range(2):
            env.workers.append(start_worker(env.worker_env(), home / f"worker{i}.log"))
        yield env
    finally:
        for proc in env.workers:
            stop_worker(proc)
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=f"huey.*{env.queue_name}*"):
            client.delete(key)
        client.close()
        admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """A live server on SQLite (embedded queue and workers) or PostgreSQL + Redis (two worker processes)."""
    pg: PgRedis | None = None
    if request.param == "sqlite":
        settings = sqlite_settings(tmp_path)
    else:
        pg = request.getfixturevalue("pg_redis")
        settings = pg.settings()
    app = create_app(settings, target_factory=mock_factory)
    with LiveServer(app) as server:
        yield Backend(request.param, settings, server.url, Harness(app.state.ctx), app, pg)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Backend]:
    """A live server on SQLite (embedded queue and workers), for transport-level tests."""
    settings = sqlite_settings(tmp_path)
    app = create_app(settings, target_factory=mock_factory)
    with LiveServer(app) as server:
        yield Backend("sqlite", settings, server.url, Harness(app.state.ctx), app)
