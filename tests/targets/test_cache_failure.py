"""Issue 5's failure 5: a semantic response cache keyed without the tenant, found over HTTP."""

from __future__ import annotations

from pathlib import Path

import mini_rag
import pytest
from tgt_helpers import LiveServer, failed, scan

from ragward.model import Severity
from ragward.targets.config import HttpTargetConfig, parse_target_config
from ragward.targets.http import HttpTarget


def target(url: str, monkeypatch: pytest.MonkeyPatch) -> HttpTarget:
    for tenant, token in mini_rag.TOKENS.items():
        monkeypatch.setenv(f"MINI_{tenant.upper()}", token)
    config = parse_target_config(
        {
            "kind": "http",
            "base_url": url,
            "tenants": [
                {"name": t, "headers": {"Authorization": f"Bearer ${{MINI_{t.upper()}}}"}} for t in mini_rag.TOKENS
            ],
            "answer": {"url": "/ask", "body": {"query": "{query}"}},
            "retrieve": {"url": "/search", "body": {"query": "{query}"}},
            "ingest": {"url": "/documents", "body": {"id": "{doc_id}", "text": "{text}"}},
            "delete": {"method": "DELETE", "url": "/documents/{doc_id}"},
            "documents": {"method": "GET", "url": "/documents"},
            "response_cache": True,
        }
    )
    assert isinstance(config, HttpTargetConfig)
    return HttpTarget(config)


@pytest.mark.parametrize("keyed_by_tenant", [False, True])
def test_tenant_blind_semantic_cache(keyed_by_tenant: bool, monkeypatch: pytest.MonkeyPatch, journal: Path) -> None:
    with LiveServer(mini_rag.create(keyed_by_tenant=keyed_by_tenant)) as live:
        run = scan(target(live.url, monkeypatch), journal, only=["RW-ISO-009", "RW-ISO-010", "RW-CAN-008"])
    assert run.error is None and run.tests_skipped == 0, [t.reason for t in run.tests]
    if keyed_by_tenant:
        assert failed(run) == set()
    else:
        assert failed(run) == {"RW-ISO-010"}
        finding = run.findings[0]
        assert finding.severity is Severity.HIGH and finding.category == "cross_tenant_cache"
