"""Leases: a dead worker's run is failed within two minutes and what it planted is removed."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from svc_factories import mock_factory, stored_ids
from svc_helpers import HERE, Harness, PgRedis, lab_target, sqlite_settings, start_worker, stop_worker

from ragward.engine.journal import Journal
from ragward.model import Trigger
from ragward.service import lease
from ragward.service.context import ServiceContext
from ragward.service.db import jobs
from ragward.service.db.repositories import Assets
from ragward.service.db.tables import RagRun
from ragward.service.db.types import utcnow
from ragward.service.runs import accept_run
from ragward.service.scheduler import Maintenance
from ragward.service.settings import ServiceSettings
from ragward.service.worker import execute_run
from ragward.settings import get_settings
from ragward.targets.base import Document

pytestmark = pytest.mark.timeout(180)


def _accept(ctx: ServiceContext, harness: Harness, target_name: str) -> tuple[uuid.UUID, uuid.UUID]:
    """A tenant's rag asset with a target named ``target_name`` and an accepted run of it."""
    tenant = harness.tenant()
    with ctx.db.write() as session:
        asset = Assets(session).add(tenant, name="a", kind="rag", target_config=lab_target(name=target_name))
        session.flush()
        run = accept_run(session, ctx.queue, ctx.settings, tenant, asset.id, trigger=Trigger.MANUAL)
        session.commit()
        return tenant, run.id


def _run(ctx: ServiceContext, run_id: uuid.UUID) -> RagRun:
    with ctx.db.read() as session:
        row = session.get(RagRun, run_id)
        assert row is not None
        return row


@pytest.fixture
def manual_ctx(tmp_path: Path) -> Iterator[tuple[ServiceContext, Harness]]:
    """A context without workers: the test plays the worker."""
    settings = sqlite_settings(tmp_path, embedded_workers=0, lease_s=1.0, heartbeat_s=0.3)
    ctx = ServiceContext.create(settings, target_factory=mock_factory)
    try:
        yield ctx, Harness(ctx)
    finally:
        ctx.close()


def test_reaper_fails_lapsed_run_and_removes_planted_documents(manual_ctx: tuple[ServiceContext, Harness]) -> None:
    import asyncio

    ctx, harness = manual_ctx
    _, run_id = _accept(ctx, harness, "file-reaped")
    with ctx.db.write() as session:
        status, claimed = jobs.claim(session, run_id, "worker:dead", lease_s=0.2)
    assert status is jobs.ClaimStatus.CLAIMED and claimed is not None
    # what a scan killed mid-test leaves: documents in the target, recorded in the journal
    target = ctx.build_target(claimed.target_config)
    journal = Journal(get_settings().journal_dir, target.key)
    for i in range(3):
        doc = Document(id=f"rw-planted-{i}", text=f"canary RWC-{i}", tenant="acme")
        journal.add(doc.id, doc.tenant, str(run_id))
        asyncio.run(target.ingest(doc))
    assert stored_ids("file-reaped") == {"rw-planted-0", "rw-planted-1", "rw-planted-2"}

    assert lease.reap(ctx) == 0  # lease not lapsed yet
    time.sleep(0.3)
    assert lease.reap(ctx) == 1
    assert lease.reap(ctx) == 0  # once only
    row = _run(ctx, run_id)
    assert row.status == "failed" and row.completed_at is not None and row.duration_ms is not None
    assert row.error == f"{lease.LOST_REASON}; 3 planted document(s) removed"
    assert stored_ids("file-reaped") == set()
    assert journal.entries() == []


def test_unclaimed_run_fails_after_timeout(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path, embedded_workers=0, unclaimed_timeout_s=0.2)
    ctx = ServiceContext.create(settings, target_factory=mock_factory)
    try:
        _, run_id = _accept(ctx, Harness(ctx), "never")
        assert lease.reap(ctx) == 0
        time.sleep(0.3)
        assert lease.reap(ctx) == 1
        row = _run(ctx, run_id)
        assert row.status == "failed" and "not picked up" in (row.error or "")
        assert execute_run(ctx, run_id) == "gone"  # a late job does nothing
    finally:
        ctx.close()


def test_heartbeat_keeps_a_long_scan_alive(tmp_path: Path) -> None:
    settings = sqlite_settings(
        tmp_path, embedded_workers=1, scheduler_enabled=True, lease_s=1.0, heartbeat_s=0.25, maintenance_interval_s=0.2
    )
    ctx = ServiceContext.create(settings, target_factory=mock_factory)
    from ragward.service.runtime import Runtime

    runtime = Runtime(ctx, workers=1, maintenance=True)
    runtime.start()
    try:
        _, run_id = _accept(ctx, Harness(ctx), "slow-heartbeat")
        deadline = time.monotonic() + 60
        while _run(ctx, run_id).status == "running":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        row = _run(ctx, run_id)
        assert row.status == "completed", row.error
        assert row.duration_ms is not None and row.duration_ms > 2 * settings.lease_s * 1000  # outlived 2 leases
    finally:
        runtime.stop()
        ctx.close()


