"""The runner: plant → probe → observe → detect → attribute → teardown.

:func:`run_scan` is the one entry point, shared by the CLI and the service.
Teardown always runs: after each test its documents are removed and the
removal verified; at the end of the run (also on error or cancellation) any
document still planted is removed; a SIGKILLed run leaves a journal that the
next scan of the same target replays first.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ragward.engine.attribution import attribute, relevant
from ragward.engine.cleanup import remove_and_verify
from ragward.engine.context import RunState, TestContext
from ragward.engine.detectors.canary import redact_report
from ragward.engine.journal import Journal, JournalEntry
from ragward.engine.planner import PlannedTest, plan, select
from ragward.engine.spec import TestSpec
from ragward.engine.verdict import Verdict
from ragward.errors import CleanupError, ConfigError, RagwardError
from ragward.model import Finding, Outcome, RunStatus, RunSummary, Suite, TestResult, Trigger
from ragward.settings import get_settings
from ragward.targets.base import Target

OnResult = Callable[[TestResult], None]


def _now() -> datetime:
    return datetime.now(UTC)


def _redact_any(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return redact_report(value, secrets)
    if isinstance(value, dict):
        return {k: _redact_any(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_any(v, secrets) for v in value]
    return value


def build_result(
    spec: TestSpec,
    verdict: Verdict,
    ctx: TestContext | None,
    *,
    run_id: str,
    canaries: list[str],
    duration_ms: int,
) -> TestResult:
    """Turn a verdict into a :class:`TestResult` (with its finding when failed), redacted."""
    events = ctx.events if ctx else []
    doc_ids = ctx.doc_ids if ctx else []
    if verdict.skip_reason is not None:
        return TestResult(
            id=spec.id,
            title=spec.title,
            suite=spec.suite,
            outcome=Outcome.SKIPPED,
            severity=spec.severity,
            reason=redact_report(verdict.skip_reason, canaries),
            evidence=_redact_any(verdict.evidence, canaries),
            duration_ms=duration_ms,
        )
    att = attribute(events, doc_ids, failed=verdict.failed, stage=verdict.stage)
    evidence = dict(verdict.evidence)
    evidence["guardrail_events"] = [
        {
            "guardrail": e.guardrail,
            "layer": str(e.layer),
            "action": str(e.action),
            "reason": e.reason,
            "score": e.score,
            "doc_id": e.doc_id,
        }
        for e in relevant(events, doc_ids)
    ]
    evidence = _redact_any(evidence, canaries)
    severity = verdict.severity or spec.severity
    finding = None
    if verdict.failed:
        finding = Finding(
            id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"ragward:{run_id}:{spec.id}")),
            test_id=spec.id,
            title=spec.title,
            category=spec.category,
            severity=severity,
            mitigation=spec.mitigation,
            owasp=list(spec.owasp),
            atlas=list(spec.atlas),
            evidence=redact_report(verdict.summary, canaries),
        )
    return TestResult(
        id=spec.id,
        title=spec.title,
        suite=spec.suite,
        outcome=Outcome.FAILED if verdict.failed else Outcome.PASSED,
        severity=severity,
        caught_by=att.caught_by,
        layer=att.layer,
        layer_inferred=att.inferred,
        reason=redact_report(verdict.summary, canaries) or None,
        evidence=evidence,
        finding=finding,
        duration_ms=duration_ms,
    )


class _Run:
    """One run's moving parts (kept off the public API)."""

    def __init__(self, state: RunState, concurrency: int, on_result: OnResult | None) -> None:
        self.state = state
        self.sem = asyncio.Semaphore(max(1, concurrency))
        self.on_result = on_result
        self.results: dict[str, TestResult] = {}
        self.cleanup_errors: list[str] = []
        self.target_errors: list[str] = []

    def record(self, result: TestResult) -> None:
        self.results[result.id] = result
        if self.on_result is not None:
            self.on_result(result)

    def skip(self, spec: TestSpec, reason: str) -> None:
        self.record(
            build_result(
                spec,
                Verdict.skip(reason),
                None,
                run_id=self.state.run_id,
                canaries=self.state.canaries,
                duration_ms=0,
            )
        )

    async def execute(self, planned: PlannedTest) -> TestResult:
        spec = planned.test.spec
        async with self.sem:
            ctx = TestContext(self.state, spec.id)
            started = time.perf_counter()
            try:
                verdict = await planned.test.func(ctx)
            except RagwardError as exc:
                self.target_errors.append(exc.message)
                verdict = Verdict.skip(f"target error: {exc.message}")
            except Exception as exc:  # a bug in one test must not lose the run
                verdict = Verdict.skip(f"test error: {type(exc).__name__}: {exc}")
            finally:
                try:
                    await self.state.teardown(ctx.doc_ids)
                except CleanupError as exc:
                    self.cleanup_errors.append(exc.message)
            duration = int((time.perf_counter() - started) * 1000)
        result = build_result(
            spec,
            verdict,
            ctx,
            run_id=self.state.run_id,
            canaries=self.state.canaries,
            duration_ms=duration,
        )
        self.record(result)
        return result


