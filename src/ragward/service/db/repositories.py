"""Tenant-scoped data access: the only code the API uses to touch the database.

Every method of :class:`Assets`, :class:`Runs`, :class:`Findings` and
:class:`Schedules` takes the caller's tenant as its first argument and adds
``tenant_id = :tenant`` to every statement, so a route cannot forget the
tenant filter (the failure of a job-status route that returned another user's
job given its id). An object of another tenant is indistinguishable from one
that does not exist: both raise the same :class:`NotFound`.

:class:`Tenants` and :class:`Tokens` are the administrative exceptions
(``ragward admin …`` and token authentication, which finds the tenant from the
token). The worker's cross-tenant operations live in :mod:`.jobs`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ragward.service.auth import TenantId
from ragward.service.db.tables import (
    AiAsset,
    ApiToken,
    FindingRow,
    RagRun,
    RagSchedule,
    RunTest,
    Tenant,
)
from ragward.service.db.types import utcnow
from ragward.service.errors import NotFound

RUNS_CAP = 100
RUN_SUMMARY_COLUMNS = (
    RagRun.id,
    RagRun.ai_asset_id,
    RagRun.trigger,
    RagRun.started_at,
    RagRun.completed_at,
    RagRun.status,
    RagRun.tests_run,
    RagRun.tests_passed,
    RagRun.tests_failed,
    RagRun.tests_skipped,
    RagRun.duration_ms,
    RagRun.error,
)
FINDINGS_CAP = 200
ASSETS_CAP = 100
SCHEDULES_CAP = 100


class Tenants:
    """Tenants (administrative: no tenant to scope by)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(self, name: str) -> Tenant:
        """Add a tenant named ``name``."""
        tenant = Tenant(id=uuid.uuid4(), name=name, created_at=utcnow())
        self.session.add(tenant)
        self.session.flush()
        return tenant

    def get(self, tenant_id: uuid.UUID) -> Tenant | None:
        """The tenant, or ``None``."""
        return self.session.get(Tenant, tenant_id)

    def list(self) -> Sequence[Tenant]:
        """All tenants, oldest first."""
        return self.session.scalars(select(Tenant).order_by(Tenant.created_at, Tenant.id)).all()


class Tokens:
    """API tokens. Lookups are by SHA-256 hash; listing and revoking are per tenant."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self,
        tenant: TenantId,
        *,
        token_hash: str,
        scopes: str,
        name: str | None,
        expires_at: datetime | None,
    ) -> ApiToken:
        """Store a new token's hash for ``tenant``."""
        row = ApiToken(
            id=uuid.uuid4(),
            tenant_id=tenant,
            name=name,
            token_hash=token_hash,
            scopes=scopes,
            created_at=utcnow(),
            expires_at=expires_at,
            revoked_at=None,
        )
        self.session.add(row)
        return row

    def by_hash(self, token_hash: str) -> ApiToken | None:
        """The token whose hash is ``token_hash`` (revoked and expired ones included)."""
        return self.session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash)).first()

    def list(self, tenant: TenantId) -> Sequence[ApiToken]:
        """The tenant's tokens, oldest first."""
        return self.session.scalars(
            select(ApiToken).where(ApiToken.tenant_id == tenant).order_by(ApiToken.created_at)
        ).all()

    def revoke(self, token_id: uuid.UUID) -> bool:
        """Revoke a token by id; False when there is no such unrevoked token."""
        result = self.session.execute(
            update(ApiToken).where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None)).values(revoked_at=utcnow())
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


