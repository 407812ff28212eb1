"""The trigger cap: six per asset in a rolling hour, exact under concurrency."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from svc_helpers import Backend, Client, auth, lab_target

from ragward.service.db.repositories import Assets, Runs
from ragward.service.db.types import utcnow
from ragward.service.ratelimit import retry_after

pytestmark = pytest.mark.timeout(180)


def _simultaneous_triggers(url: str, token: str, asset: str, n: int) -> list[httpx.Response]:
    barrier = threading.Barrier(n)
    results: list[httpx.Response | None] = [None] * n
    clients = [httpx.Client(base_url=url, timeout=60) for _ in range(n)]

    def fire(i: int) -> None:
        barrier.wait()
        results[i] = clients[i].post("/api/v2/rag-runs", json={"ai_asset_id": asset}, headers=auth(token))

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for client in clients:
        client.close()
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def test_ten_simultaneous_triggers_accept_exactly_six(backend: Backend) -> None:
    c = backend.client()
    _, token = c.harness.tenant_token()
    for round_ in range(2):  # twice, on two fresh assets, to catch a lucky interleaving
        asset = c.asset(token, name=f"fresh-{round_}")
        responses = _simultaneous_triggers(backend.url, token, asset, 10)
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [202] * 6 + [429] * 4, [r.text for r in responses]
        for r in responses:
            if r.status_code == 429:
                assert r.headers["Retry-After"] == str(r.json()["retry_after_seconds"])
        listed = c.http.get("/api/v2/rag-runs", params={"ai_asset_id": asset}, headers=auth(token)).json()
        assert len(listed["data"]) == 6


def _seed_runs(client: Client, tenant: uuid.UUID, asset_id: str, ages_s: list[float]) -> None:
    with client.harness.ctx.db.write() as session:
        asset = Assets(session).get_rag(tenant, uuid.UUID(asset_id))
        now = utcnow()
        for age in ages_s:
            Runs(session).add(
                tenant,
                asset,
                trigger="manual",
                started_at=now - timedelta(seconds=age),
                test_profile="default",
                target_key="seeded",
            )
        session.commit()


def test_window_rolls(svc: Client) -> None:
    tenant, token = svc.harness.tenant_token()
    asset = svc.asset(token, target=lab_target(name="never-scanned"))
    # six runs 59 minutes ago: the window is full for about one more minute
    _seed_runs(svc, tenant, asset, [3540] * 6)
    refused = svc.trigger(token, asset)
    assert refused.status_code == 429
    assert 30 <= refused.json()["retry_after_seconds"] <= 61

    old_asset = svc.asset(token, name="old")
    _seed_runs(svc, tenant, old_asset, [3601] * 6)  # just out of the window
    assert svc.trigger(token, old_asset).status_code == 202


def test_retry_after_when_more_runs_than_the_limit() -> None:
    now = datetime(2026, 5, 22, 10, 0, tzinfo=UTC)
    window = timedelta(hours=1)
    starts = [now - timedelta(minutes=m) for m in (50, 40, 30, 20, 10, 5, 1, 0)]  # 8 in the window
    # 8 runs, limit 6: three must leave before a seventh fits; the third oldest is 30 min old
    assert retry_after(starts, limit=6, window=window, now=now) == 30 * 60
    assert retry_after(starts[2:], limit=6, window=window, now=now) == 30 * 60
    just = [now - timedelta(seconds=3599.2), *starts[3:]]
    assert retry_after(just, limit=6, window=window, now=now) == 1  # rounded up, at least 1


def test_other_tenants_triggers_do_not_count(svc: Client) -> None:
    _, token_a = svc.harness.tenant_token()
    _, token_b = svc.harness.tenant_token()
    asset_a, asset_b = svc.asset(token_a), svc.asset(token_b)
    for _ in range(6):
        assert svc.trigger(token_a, asset_a).status_code == 202
    assert svc.trigger(token_a, asset_a).status_code == 429
    assert svc.trigger(token_b, asset_b).status_code == 202
