"""Reaping runs whose worker died, and removing what they planted.

A worker renews its run's lease every ``heartbeat_s``; when it dies (SIGKILL,
OOM, machine lost) the lease lapses after ``lease_s``. Every maintenance loop
(in ``ragward serve`` and in each ``ragward worker``) calls :func:`reap` every
``maintenance_interval_s``; with the defaults (60 s lease, 15 s interval) a
dead worker's run is failed within 75 s.

Reaping is two-phase so that the target stays reserved while it is cleaned:
the reaper takes the lapsed lease (conditional UPDATE: one reaper wins),
replays the engine's cleanup journal for the run's target
(:func:`ragward.engine.cleanup.cleanup_target`), then marks the run
``failed`` with the reason. If the reaper dies too, its own lease lapses and
another reaper repeats the cleanup.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from ragward.service.context import ServiceContext
from ragward.service.db import jobs
from ragward.service.db.types import utcnow
from ragward.service.worker import Heartbeat, one_line, owner_id

log = logging.getLogger(__name__)

LOST_REASON = "worker lost: its lease lapsed without a heartbeat"


async def _cleanup(ctx: ServiceContext, claimed: jobs.ClaimedRun) -> int:
    from ragward.engine.cleanup import cleanup_target

    target = await asyncio.to_thread(ctx.build_target, claimed.target_config)
    try:
        return await cleanup_target(target, ctx.journal_dir)
    finally:
        await target.close()


def reap_run(ctx: ServiceContext, claimed: jobs.ClaimedRun, owner: str) -> str:
    """Clean up after ``claimed`` (whose lease ``owner`` now holds) and fail it; returns the reason."""
    with Heartbeat(ctx.db, claimed.id, owner, lease_s=ctx.settings.lease_s, interval_s=ctx.settings.heartbeat_s):
        try:
            removed = asyncio.run(_cleanup(ctx, claimed))
            reason = f"{LOST_REASON}; {removed} planted document(s) removed"
        except Exception as exc:
            reason = f"{LOST_REASON}; cleanup failed: {one_line(exc)}"
    with ctx.db.write() as session:
        jobs.fail(session, claimed, owner, reason)
    return reason


def reap(ctx: ServiceContext) -> int:
    """Fail every run whose lease lapsed (after cleaning up) and every lost unclaimed run.

    Returns the number of runs failed. Safe to call from several processes at once.
    """
    count = 0
    with ctx.db.read() as session:
        lapsed = jobs.lapsed(session)
    for run_id in lapsed:
        owner = owner_id("reaper")
        with ctx.db.write() as session:
            claimed = jobs.take_over(session, run_id, owner, lease_s=ctx.settings.lease_s, reason=LOST_REASON)
        if claimed is None:
            continue
        reason = reap_run(ctx, claimed, owner)
        log.warning("run %s failed: %s", run_id, reason)
        count += 1
    cutoff = utcnow() - timedelta(seconds=ctx.settings.unclaimed_timeout_s)
    with ctx.db.write() as session:
        count += jobs.fail_unclaimed(session, older_than=cutoff)
    return count