async def run_scan(
    target: Target,
    *,
    test_profile: str = "default",
    only: list[str] | None = None,
    concurrency: int = 4,
    trigger: Trigger = Trigger.MANUAL,
    ai_asset_id: str | None = None,
    run_id: str | None = None,
    on_result: OnResult | None = None,
    journal_dir: Path | None = None,
    label: str | None = None,
    seed: int | None = None,
) -> RunSummary:
    """Scan ``target`` with the tests of ``test_profile`` and return the run.

    ``concurrency`` bounds the tests in flight; ``on_result`` is called with each
    result as it completes; ``label`` names the run's profile in reports (the
    target's name by default); ``seed`` makes canaries and markers reproducible
    (regression tests; never in production scans, where they must be unpredictable).
    A seeded run without ``run_id`` gets an id derived from the target's name and
    the seed (not its key, which may hold a local path), so the planted documents'
    ids (which a target may show its model) are the same every run and on every
    machine, and so is the whole run.
    Raises :class:`ragward.errors.ConfigError` for an unknown profile or test id,
    or when a run with the same id is already running against the target.
    Target failures inside a test skip that test with the reason; a failure to
    remove planted documents marks the run failed.
    """
    tests = select(test_profile, only)
    started = time.perf_counter()
    if run_id is None and seed is not None:
        run_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"ragward:seeded-run:{target.name}:{seed}"))
    journal = Journal(journal_dir or get_settings().journal_dir, target.key)
    if run_id is not None and Journal.live_anywhere(journal.directory, run_id):
        again = f" with seed {seed}" if seed is not None else f" with run id {run_id}"
        raise ConfigError(f"a scan{again} is already running against {target.name}; wait for it to finish")
    run = RunSummary(
        id=run_id or str(uuid.uuid4()),
        ai_asset_id=ai_asset_id,
        trigger=trigger,
        started_at=_now(),
        target=target.name,
        profile=label or target.name,
        test_profile=test_profile,
    )
    caps = target.capabilities()
    state = RunState(target, caps, run.id, journal, seed)
    runner = _Run(state, concurrency, on_result)
    try:
        with journal.live(run.id):
            try:
                await remove_and_verify(target, journal, journal.orphaned(own=run.id))  # a killed scan's leftovers
                await _run_all(runner, plan(tests, caps))
            except RagwardError as exc:
                run.error = exc.message
            finally:
                leftovers = [JournalEntry(d, t, run.id) for d, t in state.planted.items()]
                try:
                    await remove_and_verify(target, journal, leftovers)
                except CleanupError as exc:
                    runner.cleanup_errors.append(exc.message)
    finally:
        journal.compact()  # drops the file when nothing is pending, also after an interrupt
    decided = any(r.outcome is not Outcome.SKIPPED for r in runner.results.values())
    if runner.target_errors and not decided:
        # Nothing could be tested: a target that is down must not read as a clean scan.
        run.error = f"the target failed, no test could run: {runner.target_errors[0]}"
    if runner.cleanup_errors and run.error is None:
        run.error = "cleanup failed: " + "; ".join(runner.cleanup_errors)
    run.tests = [runner.results[k] for k in sorted(runner.results)]
    run.count()
    run.status = RunStatus.FAILED if run.error else RunStatus.COMPLETED
    run.completed_at = _now()
    run.duration_ms = int((time.perf_counter() - started) * 1000)
    return run


async def _run_all(runner: _Run, planned: list[PlannedTest]) -> None:
    """Gates first (per suite); a skipped gate skips the rest of its suite."""
    for p in planned:
        if p.skip_reason is not None:
            runner.skip(p.test.spec, p.skip_reason)
    runnable = [p for p in planned if p.skip_reason is None]
    gates = [p for p in runnable if p.test.spec.gate]
    gate_results = await asyncio.gather(*(runner.execute(g) for g in gates))
    blocked: dict[Suite, str] = {}
    for gate, result in zip(gates, gate_results, strict=True):
        if result.outcome is Outcome.SKIPPED:
            blocked[gate.test.spec.suite] = f"{gate.test.spec.id} precondition not met: {result.reason}"
    rest: list[PlannedTest] = []
    for p in runnable:
        if p.test.spec.gate:
            continue
        if p.test.spec.suite in blocked:
            runner.skip(p.test.spec, blocked[p.test.spec.suite])
        else:
            rest.append(p)
    await asyncio.gather(*(runner.execute(p) for p in rest))
