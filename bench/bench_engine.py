"""Engine throughput and overhead against the in-memory mock target.

1. Tests per second against a zero-latency mock (the engine's own cost: planning,
   detection, attribution, journaling, teardown verification).
2. Overhead against a mock with 20 ms latency per call at concurrency 16, in
   percent above the ideal makespan: each test's sequential target calls × 20 ms,
   list-scheduled onto 16 workers in the engine's order (gates first).
"""

from __future__ import annotations

import asyncio
import heapq
import statistics
import tempfile
import time
from pathlib import Path

from ragward.engine.runner import run_scan
from ragward.model import TestResult
from ragward.targets.mock import MockTarget

LATENCY_S = 0.020
CONCURRENCY = 16
REPEATS = 5


async def _calls_per_test(journal: Path) -> tuple[list[int], list[int]]:
    """Sequential target calls of each test (gates, then the rest), measured at concurrency 1."""
    target = MockTarget()
    seen: list[tuple[str, int]] = []
    last = 0

    def on_result(result: TestResult) -> None:
        nonlocal last
        seen.append((result.id, target.calls - last))
        last = target.calls

    run = await run_scan(target, concurrency=1, on_result=on_result, journal_dir=journal)
    gates = {t.id for t in run.tests if t.id == "RW-CAN-001"}
    return [c for i, c in seen if i in gates], [c for i, c in seen if i not in gates]


def _makespan(durations: list[float], workers: int) -> float:
    ends = [0.0] * workers
    heapq.heapify(ends)
    finish = 0.0
    for d in durations:
        start = heapq.heappop(ends)
        heapq.heappush(ends, start + d)
        finish = max(finish, start + d)
    return finish


async def _timed(target: MockTarget, concurrency: int, journal: Path) -> tuple[float, int]:
    started = time.perf_counter()
    run = await run_scan(target, concurrency=concurrency, journal_dir=journal)
    return time.perf_counter() - started, run.tests_run


async def bench() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        journal = Path(tmp)
        rates = []
        for _ in range(REPEATS):
            seconds, tests = await _timed(MockTarget(), CONCURRENCY, journal)
            rates.append(tests / seconds)
        print(
            f"zero-latency mock: {statistics.median(rates):,.0f} tests/s "
            f"(median of {REPEATS}, concurrency {CONCURRENCY})"
        )

        gate_calls, rest_calls = await _calls_per_test(journal)
        ideal = _makespan([c * LATENCY_S for c in gate_calls], CONCURRENCY) + _makespan(
            [c * LATENCY_S for c in rest_calls], CONCURRENCY
        )
        walls = []
        for _ in range(REPEATS):
            seconds, _n = await _timed(MockTarget(latency_s=LATENCY_S), CONCURRENCY, journal)
            walls.append(seconds)
        wall = statistics.median(walls)
        overhead = (wall - ideal) / ideal * 100
        print(
            f"20 ms mock, concurrency {CONCURRENCY}: wall {wall * 1000:.0f} ms, ideal {ideal * 1000:.0f} ms "
            f"({sum(gate_calls) + sum(rest_calls)} calls), overhead {overhead:.1f} %"
        )


def main() -> None:
    """Print the engine's throughput and overhead."""
    asyncio.run(bench())
