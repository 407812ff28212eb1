"""The queue and the worker: idempotent jobs, one scan per target at a time, settings."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from svc_factories import mock_factory
from svc_helpers import Harness, lab_target, sqlite_settings

from ragward.model import Trigger
from ragward.service.context import ServiceContext
from ragward.service.db import jobs
from ragward.service.db.repositories import Assets
from ragward.service.db.tables import FindingRow, RagRun, RunTest
from ragward.service.queue import RunQueue, make_huey
from ragward.service.runs import accept_run, target_key
from ragward.service.settings import ServiceSettings
from ragward.service.worker import execute_run, one_line

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ServiceContext]:
    context = ServiceContext.create(sqlite_settings(tmp_path, embedded_workers=0), target_factory=mock_factory)
    try:
        yield context
    finally:
        context.close()


def _accepted(ctx: ServiceContext, target: dict[str, object] | None = None) -> uuid.UUID:
    tenant = Harness(ctx).tenant()
    with ctx.db.write() as session:
        asset = Assets(session).add(tenant, name="a", kind="rag", target_config=target or lab_target())
        session.flush()
        run = accept_run(session, ctx.queue, ctx.settings, tenant, asset.id, trigger=Trigger.MANUAL)
        session.commit()
        return run.id


def _count(ctx: ServiceContext, table: type, run_id: uuid.UUID) -> int:
    with ctx.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(table).where(table.run_id == run_id)) or 0)


def test_job_id_is_the_run_id_and_execution_is_idempotent(ctx: ServiceContext) -> None:
    run_id = _accepted(ctx)
    task = ctx.queue.huey.dequeue()
    assert task is not None and task.id == str(run_id) and task.args == (str(run_id),)
    ctx.queue.enqueue(run_id)  # a duplicate delivery
    assert execute_run(ctx, run_id) == "completed"
    assert execute_run(ctx, run_id) == "gone"
    with ctx.db.read() as session:
        run = session.get(RagRun, run_id)
        assert run is not None and run.status == "completed"
        tests_run = run.tests_run
    assert _count(ctx, RunTest, run_id) == tests_run  # recorded once, not twice
    assert _count(ctx, FindingRow, run_id) == run.tests_failed


def test_huey_consumer_executes_through_the_registered_task(ctx: ServiceContext) -> None:
    seen: list[uuid.UUID] = []
    ctx.queue.attach(seen.append)
    run_id = uuid.uuid4()
    ctx.queue.enqueue(run_id)
    task = ctx.queue.huey.dequeue()
    ctx.queue.huey.execute(task)
    assert seen == [run_id]


def test_job_for_a_run_that_never_committed_does_nothing(ctx: ServiceContext) -> None:
    ctx.settings = ctx.settings.model_copy(update={"claim_wait_s": 0.2})
    assert execute_run(ctx, uuid.uuid4()) == "missing"


def test_one_scan_per_target_at_a_time(ctx: ServiceContext) -> None:
    first, second = _accepted(ctx), _accepted(ctx)  # same target configuration → same target key
    other = _accepted(ctx, lab_target(name="another"))
    with ctx.db.write() as session:
        status, claimed = jobs.claim(session, first, "worker:a", lease_s=30)
    assert status is jobs.ClaimStatus.CLAIMED
    ctx.queue.huey.flush()
    assert execute_run(ctx, second) == "busy"
    (retry,) = ctx.queue.huey.pending()  # re-enqueued with a delay
    assert retry.id == str(second) and retry.eta is not None
    assert execute_run(ctx, other) == "completed"  # another target is not blocked
    assert claimed is not None
    with ctx.db.write() as session:
        assert jobs.finish(session, claimed, "worker:a", summary=None, error="test")
    assert execute_run(ctx, second) == "completed"


def test_target_key_is_canonical() -> None:
    assert target_key({"kind": "lab", "profile": "x"}) == target_key({"profile": "x", "kind": "lab"})
    assert target_key({"kind": "lab"}) != target_key({"kind": "lab", "profile": "hardened"})
    assert len(target_key(None)) == 64


def test_one_line_errors() -> None:
    from ragward.errors import TargetError

    assert one_line(TargetError("a\n  b")) == "a b"
    assert one_line(ValueError("x" * 900)).startswith("ValueError: x") and len(one_line(ValueError("x" * 900))) == 500


def test_queue_backends(tmp_path: Path) -> None:
    from huey import MemoryHuey, RedisHuey, SqliteHuey

    base = {"database_url": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    assert isinstance(make_huey(ServiceSettings(**base)), SqliteHuey)
    embedded = ServiceSettings(**base).queue_location()
    assert embedded == f"sqlite:///{tmp_path / 'db.sqlite.queue'}"
    assert isinstance(make_huey(ServiceSettings(**base, queue_url="memory://")), MemoryHuey)
    assert isinstance(make_huey(ServiceSettings(**base, queue_url="redis://127.0.0.1:6379/11")), RedisHuey)
    pg = ServiceSettings(database_url="postgresql://postgres@127.0.0.1/x")
    assert pg.queue_location() == "sqlite:///ragward-queue.db"
    assert pg.sqlalchemy_url == "postgresql+psycopg://postgres@127.0.0.1/x"


def test_enqueue_to_an_unreachable_broker_raises(tmp_path: Path) -> None:
    queue = RunQueue(ServiceSettings(database_url=f"sqlite:///{tmp_path}/d", queue_url="redis://127.0.0.1:1/0"))
    with pytest.raises(Exception, match=r"(?i)connect"):
        queue.enqueue(uuid.uuid4())
    queue.close()


@pytest.mark.parametrize(
    "values",
    [
        {"database_url": "postgresql://ragward:changeme@db/ragward"},
        {"database_url": "postgresql://postgres:postgres@db/ragward"},
        {"database_url": "sqlite:///x", "queue_url": "redis://:password@cache:6379/0"},
        {"database_url": "mysql://root@db/x"},
        {"database_url": "sqlite:///x", "queue_url": "amqp://guest@mq"},
        {"database_url": "sqlite:///x", "lease_s": 10, "heartbeat_s": 10},
        {"database_url": "sqlite:///x", "port": 70000},
    ],
)
def test_settings_refuse_default_secrets_and_bad_values(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ServiceSettings(**values)


def test_settings_accept_real_secrets_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGWARD_DATABASE_URL", "postgresql://svc:Zq8-vT3%21kLw@db:5432/ragward")
    monkeypatch.setenv("RAGWARD_RATE_LIMIT_PER_HOUR", "3")
    settings = ServiceSettings()
    assert settings.rate_limit_per_hour == 3 and not settings.is_sqlite
