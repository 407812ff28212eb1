"""The worker's and the reaper's operations on runs (cross-tenant by design).

A queued job carries only a run id, so these statements address runs by id;
each is a conditional ``UPDATE`` whose ``WHERE`` clause states what must still
hold (still running, still ours, lease still lapsed), so two processes racing
for the same run never both win. The API never imports this module (a test
checks it); the API goes through the tenant-scoped :mod:`.repositories`.

Lease protocol: a worker claims a run (``lease_owner``, ``lease_expires_at``)
and renews the lease every ``heartbeat_s``; :func:`take_over` lets a reaper
take a lapsed lease, clean up, and :func:`fail` the run.
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from ragward.model import RunSummary
from ragward.service.db.tables import FindingRow, RagRun, RunTest
from ragward.service.db.types import utcnow


class ClaimStatus(enum.Enum):
    """Outcome of :func:`claim`."""

    CLAIMED = "claimed"
    MISSING = "missing"  # no such run (yet): the accepting transaction may not have committed
    GONE = "gone"  # already claimed, finished or reaped: a duplicate delivery, nothing to do
    BUSY = "busy"  # another scan of the same target is in flight: retry later


@dataclass(frozen=True)
class ClaimedRun:
    """What a worker needs to execute a claimed run."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    ai_asset_id: uuid.UUID
    trigger: str
    started_at: datetime
    test_profile: str
    target_config: dict[str, Any]


def _advisory_key(text_key: str) -> int:
    return int.from_bytes(hashlib.sha256(text_key.encode()).digest()[:7], "big")


def claim(
    session: Session, run_id: uuid.UUID, owner: str, *, lease_s: float, now: datetime | None = None
) -> tuple[ClaimStatus, ClaimedRun | None]:
    """Claim ``run_id`` for ``owner`` with a lease of ``lease_s`` seconds, and commit.

    At most one scan per ``target_key`` is in flight: the check and the claim
    run under a PostgreSQL advisory lock on the key (SQLite: under the write
    lock of ``BEGIN IMMEDIATE``).
    """
    now = now or utcnow()
    run = session.get(RagRun, run_id)
    if run is None:
        session.rollback()
        return ClaimStatus.MISSING, None
    if run.status != "running" or run.lease_owner is not None or run.claimed_at is not None:
        session.rollback()
        return ClaimStatus.GONE, None
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _advisory_key(run.target_key)})
    busy = session.scalars(
        select(RagRun.id)
        .where(
            RagRun.target_key == run.target_key,
            RagRun.status == "running",
            RagRun.lease_owner.is_not(None),
            RagRun.id != run.id,
        )
        .limit(1)
    ).first()
    if busy is not None:
        session.rollback()
        return ClaimStatus.BUSY, None
    result = session.execute(
        update(RagRun)
        .where(
            RagRun.id == run_id,
            RagRun.status == "running",
            RagRun.lease_owner.is_(None),
            RagRun.claimed_at.is_(None),
        )
        .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_s), claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return ClaimStatus.GONE, None
    claimed = ClaimedRun(
        id=run.id,
        tenant_id=run.tenant_id,
        ai_asset_id=run.ai_asset_id,
        trigger=run.trigger,
        started_at=run.started_at,
        test_profile=run.test_profile,
        target_config=dict(run.target_config),
    )
    session.commit()
    return ClaimStatus.CLAIMED, claimed


def renew(session: Session, run_id: uuid.UUID, owner: str, *, lease_s: float) -> bool:
    """Extend ``owner``'s lease on the run and commit; False when the lease was lost."""
    result = session.execute(
        update(RagRun)
        .where(RagRun.id == run_id, RagRun.lease_owner == owner, RagRun.status == "running")
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_s))
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _duration_ms(started_at: datetime, completed_at: datetime) -> int:
    return max(0, int((completed_at - started_at).total_seconds() * 1000))


