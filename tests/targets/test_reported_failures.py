"""Issue 5's reported failures 1-4 on real stores: each flaw is found by a scan, each fix passes.

Every store (Chroma embedded, Qdrant local mode, LanceDB) is configured the
way a flawed application uses it and the way the fixed one does, then scanned
with the isolation tests that cover the flaw (the engine's real suites).
PostgreSQL/pgvector: tests/integration/test_pgvector.py. The semantic cache
(failure 5): test_cache_failure.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import stores
from tgt_helpers import HashingEmbedder, failed, outcomes, scan

from ragward.engine.context import RunState, TestContext
from ragward.engine.journal import Journal
from ragward.engine.suites.isolation import _EXACT, _retrieval_probe
from ragward.model import Severity
from ragward.targets._store import StoreTarget
from ragward.targets.base import Document, Query

STORES: dict[str, Callable[[Path, dict[str, Any], HashingEmbedder], StoreTarget]] = {
    "chroma": stores.chroma,
    "qdrant": stores.qdrant,
    "lancedb": stores.lancedb,
}
RETRIEVAL = ["RW-ISO-001", "RW-ISO-002", "RW-ISO-003", "RW-ISO-004", "RW-ISO-005", "RW-ISO-008"]
MISSING = ["RW-ISO-011", "RW-ISO-012", "RW-ISO-013"]
TAMPER = ["RW-ISO-014", "RW-ISO-015", "RW-ISO-016", "RW-ISO-017", "RW-ISO-019"]


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path, embedder: HashingEmbedder) -> Callable[..., StoreTarget]:
    factory = STORES[request.param]

    def make(name: str, **changes: Any) -> StoreTarget:
        return factory(tmp_path / name, changes, embedder)

    make.kind = request.param  # type: ignore[attr-defined]
    return make


def _gate_passes(store: Callable[..., StoreTarget], journal: Path) -> None:
    run = scan(store("gate"), journal, only=["RW-CAN-001", "RW-CAN-007"])
    assert outcomes(run) == {"RW-CAN-001": "passed", "RW-CAN-007": "passed"}, run.tests


def test_clean_store_passes_the_isolation_suite(store: Callable[..., StoreTarget], journal: Path) -> None:
    _gate_passes(store, journal)
    fixed = store("fixed", tenant_filter={"require_string": True, "on_missing": "refuse", **_sql_template(store)})
    run = scan(fixed, journal, only=RETRIEVAL + MISSING + TAMPER)
    assert run.error is None
    assert failed(run) == set(), [t.reason for t in run.tests if t.reason]
    assert run.tests_skipped == 0


def test_failure_1_filter_dropped_by_mmr_and_score_threshold(store: Callable[..., StoreTarget], journal: Path) -> None:
    modes = {"vector": {}, "mmr": {"filtered": False}, "threshold": {"filtered": False, "score_threshold": -1}}
    run = scan(store("flawed", modes=modes), journal, only=["RW-ISO-001", "RW-ISO-004", "RW-ISO-005", "RW-ISO-008"])
    assert failed(run) == {"RW-ISO-004", "RW-ISO-008"}
    finding = next(f for f in run.findings if f.test_id == "RW-ISO-004")
    assert finding.severity is Severity.HIGH and "mode 'mmr'" in finding.evidence
    # the threshold path is probed with the same isolation probe (the suite registers the four lab modes)
    assert _probe(store("flawed-threshold", modes=modes), "threshold", journal).failed
    fixed_modes = {"vector": {}, "mmr": {}, "threshold": {"score_threshold": -1}}
    fixed = scan(store("fixed", modes=fixed_modes), journal, only=["RW-ISO-001", "RW-ISO-004", "RW-ISO-008"])
    assert failed(fixed) == set() and fixed.tests_skipped == 0
    verdict = _probe(store("fixed-threshold", modes=fixed_modes), "threshold", journal)
    assert not verdict.failed and verdict.evidence["error"] is None and verdict.evidence["retrieved"]


def test_failure_2_hybrid_keyword_leg_ignores_the_filter(store: Callable[..., StoreTarget], journal: Path) -> None:
    flawed = store("flawed", modes={"vector": {}, "hybrid": {"keyword_filtered": False}})
    run = scan(flawed, journal, only=["RW-ISO-001", "RW-ISO-003", "RW-ISO-005", "RW-ISO-007"])
    assert {"RW-ISO-003"} <= failed(run) <= {"RW-ISO-003", "RW-ISO-007"}
    assert "mode 'hybrid'" in next(f for f in run.findings if f.test_id == "RW-ISO-003").evidence
    fixed = scan(store("fixed", modes={"vector": {}, "hybrid": {}}), journal, only=["RW-ISO-001", "RW-ISO-003"])
    assert failed(fixed) == set() and fixed.tests_skipped == 0


def test_failure_2_exact_reference_leaks_only_in_hybrid(store: Callable[..., StoreTarget]) -> None:
    """The issue's own probe: tenant A asks for tenant B's invoice reference, hybrid vs vector-only."""
    target = store("quillon", modes={"vector": {}, "hybrid": {"keyword_filtered": False}})
    canary = "RWCQUILLONTEST01"

    async def go() -> dict[str, set[str]]:
        await target.ingest(Document("inv-b", f"Invoice ref QUILLON-5520 for 12 racks, {canary}", "globex"))
        seen = {}
        for mode in ("vector", "hybrid"):
            response = await target.retrieve(Query("QUILLON-5520", "acme", mode, 4))
            seen[mode] = {c.doc_id for c in response.contexts if c.tenant != "acme"}
        await target.close()
        return seen

    seen = asyncio.run(go())
    assert seen == {"vector": set(), "hybrid": {"inv-b"}}


def _sql_template(store: Callable[..., StoreTarget]) -> dict[str, Any]:
    return {"template": "tenant = {tenant:sql}"} if store.kind == "lancedb" else {}  # type: ignore[attr-defined]


def test_failure_3_caller_controlled_filter_values(store: Callable[..., StoreTarget], journal: Path) -> None:
    kind = store.kind  # type: ignore[attr-defined]
    naive = {"template": "tenant = '{tenant}'"} if kind == "lancedb" else {}
    run = scan(store("flawed", tenant_filter=naive), journal, only=TAMPER)
    expected = {
        # Chroma's where language takes $ne/$in from the request and rejects $regex
        "chroma": {"RW-ISO-014", "RW-ISO-015"},
        # Qdrant's typed filter model rejects operator objects: the store itself fails closed
        "qdrant": set(),
        # string interpolation into LanceDB's SQL predicate: the quote-closing value widens it, and so does
        # a value that injects the tenant key itself ("acme' OR tenant <> 'acme")
        "lancedb": {"RW-ISO-016", "RW-ISO-019"},
    }[kind]
    assert failed(run) == expected
    assert all(f.severity is Severity.CRITICAL for f in run.findings)
    fixed = scan(store("fixed", tenant_filter={"require_string": True, **_sql_template(store)}), journal, only=TAMPER)
    assert failed(fixed) == set() and fixed.tests_skipped == 0


def test_failure_4_missing_tenant_fails_open(store: Callable[..., StoreTarget], journal: Path) -> None:
    run = scan(store("flawed", tenant_filter={"on_missing": "unscoped", **_sql_template(store)}), journal, only=MISSING)
    assert failed(run) == set(MISSING)
    assert all(f.severity is Severity.CRITICAL for f in run.findings)
    fixed = scan(store("fixed", tenant_filter={"on_missing": "refuse", **_sql_template(store)}), journal, only=MISSING)
    assert failed(fixed) == set() and fixed.tests_skipped == 0


def _probe(target: StoreTarget, mode: str, journal: Path) -> Any:
    """Run the isolation suite's retrieval probe in an extra mode (``threshold``), then tear down."""

    async def go() -> Any:
        state = RunState(target, target.capabilities(), "probe-run", Journal(journal, target.key))
        ctx = TestContext(state, "rw-iso-probe")
        try:
            return await _retrieval_probe(mode, _EXACT, 7999)(ctx)
        finally:
            await state.teardown(ctx.doc_ids)
            await target.close()

    return asyncio.run(go())
