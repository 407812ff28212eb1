"""Cron schedules (croniter, UTC) and the maintenance loop.

A due schedule (``next_run_at <= now``) is claimed with a conditional UPDATE:
``UPDATE rag_schedules SET next_run_at = :next WHERE id = :id AND next_run_at
= :seen``. Only one scheduler's UPDATE matches (PostgreSQL re-checks the WHERE
clause after the row lock; SQLite serialises writers), and the run is accepted
in the same transaction, so a due schedule starts exactly one run however many
schedulers are running. Missed occurrences are not replayed: the next fire time
is computed from ``now``.

A scheduled run goes through the same acceptance as a manual trigger
(:func:`ragward.service.runs.accept_run`): the asset's rate limit applies, and
a rate-limited occurrence is skipped and recorded in ``last_error``. If the
enqueue fails the claim rolls back and the schedule stays due.

:class:`Maintenance` runs :func:`tick` and the lease reaper every
``maintenance_interval_s`` in a daemon thread.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import UTC, datetime

from croniter import croniter
from sqlalchemy import select, update

from ragward.model import Trigger
from ragward.service import lease
from ragward.service.context import ServiceContext
from ragward.service.db.tables import RagSchedule
from ragward.service.db.types import utcnow
from ragward.service.errors import BadRequest, EnqueueFailed, NotFound, RateLimited
from ragward.service.runs import accept_run

log = logging.getLogger(__name__)

MAX_CRON_LENGTH = 120


def validate_cron(expr: str) -> str:
    """Return the normalised 5-field cron expression; raise ``BadRequest("invalid_cron")``."""
    normalised = " ".join(expr.split())
    fields = normalised.split(" ")
    if (
        not normalised
        or len(normalised) > MAX_CRON_LENGTH
        or len(fields) != 5
        or not normalised.isascii()
        or not croniter.is_valid(normalised)
    ):
        raise BadRequest("invalid_cron", detail="expected a 5-field cron expression, e.g. '0 3 * * *'")
    try:
        next_fire(normalised, utcnow())
    except Exception as exc:  # croniter accepts some expressions it cannot iterate
        raise BadRequest("invalid_cron", detail="the expression never fires") from exc
    return normalised


def next_fire(expr: str, after: datetime) -> datetime:
    """The first fire time of ``expr`` strictly after ``after`` (UTC, aware)."""
    value = croniter(expr, after.astimezone(UTC)).get_next(datetime)
    if not isinstance(value, datetime):  # pragma: no cover - croniter contract
        raise TypeError("croniter returned a non-datetime")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _claim_and_start(ctx: ServiceContext, schedule_id: uuid.UUID, seen: datetime, now: datetime) -> uuid.UUID | None:
    with ctx.db.write() as session:
        schedule = session.get(RagSchedule, schedule_id)
        if schedule is None or schedule.next_run_at != seen:
            session.rollback()
            return None
        upcoming = next_fire(schedule.cron, max(now, seen))
        claimed = session.execute(
            update(RagSchedule)
            .where(RagSchedule.id == schedule_id, RagSchedule.next_run_at == seen)
            .values(next_run_at=upcoming, last_run_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            return None
        run_id: uuid.UUID | None = None
        last_error: str | None = None
        try:
            run = accept_run(
                session,
                ctx.queue,
                ctx.settings,
                schedule.tenant_id,
                schedule.ai_asset_id,
                trigger=Trigger.SCHEDULED,
                schedule_id=schedule.id,
                now=now,
            )
            run_id = run.id
        except RateLimited as exc:
            last_error = f"rate_limited: occurrence skipped, retry after {exc.retry_after_seconds}s"
        except NotFound:
            last_error = "rag_asset_not_found: occurrence skipped"
        except EnqueueFailed:
            session.rollback()
            log.warning("schedule %s: enqueue failed; it stays due", schedule_id)
            return None
        session.execute(
            update(RagSchedule)
            .where(RagSchedule.id == schedule_id)
            .values(last_run_id=run_id if run_id else RagSchedule.last_run_id, last_error=last_error)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return run_id


def tick(ctx: ServiceContext, now: datetime | None = None) -> list[uuid.UUID]:
    """Start the runs of every due schedule; returns the ids of the runs this call started."""
    now = now or utcnow()
    with ctx.db.read() as session:
        due = session.execute(
            select(RagSchedule.id, RagSchedule.next_run_at)
            .where(RagSchedule.next_run_at <= now)
            .order_by(RagSchedule.next_run_at)
            .limit(100)
        ).all()
    started: list[uuid.UUID] = []
    for schedule_id, seen in due:
        run_id = _claim_and_start(ctx, schedule_id, seen, now)
        if run_id is not None:
            started.append(run_id)
    return started


class Maintenance:
    """A daemon thread running the scheduler tick and the lease reaper periodically."""

    def __init__(self, ctx: ServiceContext, *, schedules: bool = True) -> None:
        self.ctx = ctx
        self.schedules = schedules
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ragward-maintenance", daemon=True)

    def run_once(self) -> None:
        """One round: due schedules, then lapsed leases. Errors are logged, never raised."""
        if self.schedules:
            try:
                tick(self.ctx)
            except Exception:
                log.exception("scheduler tick failed")
        try:
            lease.reap(self.ctx)
        except Exception:
            log.exception("lease reaper failed")

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.ctx.settings.maintenance_interval_s)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for the current round to end."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
