"""docs/targets.md stays true: it shows every example file verbatim, every kind, and every example is scanned."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ragward.targets.config import parse_target_config

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "targets.md").read_text(encoding="utf-8")
EXAMPLES = sorted((ROOT / "examples" / "targets").glob("*.yaml"))
KINDS = ("lab", "http", "openai", "chroma", "qdrant", "lancedb", "pgvector", "langchain", "llamaindex")


def test_there_are_examples_for_every_kind() -> None:
    kinds = {yaml.safe_load(p.read_text())["kind"] for p in EXAMPLES}
    assert kinds == set(KINDS)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_is_valid_shown_verbatim_and_scanned_by_a_test(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    config = parse_target_config(yaml.safe_load(text))
    assert config.label
    assert text.rstrip("\n") in DOC
    tests = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("test_*.py"))
    assert f'"{path.name}"' in tests or f"/ {path.name!r}" in tests or f'/ "{path.name}"' in tests, path.name


def test_every_kind_has_a_section() -> None:
    headings = re.findall(r"^#{2,3} .*$", DOC, flags=re.M)
    for kind in KINDS:
        assert any(f"`{kind}`" in h for h in headings), kind
