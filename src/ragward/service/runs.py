"""Accepting a run: the one code path shared by ``POST /api/v2/rag-runs`` and the scheduler.

In one transaction: lock the tenant's ``rag`` asset, check the rate limit,
insert the run (status ``running`` from this moment), enqueue the job with the
run id as job id. If the queue refuses the job the transaction rolls back, so
a 502 leaves no run behind and does not count against the limit. A job whose
run never commits (the process died between enqueue and commit) finds no run
and does nothing.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from ragward.model import Trigger
from ragward.service import ratelimit
from ragward.service.auth import TenantId
from ragward.service.db.repositories import Assets, Runs
from ragward.service.db.tables import RagRun
from ragward.service.db.types import utcnow
from ragward.service.errors import EnqueueFailed
from ragward.service.settings import ServiceSettings


class Enqueuer(Protocol):
    """What accepting a run needs from the queue."""

    def enqueue(self, run_id: uuid.UUID, *, delay_s: float = 0.0) -> None:
        """Put the job for ``run_id`` on the queue; raise on failure."""


def target_key(target_config: dict[str, Any] | None) -> str:
    """SHA-256 of the canonical JSON of a target configuration (64 hex characters).

    Two runs with the same key scan the same target and share its cleanup
    journal, so the worker never runs them at the same time.
    """
    canonical = json.dumps(target_config or {}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def accept_run(
    session: Session,
    queue: Enqueuer,
    settings: ServiceSettings,
    tenant: TenantId,
    asset_id: uuid.UUID,
    *,
    trigger: Trigger,
    schedule_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> RagRun:
    """Accept a run of ``asset_id`` for ``tenant`` inside the caller's transaction.

    The caller commits on success and rolls back on error. Raises
    ``NotFound("rag_asset_not_found")``, :class:`RateLimited` or
    :class:`EnqueueFailed`.
    """
    now = now or utcnow()
    asset = Assets(session).get_rag(tenant, asset_id, lock=True)
    ratelimit.ensure_allowed(
        session,
        tenant,
        asset.id,
        limit=settings.rate_limit_per_hour,
        window_s=settings.rate_window_s,
        now=now,
    )
    run = Runs(session).add(
        tenant,
        asset,
        trigger=trigger.value,
        started_at=now,
        test_profile=settings.test_profile,
        target_key=target_key(asset.target_config),
        schedule_id=schedule_id,
    )
    session.flush()
    try:
        queue.enqueue(run.id)
    except Exception as exc:
        raise EnqueueFailed(detail=None) from exc
    return run
