"""Guardrail evaluation: precision, recall, F1 per family and per guardrail, and latency per kilobyte.

Runs each guardrail on the labelled development corpus in
``bench/data/guardrails_corpus.jsonl`` (written by ``ragward.guardrails.eval.corpus``
with a fixed seed; the rules were tuned on it, so its numbers are optimistic), on
the hand-written held-out set ``bench/data/guardrails_heldout.jsonl`` (other
wordings, never used for tuning) and, when the ``bastioncorpus`` package is
installed, on its public labelled prompt-injection rows (MIT licence, 181 rows
in five languages) through the ingest scanner.

A sample counts as *detected* when the guardrail's action is anything but ALLOW
(the ingest scanner's FLAG counts: it is an alarm a reviewer must look at). A
family's precision is computed against the benign families that contrast with
it (``CONTRASTS``): base64 attacks against benign base64, hidden HTML against
ordinary and light-on-dark HTML, and so on; a guardrail's row counts all of its
samples. Latency is the median over samples of milliseconds per kilobyte of
input, and the total time over total kilobytes.

Usage: ``python -m bench bench_guardrails`` (``make bench``); set
``RAGWARD_BENCH_MARKDOWN=path`` to also write the tables as Markdown.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ragward.guardrails import ContextSanitiser, IngestScanner, OutputFilter
from ragward.guardrails.eval.corpus import BENIGN, MALICIOUS, Sample, read_corpus
from ragward.model import Action

CORPUS = Path(__file__).parent / "data" / "guardrails_corpus.jsonl"
#: Hand-written samples in other wordings, kept out of development: never used to tune a rule.
HELDOUT = Path(__file__).parent / "data" / "guardrails_heldout.jsonl"
ALLOWED_HOSTS = ("docs.example.com",)

#: Malicious family -> the benign families its precision is measured against.
CONTRASTS: dict[str, tuple[str, ...]] = {
    "plain_override": ("policy_text", "trigger_words", "ai_product_text"),
    "paraphrased_instruction": ("policy_text", "trigger_words", "ai_product_text"),
    "obfuscation": ("policy_text", "trigger_words", "benign_encoded"),
    "exfiltration_instruction": ("policy_text", "trigger_words", "markdown_doc"),
    "long_document": ("long_document",),
    "html_hidden": ("html_page", "light_on_dark_html"),
    "markdown_hidden": ("markdown_doc",),
    "invisible_unicode": ("benign_unicode", "non_english"),
    "encoded_instruction": ("benign_encoded",),
    "multilingual": ("non_english",),
    "pdf_hidden_instruction": ("pdf_clean",),
    "pdf_hidden_fact": ("pdf_clean",),
    "chunk_boundary": ("chunk_boundary",),
    "canary_leak": ("benign_answer",),
    "exfiltration_link": ("benign_answer",),
}


@dataclass
class Tally:
    """Counts of one slice: true/false positives and negatives, latency samples."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    ms_per_kb: list[float] = field(default_factory=list)
    seconds: float = 0.0
    kilobytes: float = 0.0

    def add(self, label: str, detected: bool) -> None:
        if label == MALICIOUS:
            self.tp += detected
            self.fn += not detected
        else:
            self.fp += detected
            self.tn += not detected

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _run(sample: Sample) -> Action:
    if sample.guardrail == "ingest_scanner":
        data: str | bytes = sample.data if sample.data_b64 else sample.text
        return INGEST.scan(data, content_type=sample.content_type).action
    if sample.guardrail == "context_sanitiser":
        return CONTEXT.assemble(list(sample.chunks)).action
    return OUTPUT.check(sample.text, secrets=list(sample.secrets)).action


def _detected(sample: Sample, action: Action) -> bool:
    if sample.guardrail == "context_sanitiser":
        # Sanitising markup is REDACT too; only dropped chunks (context_injection) count.
        return action is not Action.ALLOW and _context_injection(sample)
    return action is not Action.ALLOW


def _context_injection(sample: Sample) -> bool:
    decision = CONTEXT.assemble(list(sample.chunks))
    return any(e.reason.startswith("context_injection:") for e in decision.events)


INGEST = IngestScanner(allowed_hosts=ALLOWED_HOSTS)
CONTEXT = ContextSanitiser()
OUTPUT = OutputFilter(allowed_hosts=ALLOWED_HOSTS)


def evaluate(samples: list[Sample]) -> tuple[dict[str, Tally], dict[tuple[str, str], Tally], list[Sample]]:
    """Per-guardrail tallies, per-(guardrail, family, label) tallies, and the misclassified samples."""
    by_guardrail: dict[str, Tally] = defaultdict(Tally)
    by_family: dict[tuple[str, str], Tally] = defaultdict(Tally)
    wrong: list[Sample] = []
    for sample in samples:
        started = time.perf_counter()
        action = _run(sample)
        elapsed = time.perf_counter() - started
        detected = _detected(sample, action)
        kb = max(sample.size, 1) / 1024
        for tally in (by_guardrail[sample.guardrail], by_family[(sample.guardrail, f"{sample.family}/{sample.label}")]):
            tally.add(sample.label, detected)
            tally.ms_per_kb.append(elapsed * 1000 / kb)
            tally.seconds += elapsed
            tally.kilobytes += kb
        if detected != (sample.label == MALICIOUS):
            wrong.append(sample)
    return by_guardrail, by_family, wrong


