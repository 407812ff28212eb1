"""Executing one run under a lease: claim, heartbeat, scan, record.

:func:`execute_run` is what ``run_scan_task`` calls in a worker (a thread of
``ragward serve`` or of a ``ragward worker`` process):

1. claim the run (conditional UPDATE; a duplicate job finds it taken and
   returns; a job whose run is not committed yet waits ``claim_wait_s``; a
   run whose target is being scanned by another run is re-enqueued with a
   delay, so two scans never share a target and its cleanup journal);
2. renew the lease every ``heartbeat_s`` from a thread (if the lease is lost
   to a reaper, the scan is cancelled; the engine still tears down);
3. run :func:`ragward.engine.runner.run_scan` with the run id fixed at
   acceptance;
4. record counts, tests and findings, or ``failed`` with a one-line reason.

A worker that dies stops renewing; :mod:`ragward.service.lease` reaps the run.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from types import TracebackType

from ragward.errors import RagwardError
from ragward.model import RunSummary, Trigger
from ragward.service.context import ServiceContext
from ragward.service.db import jobs
from ragward.service.db.engine import Database

log = logging.getLogger(__name__)


def owner_id(role: str = "worker") -> str:
    """A lease owner id unique to this host, process, thread and call."""
    return f"{role}:{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:8]}"


def one_line(exc: BaseException) -> str:
    """An exception as one line of at most 500 characters (no traceback)."""
    message = exc.message if isinstance(exc, RagwardError) else f"{type(exc).__name__}: {exc}"
    message = re.sub(r"\s+", " ", message).strip()
    return message[:500]


class Heartbeat:
    """Renews a lease every ``interval_s`` seconds from a daemon thread.

    ``on_lost`` is called (from the heartbeat thread) when the renewal finds
    the lease gone. Database errors are logged and retried at the next beat;
    if they last longer than the lease, a reaper takes the run.
    """

    def __init__(self, db: Database, run_id: uuid.UUID, owner: str, *, lease_s: float, interval_s: float) -> None:
        self.db = db
        self.run_id = run_id
        self.owner = owner
        self.lease_s = lease_s
        self.interval_s = interval_s
        self.on_lost: Callable[[], None] | None = None
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{run_id}", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                with self.db.write() as session:
                    held = jobs.renew(session, self.run_id, self.owner, lease_s=self.lease_s)
            except Exception:
                log.warning("heartbeat of run %s failed; retrying", self.run_id, exc_info=True)
                continue
            if not held:
                self.lost.set()
                if self.on_lost is not None:
                    self.on_lost()
                return

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval_s + 5)


def _claim(ctx: ServiceContext, run_id: uuid.UUID, owner: str) -> tuple[jobs.ClaimStatus, jobs.ClaimedRun | None]:
    deadline = time.monotonic() + ctx.settings.claim_wait_s
    while True:
        with ctx.db.write() as session:
            status, claimed = jobs.claim(session, run_id, owner, lease_s=ctx.settings.lease_s)
        if status is not jobs.ClaimStatus.MISSING or time.monotonic() >= deadline:
            return status, claimed
        time.sleep(0.1)


async def _scan(ctx: ServiceContext, claimed: jobs.ClaimedRun, heartbeat: Heartbeat) -> RunSummary:
    from ragward.engine.runner import run_scan

    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    if task is not None:

        def cancel() -> None:
            loop.call_soon_threadsafe(task.cancel)

        heartbeat.on_lost = cancel
        ctx.active.add(claimed.id, loop, task)
    try:
        target = await asyncio.to_thread(ctx.build_target, claimed.target_config)
    except BaseException:
        ctx.active.discard(claimed.id)
        raise
    try:
        return await run_scan(
            target,
            test_profile=claimed.test_profile,
            concurrency=ctx.settings.scan_concurrency,
            trigger=Trigger(claimed.trigger),
            ai_asset_id=str(claimed.ai_asset_id),
            run_id=str(claimed.id),
            journal_dir=ctx.journal_dir,
        )
    finally:
        ctx.active.discard(claimed.id)
        await target.close()


def execute_run(ctx: ServiceContext, run_id: uuid.UUID) -> str:
    """Execute the run ``run_id`` once; returns what happened (for logs and tests).

    Returns ``"missing"``, ``"gone"``, ``"busy"`` (re-enqueued), ``"completed"``,
    ``"failed"`` or ``"lost"`` (the lease was taken by a reaper). Never raises
    for a scan error: that is recorded on the run.
    """
    owner = owner_id()
    status, claimed = _claim(ctx, run_id, owner)
    if status is jobs.ClaimStatus.BUSY:
        try:
            ctx.queue.enqueue(run_id, delay_s=ctx.settings.busy_retry_s)
        except Exception:
            log.exception("re-enqueue of busy run %s failed", run_id)
        return "busy"
    if claimed is None:
        return str(status.value)
    summary: RunSummary | None = None
    error: str | None = None
    heartbeat = Heartbeat(
        ctx.db,
        claimed.id,
        owner,
        lease_s=ctx.settings.lease_s,
        interval_s=ctx.settings.heartbeat_s,
    )
    with heartbeat:
        try:
            summary = asyncio.run(_scan(ctx, claimed, heartbeat))
        except asyncio.CancelledError:
            error = (
                "cancelled: the worker lost its lease" if heartbeat.lost.is_set() else "cancelled: the worker shut down"
            )
        except Exception as exc:
            log.warning("run %s failed: %s", run_id, one_line(exc))
            error = one_line(exc)
    if heartbeat.lost.is_set():
        return "lost"
    with ctx.db.write() as session:
        recorded = jobs.finish(session, claimed, owner, summary=summary, error=error)
    if not recorded:
        return "lost"
    failed = error is not None or summary is None or summary.error is not None
    return "failed" if failed else "completed"
