"""The contract's examples (shared/spec/rag-runs-api.txt) against a live server, every error row.

Runs on SQLite with the embedded queue and, marked ``integration``, on
PostgreSQL + Redis with two ``ragward worker`` processes.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from svc_helpers import Backend, Client, auth

from ragward.service import scheduler
from ragward.service.db.repositories import Schedules
from ragward.service.db.tables import RagSchedule
from ragward.service.db.types import utcnow
from ragward.service.queue import RunQueue

pytestmark = pytest.mark.timeout(180)

RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
RUN_FIELDS = {
    "id",
    "ai_asset_id",
    "trigger",
    "started_at",
    "completed_at",
    "status",
    "tests_run",
    "tests_passed",
    "tests_failed",
    "tests_skipped",
    "duration_ms",
}


def _is_uuid(value: object) -> bool:
    try:
        return str(uuid.UUID(str(value))) == value
    except ValueError:
        return False


def _check_run_shape(run: dict[str, object]) -> None:
    assert run.keys() >= RUN_FIELDS, run.keys()
    assert _is_uuid(run["id"]) and _is_uuid(run["ai_asset_id"])
    assert run["trigger"] in ("scheduled", "manual")
    assert run["status"] in ("running", "completed", "failed")
    assert isinstance(run["started_at"], str) and RFC3339_Z.match(run["started_at"])
    if run["status"] == "running":
        assert run["completed_at"] is None and run["duration_ms"] is None
    else:
        assert isinstance(run["completed_at"], str) and RFC3339_Z.match(run["completed_at"])
        assert isinstance(run["duration_ms"], int) and run["duration_ms"] >= 0
    for key in ("tests_run", "tests_passed", "tests_failed", "tests_skipped"):
        assert isinstance(run[key], int) and run[key] >= 0
    assert run["tests_run"] == run["tests_passed"] + run["tests_failed"] + run["tests_skipped"]  # type: ignore[operator]


def test_get_rag_runs_example(backend: Backend) -> None:
    """``GET /api/v2/rag-runs`` with ``Authorization: Bearer $TOKEN`` (scope rag:read)."""
    c = backend.client()
    tenant, token = c.harness.tenant_token()
    asset = c.asset(token)
    manual = c.trigger(token, asset).json()["run_id"]
    c.wait_run(token, manual)
    # a scheduled run too, as in the contract's example
    with backend.harness.ctx.db.write() as session:
        from ragward.service.db.repositories import Assets

        Schedules(session).add(
            tenant,
            Assets(session).get_rag(tenant, uuid.UUID(asset)),
            cron="0 3 * * *",
            next_run_at=utcnow() - timedelta(seconds=1),
        )
        session.commit()
    started = scheduler.tick(backend.harness.ctx)
    assert len(started) == 1
    c.wait_run(token, str(started[0]))

    response = c.http.get("/api/v2/rag-runs", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["data"]
    assert [r["trigger"] for r in body["data"]] == ["scheduled", "manual"]  # newest first
    for run in body["data"]:
        _check_run_shape(run)
        assert run["ai_asset_id"] == asset and run["status"] == "completed"


def test_post_rag_runs_example(backend: Backend) -> None:
    """``POST /api/v2/rag-runs`` with ``{"ai_asset_id": "<uuid>"}`` (scope rag:write) → 202."""
    c = backend.client()
    _, token = c.harness.tenant_token()
    asset = c.asset(token)
    response = c.http.post(
        "/api/v2/rag-runs",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        content=f'{{"ai_asset_id": "{asset}"}}',
    )
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] is True and body["ai_asset_id"] == asset and body["poll"] == "/api/v2/rag-runs"
    assert set(body) == {"accepted", "ai_asset_id", "poll", "run_id"}  # run_id is the one addition
    polled = c.http.get(body["poll"], headers=auth(token)).json()["data"]
    assert polled[0]["id"] == body["run_id"]
    _check_run_shape(polled[0])


INVALID_BODIES = [
    "{}",
    '{"ai_asset_id": null}',
    '{"ai_asset_id": ""}',
    '{"ai_asset_id": "not-a-uuid"}',
    '{"ai_asset_id": 42}',
    '{"ai_asset_id": ["8c6f1f0e-7d0c-4f43-9a43-0c3f6b1f2d11"]}',
    '{"ai_asset_id": "8c6f1f0e7d0c4f439a430c3f6b1f2d11"}',
    '{"ai_asset_id": "urn:uuid:8c6f1f0e-7d0c-4f43-9a43-0c3f6b1f2d11"}',
    '{"ai_asset_id": "8c6f1f0e-7d0c-4f43-9a43-0c3f6b1f2d1"}',
    '{"asset": "8c6f1f0e-7d0c-4f43-9a43-0c3f6b1f2d11"}',
    "[]",
    "null",
    "not json",
    "",
]


def test_error_400_invalid_ai_asset_id(backend: Backend) -> None:
    """Missing or not a UUID (canonical 8-4-4-4-12 form), whatever the body's shape."""
    c = backend.client()
    _, token = c.harness.tenant_token()
    for content in INVALID_BODIES:
        response = c.http.post(
            "/api/v2/rag-runs", content=content, headers={**auth(token), "Content-Type": "application/json"}
        )
        assert response.status_code == 400, content
        assert response.content == b'{"error":"invalid_ai_asset_id"}', content
    assert c.http.get("/api/v2/rag-runs", headers=auth(token)).json() == {"data": []}