def family_rows(by_family: dict[tuple[str, str], Tally]) -> list[tuple[str, str, Tally]]:
    """One row per malicious family: its detections against its contrasting benign families."""
    rows: list[tuple[str, str, Tally]] = []
    for (guardrail, key), mal in sorted(by_family.items()):
        family, label = key.rsplit("/", 1)
        if label != MALICIOUS:
            continue
        tally = Tally(tp=mal.tp, fn=mal.fn)
        for benign in CONTRASTS.get(family, ()):
            other = by_family.get((guardrail, f"{benign}/{BENIGN}"))
            if other is not None:
                tally.fp += other.fp
                tally.tn += other.tn
        rows.append((guardrail, family, tally))
    return rows


def benign_rows(by_family: dict[tuple[str, str], Tally]) -> list[tuple[str, str, Tally]]:
    """One row per benign family: its false alarms."""
    return [
        (guardrail, key.rsplit("/", 1)[0], tally)
        for (guardrail, key), tally in sorted(by_family.items())
        if key.endswith("/" + BENIGN)
    ]


def public_set() -> tuple[str, list[Sample]] | None:
    """The bastioncorpus rows as ingest samples, or None when the package is missing."""
    try:
        import bastioncorpus  # type: ignore[import-not-found]
    except ImportError:
        return None
    rows = bastioncorpus.load_corpus()
    version = str(getattr(bastioncorpus, "__version__", "?"))
    samples = [
        Sample(
            f"bastion-{row.id}",
            "ingest_scanner",
            f"bastion:{row.category}",
            MALICIOUS if row.is_malicious else BENIGN,
            text=row.render("RWC0123456789ABCD"),
            lang=row.lang,
            source=f"bastioncorpus {version}",
        )
        for row in rows
    ]
    return version, samples


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def _pct(value: float) -> str:
    return f"{value * 100:.1f}"


def report(samples: list[Sample], timer: Callable[[], float] = time.perf_counter) -> list[str]:
    """The evaluation as Markdown lines."""
    started = timer()
    by_guardrail, by_family, wrong = evaluate(samples)
    lines = [
        f"Corpus: {len(samples)} samples ({sum(s.label == MALICIOUS for s in samples)} malicious, "
        f"{sum(s.label == BENIGN for s in samples)} benign), `bench/data/guardrails_corpus.jsonl`.",
        "",
        "Per guardrail (detected = any action but ALLOW; latency = median ms per KB of input, and total):",
        "",
    ]
    lines += _table(
        ["guardrail", "samples", "precision %", "recall %", "F1 %", "ms/KB median", "ms/KB overall"],
        [
            [
                name,
                str(t.tp + t.fp + t.fn + t.tn),
                _pct(t.precision),
                _pct(t.recall),
                _pct(t.f1),
                f"{statistics.median(t.ms_per_kb):.2f}",
                f"{t.seconds * 1000 / t.kilobytes:.2f}",
            ]
            for name, t in sorted(by_guardrail.items())
        ],
    )
    lines += ["", "Per attack family (precision against the contrasting benign families):", ""]
    lines += _table(
        ["guardrail", "family", "malicious", "recall %", "precision %", "F1 %"],
        [[g, f, str(t.tp + t.fn), _pct(t.recall), _pct(t.precision), _pct(t.f1)] for g, f, t in family_rows(by_family)],
    )
    lines += ["", "Benign families (false alarms):", ""]
    lines += _table(
        ["guardrail", "family", "benign", "false alarms", "false-alarm rate %"],
        [[g, f, str(t.fp + t.tn), str(t.fp), _pct(t.fp / max(1, t.fp + t.tn))] for g, f, t in benign_rows(by_family)],
    )
    held = read_corpus(HELDOUT)
    held_guardrail, _, held_wrong = evaluate(held)
    t = held_guardrail["ingest_scanner"]
    lines += [
        "",
        f"Held-out set: {len(held)} hand-written samples ({sum(s.label == MALICIOUS for s in held)} malicious), "
        "never used for tuning, through the ingest scanner: "
        f"precision {_pct(t.precision)} %, recall {_pct(t.recall)} %, F1 {_pct(t.f1)} %; missed or wrongly flagged:",
        "",
    ]
    for sample in held_wrong:
        lines.append(f"- {sample.family}/{sample.label}: {sample.text[:100].replace(chr(10), ' ')!r}")
    public = public_set()
    if public is None:
        lines += ["", "Public set: `bastioncorpus` is not installed (pip install bastioncorpus==0.6.0); skipped."]
    else:
        version, rows = public
        pub_guardrail, pub_family, _ = evaluate(rows)
        t = pub_guardrail["ingest_scanner"]
        lines += [
            "",
            f"Public set: bastioncorpus {version} ({len(rows)} rows, MIT), through the ingest scanner: precision "
            f"{_pct(t.precision)} %, recall {_pct(t.recall)} %, F1 {_pct(t.f1)} %.",
            "",
        ]
        public_rows = []
        for (_, key), tl in sorted(pub_family.items()):
            category, label = key.rsplit("/", 1)
            public_rows.append(
                [category.removeprefix("bastion:"), label, str(tl.tp + tl.fn + tl.fp + tl.tn), str(tl.tp + tl.fp)]
            )
        lines += _table(["category", "label", "rows", "detected"], public_rows)
    lines += ["", f"Misclassified corpus samples: {len(wrong)}; evaluation took {timer() - started:.1f} s."]
    for sample in wrong[:15]:
        preview = (sample.text or (sample.chunks[0][1] if sample.chunks else "<pdf>"))[:90].replace("\n", " ")
        lines.append(f"- {sample.id} {sample.guardrail} {sample.family}/{sample.label}: {preview!r}")
    return lines


def main() -> None:
    """Print the evaluation tables (and write them as Markdown when RAGWARD_BENCH_MARKDOWN is set)."""
    samples = read_corpus(CORPUS)
    lines = report(samples)
    print("\n".join(lines))
    target = os.environ.get("RAGWARD_BENCH_MARKDOWN")
    if target:
        Path(target).write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
