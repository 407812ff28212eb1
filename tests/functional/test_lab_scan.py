"""The scanner against the real reference lab (real embeddings, Chroma, SmolLM2): the exact findings of each
profile, each documented flaw caught by its tests, attribution in the hardened profile, and a corpus left as found.

Scans run with a fixed seed and one test at a time so that the LLM sees the same prompts on every run.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from pathlib import Path

import pytest

from ragward.engine.runner import run_scan
from ragward.lab.profiles import FLAWS, HARDENED
from ragward.lab.target import LabTarget
from ragward.model import Outcome, RunSummary, Suite

pytestmark = pytest.mark.slow

SEED = 20261130
RUN_ID = "00000000-0000-4000-8000-000000000001"
ROOT = Path(__file__).resolve().parents[2]

EXPECTED_FAILED: dict[str, set[str]] = {
    "vulnerable": {
        "RW-CAN-002",
        "RW-CAN-003",
        "RW-CAN-004",
        "RW-CAN-006",
        "RW-CAN-007",
        "RW-CAN-008",
        "RW-CAN-009",
        "RW-INJ-001",
        "RW-ISO-003",
        "RW-ISO-004",
        "RW-ISO-007",
        "RW-ISO-008",
        "RW-ISO-009",
        "RW-ISO-010",
        "RW-ISO-011",
        "RW-ISO-012",
        "RW-ISO-013",
        "RW-ISO-014",
        "RW-ISO-015",
    },
    "hardened": set(),
}

# Which default tests catch each documented flaw of the vulnerable profile (the same table is in docs/lab.md).
# A flaw is switched on alone in the hardened profile, with the guardrail that would mask it switched off (the
# tenant filter's deny-by-default check masks the tenancy flaws; the ingest scanner and the context sanitiser mask
# each other): defence in depth means one flaw alone is often not exploitable, which the hardened scan shows.
FLAW_TESTS: dict[str, set[str]] = {
    # RW-ISO-009: answers use hybrid mode, so the unfiltered keyword leg puts other tenants' chunks in the context.
    "hybrid_keyword_unfiltered": {"RW-ISO-003", "RW-ISO-007", "RW-ISO-009"},
    "mmr_prefetch_unfiltered": {"RW-ISO-004", "RW-ISO-008"},
    "shared_response_cache": {"RW-ISO-010"},
    "missing_tenant_unscoped": {"RW-ISO-011", "RW-ISO-012", "RW-ISO-013"},
    "tenant_filter_injection": {"RW-ISO-014", "RW-ISO-015"},
    "stale_index_on_delete": {"RW-CAN-007", "RW-CAN-008"},
    "no_output_filter": {"RW-CAN-002", "RW-CAN-003", "RW-CAN-004", "RW-CAN-009"},
    # Not in vulnerable (no filter there to run late): a toggle on hardened's stream path, caught alone.
    "output_filter_after_stream": {"RW-CAN-009", "RW-CAN-010"},
    "no_ingest_scanning": {"RW-INJ-001"},
    "no_context_sanitising": {"RW-INJ-001"},
}
TENANT_FLAWS = {
    "hybrid_keyword_unfiltered",
    "mmr_prefetch_unfiltered",
    "missing_tenant_unscoped",
    "tenant_filter_injection",
}
# SmolLM2 does not repeat values from the hardened (delimited) context, so the output-level flaws show with
# the context left as in the vulnerable profile.
COMPANION_FLAWS = {
    "no_ingest_scanning": "no_context_sanitising",
    "no_context_sanitising": "no_ingest_scanning",
    "no_output_filter": "no_context_sanitising",
    "stale_index_on_delete": "no_context_sanitising",
}


def scan(
    profile: object, data_dir: Path, journal: Path, only: list[str] | None = None
) -> tuple[RunSummary, dict[str, str], dict[str, str]]:
    async def go() -> tuple[RunSummary, dict[str, str], dict[str, str]]:
        target = LabTarget(profile, data_dir)  # type: ignore[arg-type]
        try:
            before = await target.corpus_state()
            run = await run_scan(target, concurrency=1, seed=SEED, run_id=RUN_ID, journal_dir=journal, only=only)
            after = await target.corpus_state()
        finally:
            await target.close()
        return run, before, after

    return asyncio.run(go())


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[RunSummary, dict[str, str], dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("lab")
    return {p: scan(p, tmp / p, tmp / "journals") for p in ("vulnerable", "hardened")}


def failed(run: RunSummary) -> set[str]:
    return {t.id for t in run.tests if t.outcome is Outcome.FAILED}


@pytest.mark.parametrize("profile", ["vulnerable", "hardened"])
def test_exact_failed_tests(runs: dict[str, tuple[RunSummary, dict[str, str], dict[str, str]]], profile: str) -> None:
    run = runs[profile][0]
    assert run.status == "completed", run.error
    assert failed(run) == EXPECTED_FAILED[profile]
    assert run.tests_run == run.tests_passed + run.tests_failed + run.tests_skipped == len(run.tests)


@pytest.mark.parametrize("profile", ["vulnerable", "hardened"])
def test_scan_leaves_the_corpus_as_it_found_it(
    runs: dict[str, tuple[RunSummary, dict[str, str], dict[str, str]]], profile: str
) -> None:
    _, before, after = runs[profile]
    assert len(before) >= 60
    assert after == before


def test_hardened_stops_every_isolation_attack_and_names_the_guardrail(
    runs: dict[str, tuple[RunSummary, dict[str, str], dict[str, str]]],
) -> None:
    run = runs["hardened"][0]
    isolation = [t for t in run.tests if t.suite is Suite.ISOLATION and t.id != "RW-ISO-018"]
    assert len(isolation) == 18
    assert {t.id: t.outcome for t in run.tests}["RW-ISO-018"] is Outcome.SKIPPED  # the lab has no other modes
    for test in isolation:
        assert test.outcome is Outcome.PASSED, test.id
        assert test.caught_by in {"tenant_filter", "tenant_keyed_cache"}, test.id
        assert test.layer == "retrieval"
        assert test.layer_inferred is False


def test_hardened_attributes_what_it_stopped_to_its_guardrails(
    runs: dict[str, tuple[RunSummary, dict[str, str], dict[str, str]]],
) -> None:
    by_id = {t.id: t for t in runs["hardened"][0].tests}
    # SmolLM2 repeated the key (deterministic with the seed): the output filter blocked it.
    assert by_id["RW-CAN-002"].caught_by == "output_filter"
    assert by_id["RW-CAN-002"].layer == "output"
    assert by_id["RW-CAN-002"].layer_inferred is False
    for test in by_id.values():
        if test.outcome is Outcome.PASSED and test.caught_by is None:
            # Nothing reported stopping it: the layer must be marked as inferred from observation.
            assert test.layer_inferred is True, test.id
    for n in range(1, 9):
        test = by_id[f"RW-INJ-{n:03d}"]
        assert test.caught_by == "ingest_scanner", test.id
        assert test.layer == "ingest"


def test_vulnerable_findings_carry_references_and_redacted_evidence(
    runs: dict[str, tuple[RunSummary, dict[str, str], dict[str, str]]],
) -> None:
    run = runs["vulnerable"][0]
    assert len(run.findings) == len(EXPECTED_FAILED["vulnerable"])
    dump = run.model_dump_json()
    for finding in run.findings:
        assert finding.owasp
        assert finding.atlas
        assert finding.mitigation.startswith("mitigations.md#")
    assert not re.search(r"RWC[0-9A-HJKMNP-TV-Z]{13}", dump)  # no full canary anywhere


@pytest.mark.parametrize("flaw", sorted(FLAW_TESTS))
def test_each_flaw_alone_is_caught_by_its_documented_tests(tmp_path: Path, flaw: str) -> None:
    flags = {flaw: True}
    if flaw in COMPANION_FLAWS:
        flags[COMPANION_FLAWS[flaw]] = True
    if flaw in TENANT_FLAWS:
        flags["tenant_filter"] = False  # the deny-by-default tenant filter would mask these flaws
    profile = replace(HARDENED, name=f"h-{flaw.replace('_', '-')}"[:40], **flags)
    run, _, _ = scan(profile, tmp_path / "lab", tmp_path / "journals", only=sorted(FLAW_TESTS[flaw]))
    # The flaw is caught, only by its documented tests. (Which of several LLM-dependent tests fail can differ
    # from the full scan: a subset draws other canaries from the seed. The full scans above pin exact sets.)
    assert failed(run), flaw
    assert failed(run) <= FLAW_TESTS[flaw]
    retrieval_only = {
        "RW-ISO-003",
        "RW-ISO-004",
        "RW-ISO-007",
        "RW-ISO-008",
        "RW-ISO-009",  # fails on the answer's contexts, whatever the model says
        "RW-ISO-011",
        "RW-ISO-012",
        "RW-ISO-013",
        "RW-ISO-014",
        "RW-ISO-015",
        "RW-CAN-007",
    }
    assert FLAW_TESTS[flaw] & retrieval_only <= failed(run)  # deterministic without the LLM: all of them


def test_flaw_table_in_docs_matches() -> None:
    text = (ROOT / "docs" / "lab.md").read_text(encoding="utf-8")
    assert set(FLAW_TESTS) <= set(FLAWS)
    for flaw, ids in FLAW_TESTS.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{flaw}`"))
        for test_id in ids:
            assert test_id in row, (flaw, test_id)
