"""Engines, sessions and migrations for SQLite and PostgreSQL.

Write transactions must serialise where the service counts or claims rows
(rate limit, schedule claims, run claims). PostgreSQL does it with row locks
(``SELECT … FOR UPDATE``) and conditional ``UPDATE``s under READ COMMITTED.
SQLite has no row locks, so every write transaction starts with
``BEGIN IMMEDIATE`` (the database's write lock, taken up front, waited for up
to 30 s), while read-only sessions start a plain deferred ``BEGIN`` and, in
WAL mode, never wait for writers. See the SQLAlchemy recipe "Serializable
isolation / Savepoints / Transactional DDL" for pysqlite.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from ragward.service.settings import ServiceSettings

READ_ONLY = "ragward_read_only"
MIGRATION_LOCK_KEY = int.from_bytes(hashlib.sha256(b"ragward-migrations").digest()[:7], "big")


def make_engine(settings: ServiceSettings) -> Engine:
    """Create the engine for ``settings.database_url`` (SQLite pragmas and begin mode set)."""
    url = settings.sqlalchemy_url
    if settings.is_sqlite:
        path = settings.sqlite_path()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=settings.db_pool_size,
            max_overflow=2 * settings.db_pool_size,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=2 * settings.db_pool_size,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 10},
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class Database:
    """The engine and its two session factories: ``write()`` and ``read()``.

    ``write()`` sessions serialise with other writers on SQLite (``BEGIN
    IMMEDIATE``); ``read()`` sessions never take the write lock. Both are
    context managers that close the session; callers commit explicitly.
    """

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.engine = make_engine(settings)
        self._write = sessionmaker(self.engine, expire_on_commit=False)
        self._read = sessionmaker(self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session for a write transaction (rolled back if not committed)."""
        with self._write() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads only."""
        with self._read() as session:
            yield session

    def migrate(self) -> None:
        """Upgrade the schema to the newest migration (safe when several processes start at once)."""
        migrate(self.engine)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def alembic_config() -> Config:
    """The Alembic configuration of the migrations shipped in this package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Run the Alembic migrations up to ``revision`` on ``engine``.

    On PostgreSQL a transaction-level advisory lock serialises concurrent
    starters; on SQLite ``BEGIN IMMEDIATE`` does.
    """
    cfg = alembic_config()
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        conn.commit()