def test_worker_that_loses_its_lease_stops_and_tears_down(manual_ctx: tuple[ServiceContext, Harness]) -> None:
    ctx, harness = manual_ctx
    _, run_id = _accept(ctx, harness, "slowfile-lost")
    outcome: list[str] = []
    worker = threading.Thread(target=lambda: outcome.append(execute_run(ctx, run_id)))
    worker.start()
    deadline = time.monotonic() + 30
    while not stored_ids("slowfile-lost"):
        assert time.monotonic() < deadline, "the scan planted nothing"
        time.sleep(0.02)
    # a reaper takes the lease (as if the heartbeat had stalled past the lease)
    with ctx.db.write() as session:
        session.execute(
            update(RagRun).where(RagRun.id == run_id).values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
        session.commit()
    with ctx.db.write() as session:
        taken = jobs.take_over(session, run_id, "reaper:test", lease_s=30, reason="test")
    assert taken is not None
    worker.join(timeout=30)
    assert outcome == ["lost"]
    assert stored_ids("slowfile-lost") == set()  # the engine tore down on cancellation
    assert _run(ctx, run_id).status == "running"  # the reaper, not the worker, ends it
    with ctx.db.write() as session:
        assert jobs.fail(session, taken, "reaper:test", "worker lost")
    assert _run(ctx, run_id).status == "failed"


def _kill_mid_scan(ctx: ServiceContext, harness: Harness, worker_env: dict[str, str], log: Path) -> None:
    proc = start_worker(worker_env, log, threads=1)
    try:
        _, run_id = _accept(ctx, harness, "slowfile-killed")
        deadline = time.monotonic() + 60
        while _run(ctx, run_id).lease_owner is None or not stored_ids("slowfile-killed"):
            assert time.monotonic() < deadline, log.read_text()
            assert _run(ctx, run_id).status == "running", _run(ctx, run_id).error
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        proc.wait(timeout=10)
        assert stored_ids("slowfile-killed")  # the killed scan left documents behind
        while _run(ctx, run_id).status == "running":
            assert time.monotonic() - killed_at < 120, "not reaped within two minutes"
            time.sleep(0.1)
        elapsed = time.monotonic() - killed_at
        row = _run(ctx, run_id)
        assert row.status == "failed"
        assert (row.error or "").startswith(lease.LOST_REASON), row.error
        assert "planted document(s) removed" in (row.error or ""), row.error
        assert elapsed < ctx.settings.lease_s + 20  # lease + maintenance period + cleanup
        assert stored_ids("slowfile-killed") == set()
    finally:
        stop_worker(proc)


def test_killed_worker_sqlite(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path, embedded_workers=0, queue_name="kill-test")
    ctx = ServiceContext.create(settings, target_factory=mock_factory)
    maintenance = Maintenance(ctx, schedules=False)
    maintenance.start()
    env = dict(os.environ)
    env.update(
        RAGWARD_DATABASE_URL=settings.database_url,
        RAGWARD_QUEUE_URL=settings.queue_location(),
        RAGWARD_QUEUE_NAME="kill-test",
        RAGWARD_TARGET_FACTORY="svc_factories:mock_factory",
        RAGWARD_LEASE_S="4",
        RAGWARD_HEARTBEAT_S="1",
        PYTHONPATH=os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]),
    )
    try:
        _kill_mid_scan(ctx, Harness(ctx), env, tmp_path / "worker.log")
    finally:
        maintenance.stop()
        ctx.close()


@pytest.mark.integration
def test_killed_worker_postgres(pg_redis: PgRedis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # every reaper (the session's workers too) must see the same journals and mock store
    monkeypatch.setenv("RAGWARD_HOME", str(pg_redis.home))
    queue_name = f"{pg_redis.queue_name}kill"
    settings: ServiceSettings = pg_redis.settings(queue_name=queue_name)
    ctx = ServiceContext.create(settings, target_factory=mock_factory)
    maintenance = Maintenance(ctx, schedules=False)
    maintenance.start()
    try:
        env = pg_redis.worker_env(RAGWARD_QUEUE_NAME=queue_name)
        _kill_mid_scan(ctx, Harness(ctx), env, tmp_path / "worker.log")
    finally:
        maintenance.stop()
        ctx.close()