class Assets:
    """AI assets of a tenant."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, tenant: TenantId, *, name: str, kind: str, target_config: dict[str, object] | None) -> AiAsset:
        """Add an asset."""
        asset = AiAsset(
            id=uuid.uuid4(),
            tenant_id=tenant,
            name=name,
            kind=kind,
            target_config=target_config,
            created_at=utcnow(),
        )
        self.session.add(asset)
        return asset

    def list(self, tenant: TenantId, *, kind: str | None = None) -> Sequence[AiAsset]:
        """The tenant's assets, newest first, at most 100."""
        stmt = select(AiAsset).where(AiAsset.tenant_id == tenant)
        if kind is not None:
            stmt = stmt.where(AiAsset.kind == kind)
        stmt = stmt.order_by(AiAsset.created_at.desc(), AiAsset.id.desc()).limit(ASSETS_CAP)
        return self.session.scalars(stmt).all()

    def get(self, tenant: TenantId, asset_id: uuid.UUID) -> AiAsset:
        """The asset; raises ``NotFound("ai_asset_not_found")``."""
        asset = self.session.scalars(select(AiAsset).where(AiAsset.tenant_id == tenant, AiAsset.id == asset_id)).first()
        if asset is None:
            raise NotFound("ai_asset_not_found")
        return asset

    def get_rag(self, tenant: TenantId, asset_id: uuid.UUID, *, lock: bool = False) -> AiAsset:
        """The ``rag`` asset, row-locked when ``lock`` (PostgreSQL ``FOR UPDATE``).

        Raises ``NotFound("rag_asset_not_found")`` when it is not in the tenant or
        not of kind ``rag``.
        """
        stmt = select(AiAsset).where(AiAsset.tenant_id == tenant, AiAsset.id == asset_id, AiAsset.kind == "rag")
        if lock:
            stmt = stmt.with_for_update()
        asset = self.session.scalars(stmt).first()
        if asset is None:
            raise NotFound("rag_asset_not_found")
        return asset

    def delete(self, tenant: TenantId, asset_id: uuid.UUID) -> None:
        """Delete the asset and its schedules (its runs and findings stay)."""
        asset = self.get(tenant, asset_id)
        self.session.execute(
            delete(RagSchedule).where(RagSchedule.tenant_id == tenant, RagSchedule.ai_asset_id == asset.id)
        )
        self.session.delete(asset)


class Runs:
    """Runs of a tenant, with their tests and findings."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self,
        tenant: TenantId,
        asset: AiAsset,
        *,
        trigger: str,
        started_at: datetime,
        test_profile: str,
        target_key: str,
        schedule_id: uuid.UUID | None = None,
    ) -> RagRun:
        """Add an accepted run (status ``running``) of ``asset``, which must be the tenant's."""
        if asset.tenant_id != tenant:
            raise NotFound("rag_asset_not_found")
        run = RagRun(
            id=uuid.uuid4(),
            tenant_id=tenant,
            ai_asset_id=asset.id,
            schedule_id=schedule_id,
            trigger=trigger,
            status="running",
            started_at=started_at,
            completed_at=None,
            tests_run=0,
            tests_passed=0,
            tests_failed=0,
            tests_skipped=0,
            duration_ms=None,
            error=None,
            test_profile=test_profile,
            target_config=dict(asset.target_config or {}),
            target_key=target_key,
        )
        self.session.add(run)
        return run

    def starts_since(self, tenant: TenantId, asset_id: uuid.UUID, since: datetime) -> list[datetime]:
        """Acceptance times of the asset's runs after ``since``, oldest first."""
        return list(
            self.session.scalars(
                select(RagRun.started_at)
                .where(
                    RagRun.tenant_id == tenant,
                    RagRun.ai_asset_id == asset_id,
                    RagRun.started_at > since,
                )
                .order_by(RagRun.started_at)
            ).all()
        )

    def list(
        self,
        tenant: TenantId,
        *,
        ai_asset_id: uuid.UUID | None = None,
        status: str | None = None,
    ) -> Sequence[Any]:
        """The tenant's runs, newest first, at most 100: rows of the contract's columns only.

        Rows, not ORM objects: the list route is the hot path (no identity map,
        no JSON decoding of the target snapshot).
        """
        stmt = select(*RUN_SUMMARY_COLUMNS).where(RagRun.tenant_id == tenant)
        if ai_asset_id is not None:
            stmt = stmt.where(RagRun.ai_asset_id == ai_asset_id)
        if status is not None:
            stmt = stmt.where(RagRun.status == status)
        stmt = stmt.order_by(RagRun.started_at.desc(), RagRun.id.desc()).limit(RUNS_CAP)
        return self.session.execute(stmt).all()

    def get(self, tenant: TenantId, run_id: uuid.UUID) -> RagRun:
        """The run; raises ``NotFound("rag_run_not_found")``."""
        run = self.session.scalars(select(RagRun).where(RagRun.tenant_id == tenant, RagRun.id == run_id)).first()
        if run is None:
            raise NotFound("rag_run_not_found")
        return run

    def tests(self, tenant: TenantId, run_id: uuid.UUID) -> Sequence[RunTest]:
        """The run's test results in order; raises NotFound for another tenant's run."""
        run = self.get(tenant, run_id)
        return self.session.scalars(
            select(RunTest).where(RunTest.tenant_id == tenant, RunTest.run_id == run.id).order_by(RunTest.position)
        ).all()

    def findings(self, tenant: TenantId, run_id: uuid.UUID) -> Sequence[FindingRow]:
        """The run's findings; raises NotFound for another tenant's run."""
        run = self.get(tenant, run_id)
        return self.session.scalars(
            select(FindingRow)
            .where(FindingRow.tenant_id == tenant, FindingRow.run_id == run.id)
            .order_by(FindingRow.test_id)
        ).all()


