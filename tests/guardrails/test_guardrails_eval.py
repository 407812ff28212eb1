"""The evaluation corpus: deterministic, committed, large and varied enough; the benchmark runs on it."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from ragward.guardrails.eval.corpus import SEED, Sample, build_corpus, read_corpus, write_corpus

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "bench" / "data" / "guardrails_corpus.jsonl"
HELDOUT = ROOT / "bench" / "data" / "guardrails_heldout.jsonl"


@pytest.fixture(scope="module")
def corpus() -> list[Sample]:
    return build_corpus()


def test_the_committed_corpus_is_the_generator_output(corpus: list[Sample]) -> None:
    lines = COMMITTED.read_text(encoding="utf-8").splitlines()
    assert lines == [s.to_json() for s in corpus], "regenerate: python -m ragward.guardrails.eval.corpus " + str(
        COMMITTED
    )
    assert COMMITTED.stat().st_size < 4 * 1024 * 1024


def test_generation_is_deterministic_and_seeded(corpus: list[Sample]) -> None:
    assert build_corpus(SEED)[:50] == corpus[:50]
    assert build_corpus(SEED + 1)[:50] != corpus[:50]
    with pytest.raises(TypeError):
        build_corpus("4")  # type: ignore[arg-type]


def test_corpus_size_and_coverage(corpus: list[Sample]) -> None:
    labels = Counter(s.label for s in corpus)
    assert labels["malicious"] >= 300 and labels["benign"] >= 1000
    families = {(s.guardrail, s.family, s.label) for s in corpus}
    for guardrail in ("ingest_scanner", "context_sanitiser", "output_filter"):
        assert {label for g, _, label in families if g == guardrail} == {"malicious", "benign"}
    malicious_families = {f for _, f, label in families if label == "malicious"}
    assert len(malicious_families) >= 12
    benign = [s for s in corpus if s.label == "benign"]
    assert len({s.lang for s in benign}) >= 8  # non-English text
    assert any(s.family == "benign_encoded" for s in benign)
    assert any(s.family == "light_on_dark_html" for s in benign)
    assert any("Show instructions for resetting MFA" in s.text for s in benign)
    assert any(s.content_type == "application/pdf" and s.data.startswith(b"%PDF-") for s in benign)


def test_samples_round_trip(tmp_path: Path, corpus: list[Sample]) -> None:
    path = tmp_path / "c.jsonl"
    picked = corpus[::97]
    assert write_corpus(path, picked) == len(picked)
    assert read_corpus(path) == picked
    assert all(s.size > 0 for s in picked)
    with pytest.raises(ValueError, match="not a corpus sample"):
        Sample.from_json('{"id": "x"}')


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_guardrails", ROOT / "bench" / "bench_guardrails.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_benchmark_tallies_add_up(corpus: list[Sample]) -> None:
    bench = _bench()
    subset = corpus[::40]
    by_guardrail, by_family, wrong = bench.evaluate(subset)
    assert sum(t.tp + t.fp + t.fn + t.tn for t in by_guardrail.values()) == len(subset)
    assert sum(t.tp + t.fp + t.fn + t.tn for t in by_family.values()) == len(subset)
    assert len(wrong) == sum(t.fp + t.fn for t in by_guardrail.values())
    for _, family, tally in bench.family_rows(by_family):
        assert 0.0 <= tally.precision <= 1.0 and 0.0 <= tally.recall <= 1.0
        assert family in bench.CONTRASTS
    held = read_corpus(HELDOUT)
    assert sum(s.label == "malicious" for s in held) >= 20
    lines = bench.report(subset)
    assert any(line.startswith("| ingest_scanner |") for line in lines)
    assert any(line.startswith("Held-out set:") for line in lines)