def finish(
    session: Session,
    claimed: ClaimedRun,
    owner: str,
    *,
    summary: RunSummary | None,
    error: str | None,
    now: datetime | None = None,
) -> bool:
    """Record the end of a run (counts, tests, findings) and commit.

    ``duration_ms`` runs from acceptance (``started_at``) to now, end to end.
    Returns False (and writes nothing) when ``owner`` no longer holds the lease.
    """
    now = now or utcnow()
    failed = error is not None or summary is None or summary.status.value == "failed"
    reason = error if error is not None else (summary.error if summary is not None else None)
    values: dict[str, Any] = {
        "status": "failed" if failed else "completed",
        "completed_at": now,
        "duration_ms": _duration_ms(claimed.started_at, now),
        "error": reason if failed else None,
        "lease_expires_at": None,
    }
    if summary is not None:
        values.update(
            tests_run=summary.tests_run,
            tests_passed=summary.tests_passed,
            tests_failed=summary.tests_failed,
            tests_skipped=summary.tests_skipped,
        )
    result = session.execute(
        update(RagRun)
        .where(RagRun.id == claimed.id, RagRun.lease_owner == owner, RagRun.status == "running")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return False
    if summary is not None:
        _store_results(session, claimed, summary, now)
    session.commit()
    return True


def _finding_id(engine_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(engine_id)
    except ValueError:
        return uuid.uuid4()


def _store_results(session: Session, claimed: ClaimedRun, summary: RunSummary, now: datetime) -> None:
    for position, test in enumerate(summary.tests):
        session.add(
            RunTest(
                run_id=claimed.id,
                tenant_id=claimed.tenant_id,
                position=position,
                test_id=test.id,
                title=test.title,
                suite=test.suite.value,
                outcome=test.outcome.value,
                severity=test.severity.value,
                caught_by=test.caught_by,
                layer=test.layer.value if test.layer is not None else None,
                layer_inferred=test.layer_inferred,
                reason=test.reason,
                evidence=test.evidence,
                duration_ms=test.duration_ms,
            )
        )
    seen: set[uuid.UUID] = set()
    for finding in summary.findings:
        fid = _finding_id(finding.id)
        if fid in seen:
            fid = uuid.uuid4()
        seen.add(fid)
        session.add(
            FindingRow(
                id=fid,
                tenant_id=claimed.tenant_id,
                run_id=claimed.id,
                ai_asset_id=claimed.ai_asset_id,
                test_id=finding.test_id,
                title=finding.title,
                category=finding.category.value,
                severity=finding.severity.value,
                mitigation=finding.mitigation,
                owasp=list(finding.owasp),
                atlas=list(finding.atlas),
                evidence=finding.evidence,
                status="open",
                created_at=now,
                updated_at=now,
            )
        )


def lapsed(session: Session, now: datetime | None = None, limit: int = 50) -> list[uuid.UUID]:
    """Ids of running runs whose lease has lapsed (their worker or reaper died)."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(RagRun.id)
            .where(
                RagRun.status == "running",
                RagRun.lease_owner.is_not(None),
                RagRun.lease_expires_at < now,
            )
            .order_by(RagRun.lease_expires_at)
            .limit(limit)
        ).all()
    )


def take_over(session: Session, run_id: uuid.UUID, owner: str, *, lease_s: float, reason: str) -> ClaimedRun | None:
    """Take the lapsed lease of ``run_id`` for a reaper and commit; None if someone else did."""
    now = utcnow()
    run = session.get(RagRun, run_id)
    if run is None:
        session.rollback()
        return None
    result = session.execute(
        update(RagRun)
        .where(
            RagRun.id == run_id,
            RagRun.status == "running",
            RagRun.lease_owner.is_not(None),
            RagRun.lease_expires_at < now,
        )
        .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_s), error=reason)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return None
    claimed = ClaimedRun(
        id=run.id,
        tenant_id=run.tenant_id,
        ai_asset_id=run.ai_asset_id,
        trigger=run.trigger,
        started_at=run.started_at,
        test_profile=run.test_profile,
        target_config=dict(run.target_config),
    )
    session.commit()
    return claimed


def fail(session: Session, claimed: ClaimedRun, owner: str, reason: str) -> bool:
    """Mark a run ``owner`` holds as failed with ``reason`` and commit."""
    return finish(session, claimed, owner, summary=None, error=reason)


def fail_unclaimed(session: Session, *, older_than: datetime) -> int:
    """Fail runs never picked up by a worker since ``older_than`` (their job was lost); commit."""
    rows = session.scalars(
        select(RagRun).where(
            RagRun.status == "running",
            RagRun.claimed_at.is_(None),
            RagRun.started_at < older_than,
        )
    ).all()
    now = utcnow()
    count = 0
    for run in rows:
        result = session.execute(
            update(RagRun)
            .where(RagRun.id == run.id, RagRun.status == "running", RagRun.claimed_at.is_(None))
            .values(
                status="failed",
                completed_at=now,
                duration_ms=_duration_ms(run.started_at, now),
                error="not picked up by a worker in time (the queued job was lost)",
            )
            .execution_options(synchronize_session=False)
        )
        count += int(result.rowcount)  # type: ignore[attr-defined]
    session.commit()
    return count