def test_error_404_rag_asset_not_found(backend: Backend) -> None:
    c = backend.client()
    _, token = c.harness.tenant_token()
    _, other_token = c.harness.tenant_token()
    others = c.asset(other_token)  # exists, in another tenant
    llm = c.http.post("/api/v2/ai-assets", json={"name": "m", "kind": "llm"}, headers=auth(token)).json()["id"]
    for asset_id in (str(uuid.uuid4()), others, llm):
        response = c.trigger(token, asset_id)
        assert response.status_code == 404
        assert response.content == b'{"error":"rag_asset_not_found"}'


def test_error_413_payload_too_large(backend: Backend) -> None:
    c = backend.client()
    _, token = c.harness.tenant_token()
    asset = c.asset(token)
    prefix = f'{{"ai_asset_id": "{asset}"'.encode()
    limit = 1_048_576
    exact = prefix + b" " * (limit - len(prefix) - 1) + b"}"
    assert len(exact) == limit
    ok = c.http.post("/api/v2/rag-runs", content=exact, headers={**auth(token), "Content-Type": "application/json"})
    assert ok.status_code == 202  # exactly 1 MiB is within the cap
    over = exact[:-1] + b" }"
    response = c.http.post(
        "/api/v2/rag-runs", content=over, headers={**auth(token), "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.content == b'{"error":"payload_too_large","limit_bytes":1048576}'

    def chunks() -> object:  # no Content-Length: httpx sends Transfer-Encoding: chunked
        for i in range(0, len(over), 65536):
            yield over[i : i + 65536]

    chunked = c.http.post(
        "/api/v2/rag-runs", content=chunks(), headers={**auth(token), "Content-Type": "application/json"}
    )
    assert chunked.status_code == 413
    assert chunked.content == b'{"error":"payload_too_large","limit_bytes":1048576}'
    runs = c.http.get("/api/v2/rag-runs", headers=auth(token)).json()["data"]
    assert len(runs) == 1  # only the accepted one


def test_error_429_rate_limited(backend: Backend) -> None:
    c = backend.client()
    _, token = c.harness.tenant_token()
    asset = c.asset(token)
    for _ in range(6):
        assert c.trigger(token, asset).status_code == 202
    response = c.trigger(token, asset)
    assert response.status_code == 429
    body = response.json()
    assert set(body) == {"error", "retry_after_seconds"} and body["error"] == "rate_limited"
    n = body["retry_after_seconds"]
    assert isinstance(n, int) and 3500 <= n <= 3600  # the oldest run leaves the window in ~1 h
    assert response.headers["Retry-After"] == str(n)
    assert response.content == f'{{"error":"rate_limited","retry_after_seconds":{n}}}'.encode()
    # another asset of the same tenant has its own budget
    assert c.trigger(token, c.asset(token, name="other")).status_code == 202


def test_error_502_enqueue_failed(backend: Backend) -> None:
    c = backend.client()
    _, token = c.harness.tenant_token()
    asset = c.asset(token)
    ctx = backend.harness.ctx
    good = ctx.queue
    broken = RunQueue(ctx.settings.model_copy(update={"queue_url": "redis://127.0.0.1:1/0"}))
    ctx.queue = broken
    try:
        for _ in range(7):  # more than the limit: a failed enqueue does not count
            response = c.trigger(token, asset)
            assert response.status_code == 502
            assert response.content == b'{"error":"enqueue_failed"}'
    finally:
        ctx.queue = good
        broken.close()
    assert c.http.get("/api/v2/rag-runs", headers=auth(token)).json() == {"data": []}  # no run left behind
    accepted = [c.trigger(token, asset).status_code for _ in range(7)]
    assert accepted == [202] * 6 + [429]


def test_scheduled_run_has_trigger_scheduled(backend: Backend) -> None:
    c = backend.client()
    _tenant, token = c.harness.tenant_token()
    asset = c.asset(token)
    created = c.http.post(
        "/api/v2/rag-schedules", json={"ai_asset_id": asset, "cron": "*/5 * * * *"}, headers=auth(token)
    )
    assert created.status_code == 201
    sid = created.json()["id"]
    with backend.harness.ctx.db.write() as session:
        row = session.get(RagSchedule, uuid.UUID(sid))
        assert row is not None
        row.next_run_at = utcnow() - timedelta(seconds=5)
        session.commit()
    started = scheduler.tick(backend.harness.ctx)
    assert len(started) == 1
    run = c.wait_run(token, str(started[0]))
    assert run["trigger"] == "scheduled" and run["status"] == "completed"
    schedule = c.http.get(f"/api/v2/rag-schedules/{sid}", headers=auth(token)).json()
    assert schedule["last_run_id"] == str(started[0])


def test_openapi_documents_every_route_and_error_body(svc_openapi: dict[str, Any]) -> None:
    doc = svc_openapi
    post = doc["paths"]["/api/v2/rag-runs"]["post"]
    responses = post["responses"]
    assert set(responses) >= {"202", "400", "401", "403", "404", "413", "429", "502"}
    assert "422" not in responses
    assert "Retry-After" in responses["429"]["headers"]

    def schema_of(response: dict[str, Any]) -> dict[str, Any]:
        ref = response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        return dict(doc["components"]["schemas"][ref])

    def codes(response: dict[str, Any]) -> list[str]:
        prop = schema_of(response)["properties"]["error"]
        return list(prop.get("enum") or [prop["const"]])

    assert codes(responses["400"]) == ["invalid_ai_asset_id"]
    assert codes(responses["404"]) == ["rag_asset_not_found"]
    assert codes(responses["502"]) == ["enqueue_failed"]
    assert codes(responses["401"]) == ["missing_token", "invalid_token", "expired_token"]
    assert set(schema_of(responses["413"])["properties"]) == {"error", "limit_bytes"}
    assert set(schema_of(responses["429"])["properties"]) == {"error", "retry_after_seconds"}
    assert post["x-required-scopes"] == ["rag:write"]
    assert doc["paths"]["/api/v2/rag-runs"]["get"]["x-required-scopes"] == ["rag:read"]
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if path != "/api/v2/health":
                assert {"401", "403"} <= set(op["responses"]), (method, path)
                assert op.get("security"), (method, path)
    # every reference resolves
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(doc)))
    assert refs and refs <= set(doc["components"]["schemas"])


@pytest.fixture
def svc_openapi(svc: Client) -> dict[str, Any]:
    response = svc.http.get("/api/v2/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document
