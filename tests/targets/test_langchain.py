"""The langchain adapter on LangChain's own retrievers (InMemoryVectorStore), with issue 5's failures 1 and 4."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from stores import BACKGROUND
from tgt_helpers import HashingEmbedder, failed, scan

from ragward.engine.context import RunState, TestContext
from ragward.engine.journal import Journal
from ragward.engine.suites.isolation import _EXACT, _retrieval_probe
from ragward.errors import ConfigError
from ragward.model import Severity
from ragward.targets._factory import load_factory
from ragward.targets.base import Capability, Document
from ragward.targets.config import LangChainTargetConfig, build_target, parse_target_config
from ragward.targets.langchain import LangChainTarget

ROOT = Path(__file__).resolve().parents[2]
APP = f"{ROOT}/examples/targets/langchain_app.py"
RETRIEVAL = ["RW-CAN-001", "RW-CAN-007", "RW-ISO-001", "RW-ISO-004", "RW-ISO-005", "RW-ISO-008"]
MISSING = ["RW-ISO-011", "RW-ISO-012", "RW-ISO-013"]
TAMPER = ["RW-ISO-014", "RW-ISO-015", "RW-ISO-016", "RW-ISO-017"]


def config(**options: Any) -> LangChainTargetConfig:
    parsed = parse_target_config(
        {"kind": "langchain", "factory": f"{APP}:build", "options": options, "tenants": ["acme", "globex"]}
    )
    assert isinstance(parsed, LangChainTargetConfig)
    return parsed


def target(embedder: HashingEmbedder, **options: Any) -> LangChainTarget:
    module_build = load_factory(f"{APP}:build")
    embeddings = load_factory(f"{APP}:ModelEmbeddings")(embedder)
    t = LangChainTarget(config(**options), app=module_build(embeddings=embeddings, **options))

    async def seed() -> None:  # the application's own corpus
        for i, (tenant, text) in enumerate(BACKGROUND):
            await t.ingest(Document(f"bg-{i}", text, tenant))

    asyncio.run(seed())
    return t


def probe(t: LangChainTarget, mode: str, journal: Path) -> Any:
    async def go() -> Any:
        state = RunState(t, t.capabilities(), "probe-run", Journal(journal, t.key))
        ctx = TestContext(state, "rw-iso-probe")
        try:
            return await _retrieval_probe(mode, _EXACT, 7999)(ctx)
        finally:
            await state.teardown(ctx.doc_ids)

    return asyncio.run(go())


def test_fixed_application_passes(embedder: HashingEmbedder, journal: Path) -> None:
    t = target(embedder)
    caps = t.capabilities()
    assert caps.retrieval_modes == ("vector", "mmr", "threshold")
    assert {Capability.INGEST, Capability.DELETE, Capability.LIST_DOCUMENTS} <= caps.supported
    verdict = probe(t, "threshold", journal)
    assert not verdict.failed and verdict.evidence["error"] is None and verdict.evidence["retrieved"]
    run = scan(t, journal, only=RETRIEVAL + MISSING + TAMPER)
    assert run.error is None
    assert failed(run) == set() and run.tests_skipped == 0


def test_failure_1_filter_dropped_by_the_mmr_and_threshold_retrievers(embedder: HashingEmbedder, journal: Path) -> None:
    flawed = target(embedder, filter_mmr=False, filter_threshold=False)
    verdict = probe(flawed, "threshold", journal)
    assert verdict.failed and "mode 'threshold'" in verdict.summary
    run = scan(flawed, journal, only=RETRIEVAL)
    assert failed(run) == {"RW-ISO-004", "RW-ISO-008"}
    assert all(f.severity is Severity.HIGH and "'mmr'" in f.evidence for f in run.findings)


def test_failure_4_missing_tenant_drops_the_filter(embedder: HashingEmbedder, journal: Path) -> None:
    run = scan(target(embedder, fail_open=True), journal, only=MISSING)
    assert failed(run) == set(MISSING)
    assert {f.severity for f in run.findings} == {Severity.CRITICAL}


def test_factory_errors_are_one_line_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot import"):
        build_target(parse_target_config({"kind": "langchain", "factory": "no_such_module_x:build", "tenants": ["a"]}))
    bad = tmp_path / "bad_factory.py"
    bad.write_text("def build():\n    return 42\n")
    with pytest.raises(ConfigError, match="must return"):
        build_target(parse_target_config({"kind": "langchain", "factory": f"{bad}:build", "tenants": ["a"]}))
    with pytest.raises(ConfigError, match="factory"):
        parse_target_config({"kind": "langchain", "factory": "no colon", "tenants": ["a"]})
