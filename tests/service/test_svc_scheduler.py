"""Cron schedules: validation, routes, due runs, and exactly one run with two schedulers."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from svc_factories import mock_factory
from svc_helpers import Client, Harness, PgRedis, auth, lab_target, sqlite_settings

from ragward.service import scheduler
from ragward.service.context import ServiceContext
from ragward.service.db.repositories import Assets, Schedules
from ragward.service.db.tables import RagRun, RagSchedule
from ragward.service.db.types import utcnow
from ragward.service.errors import BadRequest
from ragward.service.settings import ServiceSettings

pytestmark = pytest.mark.timeout(180)


@pytest.mark.parametrize("expr", ["0 3 * * *", "*/5 * * * *", "  0  3 * * 1-5 ", "15,45 9-17 * * mon-fri"])
def test_valid_cron(expr: str) -> None:
    assert scheduler.validate_cron(expr) == " ".join(expr.split())


@pytest.mark.parametrize(
    "expr",
    [
        "",
        "* * *",
        "61 * * * *",
        "* 25 * * *",
        "@reboot",
        "0 0 * * * *",
        "0 3 * * * 2026",
        "x y z w v",
        "0\x00 3 * * *",
        "٣ * * * *",
        "* " * 60,
    ],
)
def test_invalid_cron(expr: str) -> None:
    with pytest.raises(BadRequest) as err:
        scheduler.validate_cron(expr)
    assert err.value.code == "invalid_cron"


def test_next_fire_is_strictly_after_and_utc() -> None:
    at = datetime(2026, 5, 22, 3, 0, tzinfo=UTC)
    assert scheduler.next_fire("0 3 * * *", at) == datetime(2026, 5, 23, 3, 0, tzinfo=UTC)
    assert scheduler.next_fire("*/5 * * * *", at + timedelta(seconds=1)) == at + timedelta(minutes=5)


def test_schedule_routes(svc: Client) -> None:
    _, token = svc.harness.tenant_token()
    h = auth(token)
    asset = svc.asset(token)
    created = svc.http.post("/api/v2/rag-schedules", json={"ai_asset_id": asset, "cron": "0 3 * * *"}, headers=h)
    assert created.status_code == 201
    body = created.json()
    assert body["cron"] == "0 3 * * *" and body["ai_asset_id"] == asset and body["last_run_id"] is None
    assert body["next_run_at"].endswith("03:00:00Z")
    assert svc.http.get("/api/v2/rag-schedules", headers=h).json()["data"] == [body]
    assert svc.http.get(f"/api/v2/rag-schedules/{body['id']}", headers=h).json() == body

    for payload, status, code in [
        ({"ai_asset_id": asset, "cron": "every day"}, 400, "invalid_cron"),
        ({"ai_asset_id": asset}, 400, "invalid_cron"),
        ({"ai_asset_id": "nope", "cron": "0 3 * * *"}, 400, "invalid_ai_asset_id"),
        ({"ai_asset_id": str(uuid.uuid4()), "cron": "0 3 * * *"}, 404, "rag_asset_not_found"),
        ([], 400, "invalid_request"),
    ]:
        r = svc.http.post("/api/v2/rag-schedules", json=payload, headers=h)
        assert (r.status_code, r.json()["error"]) == (status, code), payload

    assert svc.http.delete(f"/api/v2/rag-schedules/{body['id']}", headers=h).status_code == 204
    assert svc.http.get(f"/api/v2/rag-schedules/{body['id']}", headers=h).status_code == 404
    # deleting an asset deletes its schedules
    again = svc.http.post("/api/v2/rag-schedules", json={"ai_asset_id": asset, "cron": "0 3 * * *"}, headers=h)
    assert svc.http.delete(f"/api/v2/ai-assets/{asset}", headers=h).status_code == 204
    assert svc.http.get(f"/api/v2/rag-schedules/{again.json()['id']}", headers=h).status_code == 404


def _due_schedules(ctx: ServiceContext, harness: Harness, n: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    tenant = harness.tenant()
    ids = []
    with ctx.db.write() as session:
        for i in range(n):
            asset = Assets(session).add(tenant, name=f"a{i}", kind="rag", target_config=lab_target())
            session.flush()
            ids.append(
                Schedules(session)
                .add(tenant, asset, cron="*/5 * * * *", next_run_at=utcnow() - timedelta(seconds=30))
                .id
            )
        session.commit()
    return tenant, ids


def test_due_schedule_starts_one_scheduled_run_and_advances(svc: Client) -> None:
    ctx = svc.harness.ctx
    _, (sid,) = _due_schedules(ctx, svc.harness, 1)
    started = scheduler.tick(ctx)
    assert len(started) == 1
    assert scheduler.tick(ctx) == []  # not due any more
    with ctx.db.read() as session:
        run = session.get(RagRun, started[0])
        row = session.get(RagSchedule, sid)
        assert run is not None and row is not None
        assert run.trigger == "scheduled" and run.schedule_id == sid
        assert row.next_run_at > utcnow() and row.last_run_id == run.id and row.last_error is None


def test_rate_limited_occurrence_is_skipped_and_recorded(svc: Client) -> None:
    ctx = svc.harness.ctx
    tenant, (sid,) = _due_schedules(ctx, svc.harness, 1)
    with ctx.db.read() as session:
        asset_id = session.get(RagSchedule, sid).ai_asset_id  # type: ignore[union-attr]
    token = svc.harness.token(tenant)
    for _ in range(6):
        assert svc.trigger(token, str(asset_id)).status_code == 202
    assert scheduler.tick(ctx) == []
    with ctx.db.read() as session:
        row = session.get(RagSchedule, sid)
        assert row is not None and row.last_error is not None and row.last_error.startswith("rate_limited")
        assert row.next_run_at > utcnow()
        count = session.scalar(select(func.count()).select_from(RagRun).where(RagRun.ai_asset_id == asset_id))
    assert count == 6


def test_enqueue_failure_keeps_the_schedule_due(svc: Client) -> None:
    from ragward.service.queue import RunQueue

    ctx = svc.harness.ctx
    _, (sid,) = _due_schedules(ctx, svc.harness, 1)
    good = ctx.queue
    ctx.queue = RunQueue(ctx.settings.model_copy(update={"queue_url": "redis://127.0.0.1:1/0"}))
    try:
        assert scheduler.tick(ctx) == []
    finally:
        ctx.queue.close()
        ctx.queue = good
    with ctx.db.read() as session:
        row = session.get(RagSchedule, sid)
        assert row is not None and row.next_run_at < utcnow() and row.last_run_id is None
        assert session.scalar(select(func.count()).select_from(RagRun)) == 0
    assert len(scheduler.tick(ctx)) == 1


def _two_schedulers_race(settings: ServiceSettings, harness: Harness) -> None:
    """Two schedulers (separate contexts, as in two processes) tick at once on 8 due schedules."""
    contexts = [ServiceContext.create(settings, target_factory=mock_factory) for _ in range(2)]
    try:
        _, ids = _due_schedules(contexts[0], harness, 8)
        barrier = threading.Barrier(2)
        started: list[list[uuid.UUID]] = [[], []]

        def run(i: int) -> None:
            barrier.wait()
            started[i] = scheduler.tick(contexts[i])

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with contexts[0].db.read() as session:
            mine = set(
                session.scalars(
                    select(RagRun.id).where(RagRun.id.in_(started[0] + started[1]), RagRun.schedule_id.in_(ids))
                ).all()
            )
        # (a shared database may hold other tests' schedules that came due meanwhile)
        ours = [[r for r in runs if r in mine] for runs in started]
        assert len(ours[0]) + len(ours[1]) == 8
        assert not set(ours[0]) & set(ours[1])
        with contexts[0].db.read() as session:
            per_schedule = dict(
                session.execute(
                    select(RagRun.schedule_id, func.count())
                    .where(RagRun.schedule_id.in_(ids))
                    .group_by(RagRun.schedule_id)
                ).all()
            )
        assert per_schedule == {sid: 1 for sid in ids}
    finally:
        for ctx in contexts:
            ctx.close()


@pytest.fixture
def sqlite_no_workers(tmp_path: Path) -> Iterator[tuple[ServiceSettings, Harness]]:
    settings = sqlite_settings(tmp_path, embedded_workers=0)
    ctx = ServiceContext.create(settings, target_factory=mock_factory)
    try:
        yield settings, Harness(ctx)
    finally:
        ctx.close()


def test_two_schedulers_start_each_due_run_once_sqlite(sqlite_no_workers: tuple[ServiceSettings, Harness]) -> None:
    settings, harness = sqlite_no_workers
    _two_schedulers_race(settings, harness)


@pytest.mark.integration
def test_two_schedulers_start_each_due_run_once_postgres(pg_redis: PgRedis) -> None:
    settings = pg_redis.settings()
    ctx = ServiceContext.create(settings, target_factory=mock_factory)
    try:
        _two_schedulers_race(settings, Harness(ctx))
    finally:
        ctx.close()
