"""Run lifecycle through the API: accepted → running → completed/failed, tests, findings."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from svc_factories import mock_factory
from svc_helpers import Backend, Client, Harness, auth, lab_target, sqlite_settings

from ragward.errors import TargetError
from ragward.service.api import create_app
from ragward.service.db.repositories import Assets, Runs
from ragward.service.db.types import utcnow
from ragward.service.worker import execute_run

pytestmark = pytest.mark.timeout(120)


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_run_lifecycle_counts_tests_and_findings(backend: Backend) -> None:
    c = backend.client()
    _, token = c.harness.tenant_token()
    asset = c.asset(token)

    accepted = c.trigger(token, asset)
    assert accepted.status_code == 202
    body = accepted.json()
    assert body["accepted"] is True and body["ai_asset_id"] == asset and body["poll"] == "/api/v2/rag-runs"
    run_id = body["run_id"]

    listed = c.http.get("/api/v2/rag-runs", headers=auth(token)).json()["data"]
    assert [r["id"] for r in listed] == [run_id]  # listed from the moment it is accepted

    run = c.wait_run(token, run_id)
    assert run["status"] == "completed", run
    assert run["trigger"] == "manual"
    assert run["tests_run"] == run["tests_passed"] + run["tests_failed"] + run["tests_skipped"]
    assert run["tests_run"] > 0 and run["tests_failed"] > 0  # the mock parrots: canaries leak
    assert run["completed_at"] is not None
    elapsed_ms = (_ts(run["completed_at"]) - _ts(run["started_at"])).total_seconds() * 1000
    assert abs(run["duration_ms"] - elapsed_ms) <= 1000  # end to end from acceptance (1 s rounding)

    tests = c.http.get(f"/api/v2/rag-runs/{run_id}/tests", headers=auth(token)).json()["data"]
    assert len(tests) == run["tests_run"]
    suites = {t["suite"] for t in tests}
    assert suites <= {"canary", "isolation", "injection"} and len(suites) == 3
    for suite in suites:  # counts are sums across the three suites
        assert any(t["suite"] == suite for t in tests)
    assert sum(t["outcome"] == "failed" for t in tests) == run["tests_failed"]
    assert all({"outcome", "caught_by", "layer", "evidence"} <= t.keys() for t in tests)

    findings = c.http.get(f"/api/v2/rag-runs/{run_id}/findings", headers=auth(token)).json()["data"]
    assert len(findings) == run["tests_failed"]
    failed_ids = {t["id"] for t in tests if t["outcome"] == "failed"}
    assert {f["test_id"] for f in findings} == failed_ids
    assert all(f["status"] == "open" and f["run_id"] == run_id for f in findings)


def test_failed_scan_records_reason(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_config: object) -> object:
        raise TargetError("lab unreachable: connection refused")

    app = create_app(sqlite_settings(tmp_path), target_factory=broken)  # type: ignore[arg-type]
    with TestClient(app) as http:
        c = Client(http, Harness(app.state.ctx))
        _, token = c.harness.tenant_token()
        run_id = c.trigger(token, c.asset(token)).json()["run_id"]
        run = c.wait_run(token, run_id)
    assert run["status"] == "failed"
    assert run["error"] == "lab unreachable: connection refused"
    assert run["completed_at"] is not None and run["duration_ms"] is not None
    assert run["tests_run"] == 0


def test_list_filters_newest_first_and_cap(svc: Client) -> None:
    _, token = svc.harness.tenant_token()
    a1, a2 = svc.asset(token, name="one"), svc.asset(token, name="two")
    ids = [svc.trigger(token, a).json()["run_id"] for a in (a1, a2, a1)]
    for run_id in ids:
        svc.wait_run(token, run_id)
    data = svc.http.get("/api/v2/rag-runs", headers=auth(token)).json()["data"]
    assert [r["id"] for r in data] == ids[::-1]
    only_a1 = svc.http.get("/api/v2/rag-runs", params={"ai_asset_id": a1}, headers=auth(token)).json()["data"]
    assert [r["id"] for r in only_a1] == [ids[2], ids[0]]
    completed = svc.http.get("/api/v2/rag-runs", params={"status": "completed"}, headers=auth(token)).json()
    assert len(completed["data"]) == 3
    assert svc.http.get("/api/v2/rag-runs", params={"status": "failed"}, headers=auth(token)).json() == {"data": []}
    bad = svc.http.get("/api/v2/rag-runs", params={"status": "done"}, headers=auth(token))
    assert (bad.status_code, bad.json()) == (400, {"error": "invalid_status"})
    bad = svc.http.get("/api/v2/rag-runs", params={"ai_asset_id": "42"}, headers=auth(token))
    assert (bad.status_code, bad.json()) == (400, {"error": "invalid_ai_asset_id"})


def test_runs_list_is_capped_at_100(svc: Client) -> None:

    tenant, token = svc.harness.tenant_token()
    with svc.harness.ctx.db.write() as session:
        asset = Assets(session).add(tenant, name="bulk", kind="rag", target_config=lab_target())
        session.flush()
        now = utcnow()
        for i in range(105):
            Runs(session).add(
                tenant,
                asset,
                trigger="scheduled",
                started_at=now - timedelta(minutes=i),
                test_profile="default",
                target_key="k",
            )
        session.commit()
    data = svc.http.get("/api/v2/rag-runs", headers=auth(token)).json()["data"]
    assert len(data) == 100
    starts = [_ts(r["started_at"]) for r in data]
    assert starts == sorted(starts, reverse=True)


def test_findings_routes_filter_and_triage(svc: Client) -> None:
    _, token = svc.harness.tenant_token()
    run_id = svc.trigger(token, svc.asset(token)).json()["run_id"]
    run = svc.wait_run(token, run_id)
    findings = svc.http.get("/api/v2/findings", headers=auth(token)).json()["data"]
    assert len(findings) == run["tests_failed"] > 0
    severity = findings[0]["severity"]
    same = svc.http.get("/api/v2/findings", params={"severity": severity}, headers=auth(token)).json()["data"]
    assert same and all(f["severity"] == severity for f in same)
    assert len(same) == sum(f["severity"] == severity for f in findings)
    bad = svc.http.get("/api/v2/findings", params={"severity": "urgent"}, headers=auth(token))
    assert (bad.status_code, bad.json()) == (400, {"error": "invalid_severity"})

    fid = findings[0]["id"]
    one = svc.http.get(f"/api/v2/findings/{fid}", headers=auth(token))
    assert one.status_code == 200 and one.json() == findings[0]
    patched = svc.http.patch(f"/api/v2/findings/{fid}", json={"status": "false_positive"}, headers=auth(token))
    assert patched.status_code == 200 and patched.json()["status"] == "false_positive"
    assert svc.http.get(f"/api/v2/findings/{fid}", headers=auth(token)).json()["status"] == "false_positive"
    by_status = svc.http.get("/api/v2/findings", params={"status": "false_positive"}, headers=auth(token))
    assert [f["id"] for f in by_status.json()["data"]] == [fid]
    for body in ({"status": "closed"}, {}, {"status": None}, [], "x"):
        bad = svc.http.patch(f"/api/v2/findings/{fid}", json=body, headers=auth(token))
        assert (bad.status_code, bad.json()) == (400, {"error": "invalid_finding_status"}), body
    bad = svc.http.get("/api/v2/findings/123", headers=auth(token))
    assert (bad.status_code, bad.json()) == (400, {"error": "invalid_finding_id"})
    missing = svc.http.get("/api/v2/findings/00000000-0000-4000-8000-000000000000", headers=auth(token))
    assert (missing.status_code, missing.json()) == (404, {"error": "finding_not_found"})


def test_assets_crud_and_validation(svc: Client) -> None:
    _, token = svc.harness.tenant_token()
    h = auth(token)
    rag = svc.asset(token, name="support-bot")
    llm = svc.http.post("/api/v2/ai-assets", json={"name": "gpt", "kind": "llm"}, headers=h)
    assert llm.status_code == 201 and llm.json()["target"] is None
    listed = svc.http.get("/api/v2/ai-assets", headers=h).json()["data"]
    assert [a["id"] for a in listed][-2:] == [llm.json()["id"], rag]
    got = svc.http.get(f"/api/v2/ai-assets/{rag}", headers=h).json()
    assert got["target"] == {"kind": "lab", "profile": "vulnerable"} and got["kind"] == "rag"

    http_target = {
        "kind": "http",
        "base_url": "https://rag.example",
        "tenants": ["acme", "globex"],
        "retrieve": {"url": "/search"},
        "headers": {"Authorization": "Bearer ${RAGWARD_TARGET_ACME_TOKEN}"},
    }
    accepted = svc.http.post("/api/v2/ai-assets", json={"name": "h", "kind": "rag", "target": http_target}, headers=h)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["target"] == http_target  # stored as given; the reference, never a value
    cases = [
        ({"name": "x", "kind": "rag"}, "invalid_target_config"),
        ({"name": "x", "kind": "rag", "target": {"kind": "nope"}}, "invalid_target_config"),
        (
            {"name": "x", "kind": "rag", "target": {**http_target, "headers": {"Authorization": "Bearer sk-live-1"}}},
            "invalid_target_config",
        ),
        (
            {"name": "x", "kind": "rag", "target": {**http_target, "headers": {"X-Key": "${AWS_SECRET_ACCESS_KEY}"}}},
            "invalid_target_config",
        ),
        ({"name": "x", "kind": "rag", "target": {"kind": "lab", "data_dir": "/etc"}}, "invalid_target_config"),
        (
            {"name": "x", "kind": "rag", "target": {"kind": "chroma", "path": "/var/lib", "tenants": ["a"]}},
            "invalid_target_config",
        ),
        (
            {"name": "x", "kind": "rag", "target": {"kind": "langchain", "factory": "os:system", "tenants": ["a"]}},
            "invalid_target_config",
        ),
        ({"name": "x", "kind": "llm", "target": {"kind": "lab"}}, "invalid_target_config"),
        ({"name": "", "kind": "rag", "target": {"kind": "lab"}}, "invalid_name"),
        ({"name": "   ", "kind": "llm"}, "invalid_name"),
        ({"name": "a\x00b", "kind": "llm"}, "invalid_name"),
        ({"name": "x", "kind": "database"}, "invalid_kind"),
        ({"name": "x"}, "invalid_kind"),
        ({"kind": "llm"}, "invalid_name"),
    ]
    for body, code in cases:
        response = svc.http.post("/api/v2/ai-assets", json=body, headers=h)
        assert response.status_code == 400 and response.json()["error"] == code, (body, response.text)
    secret = svc.http.post(
        "/api/v2/ai-assets",
        json={"name": "x", "kind": "rag", "target": {**http_target, "headers": {"Authorization": "sk-live-123"}}},
        headers=h,
    )
    assert secret.status_code == 400 and "sk-live-123" not in secret.text  # refused, never echoed
    leak = svc.http.post(
        "/api/v2/ai-assets",
        json={
            "name": "x",
            "kind": "rag",
            "target": {**http_target, "base_url": "https://evil.example/${RAGWARD_DATABASE_URL}"},
        },
        headers=h,
    )
    assert leak.status_code == 400 and "RAGWARD_TARGET_" in leak.json()["detail"]

    # a run of a non-rag asset is refused like a missing one
    refused = svc.trigger(token, llm.json()["id"])
    assert (refused.status_code, refused.json()) == (404, {"error": "rag_asset_not_found"})

    assert svc.http.delete(f"/api/v2/ai-assets/{rag}", headers=h).status_code == 204
    gone = svc.http.get(f"/api/v2/ai-assets/{rag}", headers=h)
    assert (gone.status_code, gone.json()) == (404, {"error": "ai_asset_not_found"})
    again = svc.http.delete(f"/api/v2/ai-assets/{rag}", headers=h)
    assert again.status_code == 404


def test_runs_survive_asset_deletion(svc: Client) -> None:
    _, token = svc.harness.tenant_token()
    asset = svc.asset(token)
    run_id = svc.trigger(token, asset).json()["run_id"]
    svc.wait_run(token, run_id)
    assert svc.http.delete(f"/api/v2/ai-assets/{asset}", headers=auth(token)).status_code == 204
    run = svc.http.get(f"/api/v2/rag-runs/{run_id}", headers=auth(token)).json()
    assert run["ai_asset_id"] == asset and run["status"] == "completed"


def test_run_scans_target_snapshot_taken_at_acceptance(tmp_path) -> None:
    seen: list[str | None] = []

    def recording(config):  # type: ignore[no-untyped-def]
        seen.append(config.name)
        return mock_factory(config)

    settings = sqlite_settings(tmp_path, embedded_workers=0)
    app = create_app(settings, target_factory=recording)
    with TestClient(app) as http:
        c = Client(http, Harness(app.state.ctx))
        _, token = c.harness.tenant_token()
        asset = c.asset(token, target=lab_target(name="before"))
        run_id = c.trigger(token, asset).json()["run_id"]
        # the asset is deleted before any worker runs; the run still scans what was accepted
        assert http.delete(f"/api/v2/ai-assets/{asset}", headers=auth(token)).status_code == 204
        assert execute_run(app.state.ctx, uuid.UUID(run_id)) == "completed"
    assert seen == ["before"]