class Findings:
    """Findings of a tenant and their triage status."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def list(self, tenant: TenantId, *, severity: str | None = None, status: str | None = None) -> Sequence[FindingRow]:
        """The tenant's findings, newest first, at most 200."""
        stmt = select(FindingRow).where(FindingRow.tenant_id == tenant)
        if severity is not None:
            stmt = stmt.where(FindingRow.severity == severity)
        if status is not None:
            stmt = stmt.where(FindingRow.status == status)
        stmt = stmt.order_by(FindingRow.created_at.desc(), FindingRow.id.desc()).limit(FINDINGS_CAP)
        return self.session.scalars(stmt).all()

    def get(self, tenant: TenantId, finding_id: uuid.UUID) -> FindingRow:
        """The finding; raises ``NotFound("finding_not_found")``."""
        row = self.session.scalars(
            select(FindingRow).where(FindingRow.tenant_id == tenant, FindingRow.id == finding_id)
        ).first()
        if row is None:
            raise NotFound("finding_not_found")
        return row

    def set_status(self, tenant: TenantId, finding_id: uuid.UUID, status: str) -> FindingRow:
        """Change the triage status; raises NotFound."""
        row = self.get(tenant, finding_id)
        row.status = status
        row.updated_at = utcnow()
        return row


class Schedules:
    """Cron schedules of a tenant."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, tenant: TenantId, asset: AiAsset, *, cron: str, next_run_at: datetime) -> RagSchedule:
        """Add a schedule of ``asset``, which must be the tenant's."""
        if asset.tenant_id != tenant:
            raise NotFound("rag_asset_not_found")
        row = RagSchedule(
            id=uuid.uuid4(),
            tenant_id=tenant,
            ai_asset_id=asset.id,
            cron=cron,
            next_run_at=next_run_at,
            last_run_at=None,
            last_run_id=None,
            last_error=None,
            created_at=utcnow(),
        )
        self.session.add(row)
        return row

    def list(self, tenant: TenantId) -> Sequence[RagSchedule]:
        """The tenant's schedules, newest first, at most 100."""
        return self.session.scalars(
            select(RagSchedule)
            .where(RagSchedule.tenant_id == tenant)
            .order_by(RagSchedule.created_at.desc(), RagSchedule.id.desc())
            .limit(SCHEDULES_CAP)
        ).all()

    def get(self, tenant: TenantId, schedule_id: uuid.UUID) -> RagSchedule:
        """The schedule; raises ``NotFound("schedule_not_found")``."""
        row = self.session.scalars(
            select(RagSchedule).where(RagSchedule.tenant_id == tenant, RagSchedule.id == schedule_id)
        ).first()
        if row is None:
            raise NotFound("schedule_not_found")
        return row

    def delete(self, tenant: TenantId, schedule_id: uuid.UUID) -> None:
        """Delete the schedule; raises NotFound."""
        self.session.delete(self.get(tenant, schedule_id))
