"""docs/guardrails.md stays true: every Python example in it runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "guardrails.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def test_the_doc_has_examples_for_every_guardrail() -> None:
    code = "\n".join(BLOCKS)
    for name in ("IngestScanner", "TenantFilter", "ContextSanitiser", "OutputFilter"):
        assert f"{name}(" in code


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_example_runs(index: int, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(BLOCKS[index], f"{DOC.name}[{index}]", "exec"), {"__name__": "guardrails_doc"})
    capsys.readouterr()
