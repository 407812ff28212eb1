"""The embedded runtime of ``ragward serve``: worker threads and the maintenance loop.

The API process consumes the queue with ``embedded_workers`` huey worker
threads and runs the scheduler and the lease reaper; ``ragward worker`` runs
the same pieces without the API. On stop, running scans are cancelled (the
engine removes what they planted) and recorded as failed.
"""

from __future__ import annotations

import logging
import time

from huey.consumer import Consumer

from ragward.service.context import ServiceContext
from ragward.service.scheduler import Maintenance
from ragward.service.worker import execute_run

log = logging.getLogger(__name__)


def attach_worker(ctx: ServiceContext) -> None:
    """Make this process execute ``run_scan_task`` jobs."""
    ctx.queue.attach(lambda run_id: log.info("run %s: %s", run_id, execute_run(ctx, run_id)))


class Runtime:
    """Worker threads (``workers`` > 0) and the maintenance loop (``maintenance``), in-process."""

    def __init__(self, ctx: ServiceContext, *, workers: int, maintenance: bool) -> None:
        self.ctx = ctx
        self.workers = workers
        self.consumer: Consumer | None = None
        self.maintenance = Maintenance(ctx) if maintenance else None

    def start(self) -> None:
        """Start the threads."""
        if self.workers > 0:
            attach_worker(self.ctx)
            self.consumer = self.ctx.queue.consumer(self.workers, embedded=True)
            self.consumer.start()
        if self.maintenance is not None:
            self.maintenance.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop taking jobs, cancel running scans, wait up to ``timeout_s`` for them to record."""
        if self.maintenance is not None:
            self.maintenance.stop()
        if self.consumer is not None:
            self.consumer.stop_flag.set()
            cancelled = self.ctx.active.cancel_all()
            if cancelled:
                log.warning("cancelled %d running scan(s) at shutdown", cancelled)
            deadline = time.monotonic() + timeout_s
            for _, thread in self.consumer.worker_threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            self.consumer.scheduler.join(max(0.0, deadline - time.monotonic()))
            self.consumer = None
