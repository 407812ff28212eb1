"""The engine against the in-memory mock target: outcomes, skips, attribution, teardown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragward.engine.cleanup import cleanup_target
from ragward.engine.journal import Journal
from ragward.engine.runner import run_scan
from ragward.errors import ConfigError
from ragward.model import Outcome, RunStatus, RunSummary
from ragward.targets.base import Capability
from ragward.targets.mock import ALL_FLAWS, MockTarget

# Which test ids each mock flaw must fail (and no other flaw-free test may fail).
FLAW_CATCHERS = {
    "hybrid_unfiltered": {"RW-ISO-003", "RW-ISO-007", "RW-ISO-009"},  # RW-ISO-009: answers use hybrid mode
    "mmr_unfiltered": {"RW-ISO-004", "RW-ISO-008"},
    "missing_tenant_unscoped": {"RW-ISO-011", "RW-ISO-012", "RW-ISO-013"},
    "filter_injection": {"RW-ISO-014", "RW-ISO-015", "RW-ISO-017"},
    "stale_delete": {"RW-CAN-007"},
}


async def scan(target: MockTarget, tmp_path: Path, **kw: object) -> RunSummary:
    return await run_scan(target, journal_dir=tmp_path / "journals", **kw)  # type: ignore[arg-type]


def failed_ids(run: RunSummary) -> set[str]:
    return {t.id for t in run.tests if t.outcome is Outcome.FAILED}


async def test_secure_target_passes_everything_and_counts_match(tmp_path: Path) -> None:
    target = MockTarget()
    run = await scan(target, tmp_path)
    assert run.status is RunStatus.COMPLETED
    assert failed_ids(run) == set()
    assert run.tests_run == len(run.tests) == run.tests_passed + run.tests_failed + run.tests_skipped
    assert run.tests_run >= 20
    assert target.docs == {}  # every planted document removed


@pytest.mark.parametrize(("flaw", "expected"), sorted(FLAW_CATCHERS.items()))
async def test_each_flaw_is_caught_by_its_tests(tmp_path: Path, flaw: str, expected: set[str]) -> None:
    run = await scan(MockTarget(flaws=frozenset({flaw})), tmp_path)
    assert failed_ids(run) == expected
    for test in run.tests:
        if test.outcome is Outcome.FAILED:
            assert test.finding is not None
            assert test.finding.severity == test.severity
            assert test.finding.mitigation.startswith("mitigations.md#")
            assert test.finding.owasp and test.finding.atlas


async def test_parrot_generator_leaks_and_follows_injections(tmp_path: Path) -> None:
    run = await scan(MockTarget(flaws=frozenset({"parrot"})), tmp_path)
    failed = failed_ids(run)
    assert {"RW-CAN-002", "RW-INJ-001", "RW-INJ-007"} <= failed
    categories = {t.finding.category for t in run.tests if t.finding}
    assert {"canary_leak", "prompt_injection_followed", "exfiltration_link"} <= categories


async def test_refusals_are_attributed_to_the_guardrail(tmp_path: Path) -> None:
    run = await scan(MockTarget(), tmp_path)
    by_id = {t.id: t for t in run.tests}
    for test_id in ("RW-ISO-011", "RW-ISO-014"):
        assert by_id[test_id].caught_by == "tenant_filter"
        assert by_id[test_id].layer == "retrieval"
        assert by_id[test_id].layer_inferred is False
    # Nothing reported an event for a filtered vector probe: the layer is inferred.
    assert by_id["RW-ISO-001"].caught_by is None
    assert by_id["RW-ISO-001"].layer_inferred is True


async def test_missing_capability_skips_with_reason(tmp_path: Path) -> None:
    caps = frozenset(Capability) - {Capability.ANSWER}
    run = await scan(MockTarget(capabilities=caps), tmp_path)
    skipped = {t.id: t.reason for t in run.tests if t.outcome is Outcome.SKIPPED}
    assert "RW-INJ-001" in skipped
    assert skipped["RW-INJ-001"] == "target lacks capability: answer"
    assert "RW-ISO-001" not in skipped


async def test_missing_mode_skips_that_mode_only(tmp_path: Path) -> None:
    run = await scan(MockTarget(modes=("vector", "keyword")), tmp_path)
    reasons = {t.id: t.reason for t in run.tests if t.outcome is Outcome.SKIPPED}
    assert reasons["RW-ISO-003"] == "target has no retrieval mode 'hybrid'"
    assert "RW-ISO-001" not in reasons


async def test_gate_skip_skips_the_rest_of_the_suite(tmp_path: Path) -> None:
    # A single-tenant target whose retrieval finds nothing for the owner: the canary gate cannot pass.
    target = MockTarget(modes=("keyword",))
    target.tenants = ("acme",)

    async def never(query: object) -> object:
        from ragward.targets.base import Response

        return Response()

    target.retrieve = never  # type: ignore[assignment,method-assign]
    run = await scan(target, tmp_path)
    by_id = {t.id: t for t in run.tests}
    assert by_id["RW-CAN-001"].outcome is Outcome.SKIPPED
    assert by_id["RW-CAN-002"].outcome is Outcome.SKIPPED
    assert (by_id["RW-CAN-002"].reason or "").startswith("RW-CAN-001 precondition not met")
    assert by_id["RW-ISO-002"].reason == "needs two tenant identities"


async def test_reports_never_carry_a_full_canary(tmp_path: Path) -> None:
    run = await scan(MockTarget(flaws=ALL_FLAWS), tmp_path)
    text = run.model_dump_json()
    for test in run.tests:
        for value in json.dumps(test.evidence).split('"'):
            assert not (value.startswith("RWC") and len(value) == 16 and value.isalnum())
    assert "RWC" in text  # redacted prefixes are still there


async def test_a_crashing_test_still_tears_down(tmp_path: Path) -> None:
    target = MockTarget()
    original = target.answer

    async def boom(query: object) -> object:
        raise RuntimeError("generator crashed")

    target.answer = boom  # type: ignore[assignment,method-assign]
    run = await scan(target, tmp_path)
    crashed = [t for t in run.tests if (t.reason or "").startswith("test error: RuntimeError")]
    assert crashed
    assert target.docs == {}
    target.answer = original  # type: ignore[method-assign]


async def test_leftovers_of_a_killed_run_are_removed_first(tmp_path: Path) -> None:
    from ragward.targets.base import Document

    target = MockTarget()
    journal = Journal(tmp_path / "journals", target.key)
    for i in range(3):
        journal.add(f"rw-dead-{i}", "acme", "dead-run")
        await target.ingest(Document(f"rw-dead-{i}", "left behind", "acme"))
    assert await cleanup_target(target, tmp_path / "journals") == 3
    assert target.docs == {}
    assert journal.entries() == []
    # And a scan does it by itself.
    journal.add("rw-dead-9", "acme", "dead-run")
    await target.ingest(Document("rw-dead-9", "left behind", "acme"))
    await scan(target, tmp_path)
    assert target.docs == {}


async def test_undeletable_documents_fail_the_run(tmp_path: Path) -> None:
    target = MockTarget()

    async def refuse(doc_id: str, tenant: str) -> None:
        return None

    target.delete = refuse  # type: ignore[method-assign]
    run = await scan(target, tmp_path, only=["RW-ISO-001"])
    assert run.status is RunStatus.FAILED
    assert run.error is not None and "still present" in run.error
    assert Journal(tmp_path / "journals", target.key).entries()  # kept for the next attempt


async def test_unknown_profile_and_ids_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown test profile"):
        await scan(MockTarget(), tmp_path, test_profile="nope")
    with pytest.raises(ConfigError, match="unknown test id"):
        await scan(MockTarget(), tmp_path, only=["RW-XXX-999"])


async def test_quick_profile_is_a_small_subset(tmp_path: Path) -> None:
    run = await scan(MockTarget(), tmp_path, test_profile="quick")
    assert 4 <= run.tests_run <= 10


async def test_replay_spares_the_documents_of_a_scan_still_running(tmp_path: Path) -> None:
    from ragward.targets.base import Document

    target = MockTarget()
    journal = Journal(tmp_path / "journals", target.key)
    journal.add("rw-live-0", "acme", "live-run")
    journal.add("rw-dead-0", "acme", "dead-run")
    await target.ingest(Document("rw-live-0", "in use by a running scan", "acme"))
    await target.ingest(Document("rw-dead-0", "left behind", "acme"))
    with journal.live("live-run"):
        assert [e.doc_id for e in journal.orphaned()] == ["rw-dead-0"]
        assert await cleanup_target(target, tmp_path / "journals") == 1
        assert set(target.docs) == {"rw-live-0"}
    assert [e.doc_id for e in journal.orphaned()] == ["rw-live-0"]  # once it ends, it is an orphan


async def test_a_target_that_cannot_list_its_documents_fails_the_run_cleanly(tmp_path: Path) -> None:
    from ragward.errors import TargetError

    target = MockTarget()

    async def broken() -> set[str]:
        raise TargetError("listing endpoint returned 500")

    target.document_ids = broken  # type: ignore[method-assign]
    run = await scan(target, tmp_path, only=["RW-ISO-001"])
    assert run.status is RunStatus.FAILED
    assert run.error is not None
    assert "could not verify the removal" in run.error


async def test_extra_retrieval_modes_are_probed_and_named(tmp_path: Path) -> None:
    target = MockTarget(modes=("vector", "threshold"), flaws=frozenset({"hybrid_unfiltered"}))
    run = await scan(target, tmp_path, only=["RW-ISO-018"])
    assert run.tests[0].outcome is Outcome.PASSED  # the mock filters its extra mode
    run = await scan(MockTarget(modes=("vector",)), tmp_path, only=["RW-ISO-018"])
    assert run.tests[0].reason is not None
    assert run.tests[0].reason.startswith("the target declares no retrieval mode beyond")


async def test_a_target_that_fails_every_call_fails_the_run(tmp_path: Path) -> None:
    from ragward.errors import TargetError

    target = MockTarget()

    async def down(*args: object) -> object:
        raise TargetError("connection refused")

    target.ingest = down  # type: ignore[method-assign,assignment]
    run = await scan(target, tmp_path, test_profile="quick")
    assert run.status is RunStatus.FAILED
    assert run.error == "the target failed, no test could run: connection refused"
    assert run.tests_passed == run.tests_failed == 0


async def test_a_seeded_scan_reuses_its_run_id_so_planted_document_ids_repeat(tmp_path: Path) -> None:
    target = MockTarget()
    first = await scan(target, tmp_path, only=["RW-CAN-001"], seed=7)
    again = await scan(target, tmp_path, only=["RW-CAN-001"], seed=7)
    other = await scan(target, tmp_path, only=["RW-CAN-001"], seed=8)
    unseeded = [await scan(target, tmp_path, only=["RW-CAN-001"]) for _ in range(2)]
    assert first.id == again.id != other.id
    assert unseeded[0].id != unseeded[1].id
    assert [t.evidence for t in first.tests] == [t.evidence for t in again.tests]
    assert target.docs == {}  # nothing left behind by any of them


async def test_a_seeded_scan_refuses_to_start_while_the_same_one_runs(tmp_path: Path) -> None:
    target = MockTarget()
    first = await scan(target, tmp_path, only=["RW-CAN-001"], seed=7)
    journal = Journal(tmp_path / "journals", target.key)
    with journal.live(first.id), pytest.raises(ConfigError, match="seed 7 is already running"):
        await scan(target, tmp_path, only=["RW-CAN-001"], seed=7)


async def test_a_seeded_scan_cleans_up_what_a_killed_run_with_its_id_left(tmp_path: Path) -> None:
    from ragward.targets.base import Document

    target = MockTarget()
    first = await scan(target, tmp_path, only=["RW-CAN-001"], seed=7)
    journal = Journal(tmp_path / "journals", target.key)
    journal.add("rw-killed-0", "acme", first.id)  # as a SIGKILLed run with the same id leaves it
    await target.ingest(Document("rw-killed-0", "left behind", "acme"))
    again = await scan(target, tmp_path, only=["RW-CAN-001"], seed=7)
    assert again.error is None
    assert "rw-killed-0" not in target.docs
    assert journal.entries() == []


async def test_a_seeded_scan_refuses_while_the_same_run_is_live_under_another_key(tmp_path: Path) -> None:
    """Two configs for one service (different URLs, so different keys) would plant the same document ids."""
    first, second = MockTarget(), MockTarget()
    assert first.name == second.name and first.key != second.key
    run = await scan(first, tmp_path, only=["RW-CAN-001"], seed=7)
    with Journal(tmp_path / "journals", first.key).live(run.id), pytest.raises(ConfigError, match="already running"):
        await scan(second, tmp_path, only=["RW-CAN-001"], seed=7)
    assert (await scan(second, tmp_path, only=["RW-CAN-001"], seed=7)).id == run.id  # once it ended, it may run


async def test_an_interrupted_scan_leaves_no_live_lock_and_no_journal(tmp_path: Path) -> None:
    import asyncio

    target = MockTarget(latency_s=0.05)
    task = asyncio.create_task(scan(target, tmp_path, concurrency=4))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert target.docs == {}
    assert sorted(p.suffix for p in (tmp_path / "journals").iterdir() if p.suffix in (".jsonl", ".live")) == []
