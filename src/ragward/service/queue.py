"""The job queue: huey, embedded (SqliteHuey) by default, RedisHuey for scale-out.

One task, ``run_scan_task(run_id)``. The job id is the run id, and executing
a job is idempotent: the worker claims the run with a conditional ``UPDATE``
(:func:`ragward.service.db.jobs.claim`), so a duplicate delivery, a retry or a
job for a run that never committed does nothing (arq's "idempotent enqueue by
job id", with the run row as the job record).

=================  =========================================================
``queue_url``      huey class
=================  =========================================================
(unset)            ``SqliteHuey`` on a file beside the SQLite database
``sqlite:///P``    ``SqliteHuey`` on ``P``
``redis://…``      ``RedisHuey`` (blocking pop), shared by any number of
                   ``ragward worker`` processes on any number of machines
``memory://``      ``MemoryHuey``: in-process only (tests)
=================  =========================================================
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from huey.consumer import Consumer
from redis import ConnectionPool

from ragward.service.settings import ServiceSettings

log = logging.getLogger(__name__)

RunHandler = Callable[[uuid.UUID], None]


def make_huey(settings: ServiceSettings) -> Huey:
    """The huey instance for ``settings.queue_location()``. Raises ValueError on an unknown scheme."""
    url = settings.queue_location()
    name = settings.queue_name
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name, filename=str(path), results=False, utc=True, timeout=10)
    if url.startswith(("redis://", "rediss://")):
        pool = ConnectionPool.from_url(url, socket_connect_timeout=5, socket_timeout=10)
        return RedisHuey(name, connection_pool=pool, results=False, utc=True, read_timeout=1)
    if url.startswith("memory://"):
        return MemoryHuey(name, results=False, utc=True)
    raise ValueError(f"unsupported queue URL {url!r}")


class _EmbeddedConsumer(Consumer):  # type: ignore[misc]
    """A huey consumer that runs inside another program: no signal handlers of its own."""

    def _set_signal_handlers(self) -> None:
        return None


class RunQueue:
    """The queue of scan jobs, for producers (API, scheduler) and consumers (workers).

    Producers call :meth:`enqueue`; a consumer process :meth:`attach`-es the
    handler that executes a run, then runs :meth:`consumer`.
    """

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.huey = make_huey(settings)
        self._handler: RunHandler | None = None

        def run_scan_task(run_id: str) -> None:
            """Execute the run ``run_id`` (idempotent; see the module docstring)."""
            if self._handler is None:
                raise RuntimeError("run_scan_task executed where no worker is attached")
            self._handler(uuid.UUID(run_id))

        self.run_scan_task: Any = self.huey.task(name="run_scan_task")(run_scan_task)

    def attach(self, handler: RunHandler) -> None:
        """Set the function that executes a run in this process."""
        self._handler = handler

    def enqueue(self, run_id: uuid.UUID, *, delay_s: float = 0.0) -> None:
        """Enqueue the job of ``run_id`` (job id = run id), after ``delay_s`` seconds if given.

        Raises whatever the broker raises (connection refused, disk full, …).
        """
        if delay_s > 0:
            self.run_scan_task.schedule(args=(str(run_id),), delay=delay_s, id=str(run_id))
        else:
            self.huey.enqueue(self.run_scan_task.s(str(run_id), id=str(run_id)))

    def pending(self) -> int:
        """Jobs waiting in the queue (not counting delayed ones)."""
        return int(self.huey.pending_count())

    def consumer(self, workers: int, *, embedded: bool) -> Consumer:
        """A thread-based huey consumer with ``workers`` threads.

        ``embedded`` consumers install no signal handlers (the host program,
        e.g. uvicorn, owns them); start with ``.start()``, stop with
        ``.stop(graceful=True)``. A standalone consumer is run with ``.run()``.
        """
        cls = _EmbeddedConsumer if embedded else Consumer
        return cls(
            self.huey,
            workers=max(1, workers),
            periodic=False,
            initial_delay=0.05,
            backoff=1.5,
            max_delay=1.0,
            scheduler_interval=1,
            worker_type="thread",
            check_worker_health=True,
            health_check_interval=5,
        )

    def close(self) -> None:
        """Release the broker connection."""
        storage = self.huey.storage
        close = getattr(storage, "close", None)
        if callable(close):
            try:
                close()
            except Exception:  # pragma: no cover - best effort at shutdown
                log.debug("closing queue storage failed", exc_info=True)
