"""The service's tables (SQLAlchemy 2 declarative, typed).

Every tenant-owned row carries ``tenant_id``; :mod:`.repositories` filters on it
in every query. Ids are UUIDs (native on PostgreSQL, 32 hex characters on
SQLite). Times are timezone-aware UTC (:class:`.types.UTCDateTime`).

A run keeps a snapshot of its asset's target configuration (``target_config``)
so the worker scans exactly what was accepted even if the asset changes or is
deleted, and ``target_key`` (a SHA-256 of that snapshot) so that two scans of
the same target never run at once. ``lease_owner`` / ``lease_expires_at`` are
the worker's lease; a run whose lease lapses is reaped (:mod:`ragward.service.lease`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ragward.service.db.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a stable constraint naming convention (for Alembic)."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}  # noqa: RUF012


class Tenant(Base):
    """A tenant: the unit of isolation of every other row."""

    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class ApiToken(Base):
    """An API token: only the SHA-256 of the secret is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AiAsset(Base):
    """An AI asset (``rag``, ``llm`` or ``agent``); a ``rag`` asset has a target configuration."""

    __tablename__ = "ai_assets"
    __table_args__ = (Index("ix_ai_assets_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    target_config: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]


class RagRun(Base):
    """One scan of a RAG asset, from acceptance to its end."""

    __tablename__ = "rag_runs"
    __table_args__ = (
        Index("ix_rag_runs_tenant_started", "tenant_id", "started_at"),
        Index("ix_rag_runs_asset_started", "ai_asset_id", "started_at"),
        Index("ix_rag_runs_status_lease", "status", "lease_expires_at"),
        Index("ix_rag_runs_target_key_status", "target_key", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"))
    ai_asset_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    schedule_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    trigger: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    tests_run: Mapped[int] = mapped_column(Integer, default=0)
    tests_passed: Mapped[int] = mapped_column(Integer, default=0)
    tests_failed: Mapped[int] = mapped_column(Integer, default=0)
    tests_skipped: Mapped[int] = mapped_column(Integer, default=0)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    test_profile: Mapped[str] = mapped_column(String(64))
    target_config: Mapped[dict[str, Any]]
    target_key: Mapped[str] = mapped_column(String(64))
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]


class RunTest(Base):
    """One test result of a run (outcome, caught_by, layer, evidence)."""

    __tablename__ = "run_tests"
    __table_args__ = (Index("ix_run_tests_run_position", "run_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("rag_runs.id", ondelete="CASCADE"))
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    test_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    suite: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    caught_by: Mapped[str | None] = mapped_column(String(200))
    layer: Mapped[str | None] = mapped_column(String(32))
    layer_inferred: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]]
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class FindingRow(Base):
    """A finding (a failed test) with its triage status."""

    __tablename__ = "findings"
    __table_args__ = (
        Index("ix_findings_tenant_created", "tenant_id", "created_at"),
        Index("ix_findings_run", "run_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"))
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("rag_runs.id", ondelete="CASCADE"))
    ai_asset_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    test_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    mitigation: Mapped[str] = mapped_column(Text)
    owasp: Mapped[list[str]] = mapped_column(JSON)
    atlas: Mapped[list[str]] = mapped_column(JSON)
    evidence: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RagSchedule(Base):
    """A cron schedule of scans of one RAG asset; ``next_run_at`` is the claim token."""

    __tablename__ = "rag_schedules"
    __table_args__ = (Index("ix_rag_schedules_next", "next_run_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"))
    ai_asset_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("ai_assets.id", ondelete="CASCADE"), index=True)
    cron: Mapped[str] = mapped_column(String(120))
    next_run_at: Mapped[datetime]
    last_run_at: Mapped[datetime | None]
    last_run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
