"""One real scan of the reference lab through the service (embedding model, Chroma, SmolLM2).

The ``quick`` test profile keeps it to about a minute on two cores: it still
covers the three suites (canary, isolation, injection).
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from svc_helpers import Client, Harness, auth, sqlite_settings

from ragward.engine.cleanup import cleanup_target
from ragward.service.api import create_app
from ragward.targets.config import build_target, parse_target_config

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_real_lab_scan_through_the_service(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path, test_profile="quick", embedded_workers=1, lease_s=60, heartbeat_s=5)
    app = create_app(settings)  # the default factory: ragward.targets.config.build_target
    with TestClient(app) as http:
        c = Client(http, Harness(app.state.ctx))
        _, token = c.harness.tenant_token()
        asset = c.asset(token, target={"kind": "lab", "profile": "vulnerable"})
        run_id = c.trigger(token, asset).json()["run_id"]
        run = c.wait_run(token, run_id, timeout_s=800)
        tests = http.get(f"/api/v2/rag-runs/{run_id}/tests", headers=auth(token)).json()["data"]
        findings = http.get(f"/api/v2/rag-runs/{run_id}/findings", headers=auth(token)).json()["data"]

    assert run["status"] == "completed", run
    assert run["tests_run"] == len(tests) == 6
    assert {t["suite"] for t in tests} == {"canary", "isolation", "injection"}
    assert run["tests_failed"] >= 1  # the vulnerable profile leaks
    assert len(findings) == run["tests_failed"]
    assert all(f["owasp"] and f["mitigation"] for f in findings)
    assert run["duration_ms"] > 0 and run["completed_at"] >= run["started_at"]
    # teardown: nothing the scan planted is left in the lab, nor in its cleanup journal
    target = build_target(parse_target_config({"kind": "lab", "profile": "vulnerable"}))
    try:
        stored = asyncio.run(target.document_ids())
        assert stored, "the lab's own corpus should be there"
        # the engine names planted documents rw-<run id prefix>-<test id>-<n>
        planted = set(re.findall(rf"rw-{run_id[:8]}-[a-z0-9-]+", json.dumps(tests)))
        assert planted, "the evidence names documents the scan planted"
        assert planted.isdisjoint(stored)
        assert asyncio.run(cleanup_target(target)) == 0
    finally:
        asyncio.run(target.close())
