"""The service context: what the API, the workers and the scheduler share in one process.

:class:`ServiceContext` bundles the settings, the database, the queue and the
target factory (``TargetConfig -> Target``). The default factory is
:func:`ragward.targets.config.build_target`; tests inject
:class:`ragward.targets.mock.MockTarget` through ``target_factory`` (or, in
worker processes, the ``RAGWARD_TARGET_FACTORY`` import path) so they do not
load the lab's models.
"""

from __future__ import annotations

import asyncio
import importlib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ragward.errors import ConfigError
from ragward.service.db.engine import Database
from ragward.service.queue import RunQueue
from ragward.service.settings import ServiceSettings
from ragward.targets.base import Target

if TYPE_CHECKING:
    from ragward.targets.config import TargetConfig

TargetFactory = Callable[["TargetConfig"], Target]


def _default_factory() -> TargetFactory:
    from ragward.targets.config import build_target

    return build_target


def load_factory(path: str) -> TargetFactory:
    """Import ``module:callable``. Raises ConfigError when it cannot be imported."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"target factory {path!r} must be 'module:callable'")
    try:
        module = importlib.import_module(module_name)
        factory = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot import target factory {path!r}: {exc}") from exc
    if not callable(factory):
        raise ConfigError(f"target factory {path!r} is not callable")
    return cast(TargetFactory, factory)


def parse_config(data: dict[str, Any]) -> TargetConfig:
    """Validate a target configuration (the CLI's ``--target`` schema). Raises ConfigError."""
    from ragward.targets.config import parse_target_config

    return parse_target_config(data)


class ActiveScans:
    """The scans running in this process, so that a shutdown can cancel them (the engine tears down)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tasks: dict[uuid.UUID, tuple[asyncio.AbstractEventLoop, asyncio.Task[Any]]] = {}

    def add(self, run_id: uuid.UUID, loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
        """Register the task scanning ``run_id``."""
        with self._lock:
            self._tasks[run_id] = (loop, task)

    def discard(self, run_id: uuid.UUID) -> None:
        """Forget ``run_id``."""
        with self._lock:
            self._tasks.pop(run_id, None)

    def cancel_all(self) -> int:
        """Cancel every running scan; returns how many were cancelled."""
        with self._lock:
            items = list(self._tasks.values())
        for loop, task in items:
            loop.call_soon_threadsafe(task.cancel)
        return len(items)

    def __len__(self) -> int:
        with self._lock:
            return len(self._tasks)


@dataclass
class ServiceContext:
    """Settings, database, queue and target factory of one process."""

    settings: ServiceSettings
    db: Database
    queue: RunQueue
    target_factory: TargetFactory
    journal_dir: Path | None = None
    active: ActiveScans = field(default_factory=ActiveScans)

    @classmethod
    def create(
        cls,
        settings: ServiceSettings,
        *,
        target_factory: TargetFactory | None = None,
        migrate: bool = True,
        journal_dir: Path | None = None,
    ) -> ServiceContext:
        """Connect to the database (running migrations if ``migrate``) and the queue."""
        if target_factory is None:
            target_factory = load_factory(settings.target_factory) if settings.target_factory else _default_factory()
        db = Database(settings)
        if migrate:
            db.migrate()
        return cls(
            settings=settings,
            db=db,
            queue=RunQueue(settings),
            target_factory=target_factory,
            journal_dir=journal_dir,
        )

    def build_target(self, config: dict[str, Any]) -> Target:
        """The target of a stored configuration snapshot. Raises ConfigError or TargetError."""
        return self.target_factory(parse_config(config))

    def close(self) -> None:
        """Release the queue and the database pool."""
        self.queue.close()
        self.db.dispose()
