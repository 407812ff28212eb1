"""Settings of the service: one typed object read from ``RAGWARD_*`` environment variables.

The defaults give the embedded mode of ``ragward serve``: SQLite in the working
directory, an embedded SqliteHuey queue beside it, worker threads in the API
process. Scale-out sets ``RAGWARD_DATABASE_URL=postgresql://…`` and
``RAGWARD_QUEUE_URL=redis://…`` and runs ``ragward worker`` processes.

Secrets never have defaults: a database or queue URL whose password is a
well-known default (``postgres``, ``changeme``, …) is refused at start.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The contract's body cap (``413 {"error":"payload_too_large","limit_bytes":1048576}``).
CONTRACT_BODY_LIMIT = 1_048_576

#: Passwords that ship as defaults in images, tutorials and templates.
DEFAULT_PASSWORDS = frozenset(
    {"postgres", "password", "changeme", "changethis", "secret", "admin", "root", "ragward", "redis"}
)


#: Target kinds a tenant may configure by default: not the ``module:function`` factories
#: (``langchain``, ``llamaindex``), which would import code chosen by the caller.
DEFAULT_TARGET_KINDS = ("lab", "http", "openai", "chroma", "qdrant", "lancedb", "pgvector")


def _password_of(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


class ServiceSettings(BaseSettings):
    """Typed settings of the service (environment prefix ``RAGWARD_``).

    Durations are in seconds. ``lease_s`` bounds how long a dead worker's run
    stays ``running``: it is reaped at most ``lease_s + maintenance_interval_s``
    after the last heartbeat (75 s with the defaults, within the two minutes
    the issue asks for). Raises :class:`pydantic.ValidationError` on bad values,
    including a default password in a URL.
    """

    model_config = SettingsConfigDict(env_prefix="RAGWARD_", extra="ignore")

    database_url: str = "sqlite:///ragward.db"
    queue_url: str | None = Field(
        default=None,
        description="None: SqliteHuey beside the SQLite database (or ragward-queue.db); "
        "sqlite:///PATH, redis://HOST:PORT/DB, or memory:// (in-process, tests only).",
    )
    queue_name: str = "ragward"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    embedded_workers: int = Field(default=2, ge=0, le=64)
    scheduler_enabled: bool = True
    max_body_bytes: int = Field(default=CONTRACT_BODY_LIMIT, ge=1024)
    rate_limit_per_hour: int = Field(default=6, ge=1)
    rate_window_s: int = Field(default=3600, ge=1)
    lease_s: float = Field(default=60.0, gt=0)
    heartbeat_s: float = Field(default=15.0, gt=0)
    maintenance_interval_s: float = Field(default=15.0, gt=0)
    unclaimed_timeout_s: float = Field(default=3600.0, gt=0)
    claim_wait_s: float = Field(default=10.0, ge=0)
    busy_retry_s: float = Field(default=5.0, gt=0)
    scan_concurrency: int = Field(default=4, ge=1, le=64)
    test_profile: str = "default"
    target_factory: str | None = Field(
        default=None,
        description="Import path 'module:callable' of a TargetConfig -> Target factory "
        "(default: ragward.targets.config.build_target).",
    )
    db_pool_size: int = Field(default=10, ge=1)
    target_kinds: tuple[str, ...] = Field(
        default=DEFAULT_TARGET_KINDS, description="Target kinds tenants may configure (JSON list)."
    )
    target_env_prefix: str = Field(
        default="RAGWARD_TARGET_",
        min_length=1,
        description="Prefix every ${VAR} reference in a tenant's target configuration must have.",
    )

    @field_validator("database_url", "queue_url")
    @classmethod
    def _refuse_default_secret(cls, value: str | None) -> str | None:
        if value is None:
            return value
        password = _password_of(value)
        if password is not None and password.lower() in DEFAULT_PASSWORDS:
            raise ValueError(
                "the URL uses a well-known default password; set a real secret "
                "(or use trust/peer authentication without a password)"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        scheme = value.split(":", 1)[0].lower()
        if not (scheme.startswith("sqlite") or scheme.startswith("postgresql")):
            raise ValueError("RAGWARD_DATABASE_URL must be sqlite:///PATH or postgresql://…")
        return value

    @field_validator("queue_url")
    @classmethod
    def _known_queue(cls, value: str | None) -> str | None:
        if value is None:
            return value
        scheme = value.split(":", 1)[0].lower()
        if scheme not in ("sqlite", "redis", "rediss", "memory"):
            raise ValueError("RAGWARD_QUEUE_URL must be sqlite:///PATH, redis://… or memory://")
        return value

    @model_validator(mode="after")
    def _heartbeat_inside_lease(self) -> ServiceSettings:
        if self.heartbeat_s >= self.lease_s:
            raise ValueError("heartbeat_s must be shorter than lease_s")
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with an explicit driver (psycopg 3 for PostgreSQL)."""
        url = self.database_url
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    @property
    def is_sqlite(self) -> bool:
        """True when the database is SQLite."""
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        """The SQLite database file, or ``None`` for PostgreSQL or an in-memory database."""
        if not self.is_sqlite:
            return None
        path = self.database_url.split(":///", 1)[-1] if ":///" in self.database_url else ""
        if not path or path == ":memory:":
            return None
        return Path(path)

    def queue_location(self) -> str:
        """The effective queue URL: explicit, or an SQLite file beside the database."""
        if self.queue_url:
            return self.queue_url
        db = self.sqlite_path()
        if db is not None:
            return f"sqlite:///{db.with_name(db.name + '.queue')}"
        return "sqlite:///ragward-queue.db"
