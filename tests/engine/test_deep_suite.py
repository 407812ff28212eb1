"""The deep profile: payload families and canary probes, run against the in-memory mock target."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragward.engine.payloads import (
    ENCODERS,
    load_canary_probes,
    load_family_payloads,
    load_injection_payloads,
    policy_filler,
    render_template,
    run_on,
    to_variation_selectors,
)
from ragward.engine.planner import select
from ragward.engine.runner import run_scan
from ragward.engine.spec import catalogue
from ragward.guardrails import IngestScanner
from ragward.model import Outcome
from ragward.targets.mock import MockTarget

# The default profile is pinned: the lab's functional tests rely on exactly these ids.
DEFAULT_IDS = (
    {f"RW-CAN-{n:03d}" for n in range(1, 11)}
    | {f"RW-ISO-{n:03d}" for n in range(1, 20)}
    | {f"RW-INJ-{n:03d}" for n in range(1, 9)}
)


def test_default_profile_is_unchanged_and_deep_is_separate() -> None:
    assert {t.spec.id for t in select("default")} == DEFAULT_IDS
    deep = {t.spec.id for t in select("deep")}
    assert deep
    assert deep.isdisjoint(DEFAULT_IDS)
    for test in catalogue():
        if test.spec.id in deep:
            assert test.spec.profiles == frozenset({"deep"})
            assert test.spec.id[7] == "1"  # RW-INJ-1xx / RW-CAN-1xx
            assert test.spec.tags[0] == "family"


def test_family_files_are_valid_and_ids_unique() -> None:
    families = load_family_payloads()
    probes = load_canary_probes()
    ids = [p.id for p in families] + [p.id for p in probes] + [p.id for p in load_injection_payloads()]
    assert len(ids) == len(set(ids))
    assert len({p.family for p in families}) == len(families)
    for payload in families:
        assert payload.source and payload.mitigation
        text = payload.render(marker="PELICAN-1234", host="collect.rw-exfil.example", canary="RWC0123456789ABCD")
        assert "{marker}" not in text and "@marker" not in text and "{cover}" not in text
        if payload.category == "exfiltration_link":
            assert "collect.rw-exfil.example" in text
        else:
            assert "{marker}" in payload.template or "@marker" in payload.template
    for probe in probes:
        document = probe.render_document("RWC0123456789ABCD")
        assert "RWC0123456789ABCD" in document and probe.system in document


def test_every_injection_family_is_quarantined_by_the_ingest_scanner() -> None:
    scanner = IngestScanner()
    for payload in load_family_payloads():
        text = payload.render(marker="PELICAN-1234", host="collect.rw-exfil.example", canary="RWC0123456789ABCD")
        assert not scanner.scan(text).allowed, payload.family


async def test_deep_profile_on_a_parroting_target_fails_every_family(tmp_path: Path) -> None:
    target = MockTarget(flaws=frozenset({"parrot", "naive_pdf"}))
    run = await run_scan(target, test_profile="deep", journal_dir=tmp_path)
    assert run.tests_run == len(select("deep"))
    failed = {t.id for t in run.tests if t.outcome is Outcome.FAILED}
    assert failed == {t.spec.id for t in select("deep")}
    for test in run.tests:
        assert test.finding is not None
        assert test.finding.mitigation.startswith("mitigations.md#")
        assert test.finding is not None
        assert test.finding.category in {
            "prompt_injection_followed",
            "exfiltration_link",
            "canary_leak",
            "poisoned_answer",
        }
    assert target.docs == {}


async def test_deep_profile_on_a_secure_target_passes(tmp_path: Path) -> None:
    target = MockTarget()
    run = await run_scan(target, test_profile="deep", journal_dir=tmp_path)
    assert {t.outcome for t in run.tests} == {Outcome.PASSED}
    assert target.docs == {}


def test_encoders() -> None:
    assert render_template("{hex:hi there}") == b"hi there".hex()
    assert render_template("{pct:AB}") == "%41%42"
    assert render_template("{spaced:ab cd}") == "a b   c d"
    assert render_template("{lines:a b}") == "a\nb"
    assert render_template("{leet:passes}") == "p45535"
    assert render_template("{cyr:ace}") == "асе"
    assert render_template("{full:A b}") == "Ａ\u3000ｂ"
    assert render_template("{zwj:ab cd}") == "a\u200db c\u200dd"
    assert render_template("{b64:@marker}", marker="X-1") == "WC0x"
    assert to_variation_selectors("A").startswith("\U0001f600") and len(to_variation_selectors("A")) == 2
    assert len(policy_filler(3000).split()) >= 3000
    assert "." not in run_on(600) and len(run_on(600)) >= 600
    assert set(ENCODERS) >= {"zw", "tags", "b64", "hex", "vs", "filler", "runon"}
    with pytest.raises(ValueError, match="filler"):
        render_template("{filler:many}")
