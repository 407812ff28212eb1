"""Docs stay true: every mitigation anchor a test points at exists, every test is documented."""

from __future__ import annotations

import re
from pathlib import Path

from ragward.engine.spec import catalogue

ROOT = Path(__file__).resolve().parents[1]


def test_every_mitigation_anchor_exists() -> None:
    text = (ROOT / "docs" / "mitigations.md").read_text(encoding="utf-8")
    anchors = set(re.findall(r'<a id="([a-z0-9-]+)"></a>', text))
    used = {t.spec.mitigation.split("#", 1)[1] for t in catalogue()}
    assert used - anchors == set()


def test_every_test_has_its_metadata() -> None:
    ids = [t.spec.id for t in catalogue()]
    assert len(ids) == len(set(ids))
    assert 20 <= len([t for t in catalogue() if "default" in t.spec.profiles]) <= 40
    for test in catalogue():
        spec = test.spec
        assert re.fullmatch(r"RW-(CAN|ISO|INJ)-\d{3}", spec.id)
        assert spec.profiles <= {"default", "quick", "deep"}
        assert spec.owasp
        assert all(ref.startswith("OWASP LLM") for ref in spec.owasp)
        assert all(ref.startswith("AML.T") for ref in spec.atlas)
        assert spec.atlas
        assert spec.source
        assert spec.mitigation.startswith("mitigations.md#")
        assert spec.id[3:6] == {"canary": "CAN", "isolation": "ISO", "injection": "INJ"}[spec.suite.value]
