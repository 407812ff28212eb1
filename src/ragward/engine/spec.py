"""Test metadata and the registry of security tests.

Each test is an async function taking a :class:`ragward.engine.context.TestContext`
and returning a :class:`ragward.engine.verdict.Verdict`, registered with its
:class:`TestSpec` by :func:`register`. Ids are stable (``RW-CAN-001`` …) and never
reused; profiles are sets of ids.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ragward.model import Category, Severity, Suite
from ragward.targets.base import Capability

if TYPE_CHECKING:
    from ragward.engine.context import TestContext
    from ragward.engine.verdict import Verdict

OWASP_LLM01 = "OWASP LLM01:2025 Prompt Injection"
OWASP_LLM02 = "OWASP LLM02:2025 Sensitive Information Disclosure"
OWASP_LLM04 = "OWASP LLM04:2025 Data and Model Poisoning"
OWASP_LLM05 = "OWASP LLM05:2025 Improper Output Handling"
OWASP_LLM08 = "OWASP LLM08:2025 Vector and Embedding Weaknesses"
ATLAS_PROMPT_INJECTION_INDIRECT = "AML.T0051.001 LLM Prompt Injection: Indirect"
ATLAS_DATA_LEAKAGE = "AML.T0057 LLM Data Leakage"
ATLAS_POISON_DATA = "AML.T0070 RAG Poisoning"
ATLAS_EXFIL_RENDERING = "AML.T0077 LLM Response Rendering"

TestFunc = Callable[["TestContext"], Awaitable["Verdict"]]


@dataclass(frozen=True)
class TestSpec:
    """What a test checks and what its failure means.

    ``mitigation`` is an anchor in ``docs/mitigations.md``; ``source`` names the
    paper, CVE or public report the attack comes from; ``requires`` the target
    capabilities the test needs; ``mode`` the retrieval mode it probes (the test
    is skipped when the target lacks it); ``gate`` marks the suite's precondition
    test, whose skip skips the rest of its suite.
    """

    __test__ = False

    id: str
    title: str
    suite: Suite
    severity: Severity
    category: Category
    owasp: tuple[str, ...]
    atlas: tuple[str, ...]
    mitigation: str
    source: str
    requires: frozenset[Capability]
    profiles: frozenset[str] = frozenset({"default"})
    mode: str | None = None
    gate: bool = False
    description: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class RegisteredTest:
    """A spec with the coroutine function that runs it."""

    spec: TestSpec
    func: TestFunc


_REGISTRY: dict[str, RegisteredTest] = {}


def register(spec: TestSpec) -> Callable[[TestFunc], TestFunc]:
    """Decorator registering ``func`` under ``spec.id``.

    Raises ``ValueError`` when the id is registered twice (ids are stable and unique).
    """

    def deco(func: TestFunc) -> TestFunc:
        if spec.id in _REGISTRY:
            raise ValueError(f"duplicate test id {spec.id}")
        _REGISTRY[spec.id] = RegisteredTest(spec, func)
        return func

    return deco


def catalogue() -> list[RegisteredTest]:
    """Every registered test, sorted by id (suites are imported on first call)."""
    from ragward.engine import suites  # noqa: F401  (registers the tests)

    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def test_profiles() -> list[str]:
    """Names of the test profiles (``default``, ``quick`` …), sorted."""
    return sorted({p for t in catalogue() for p in t.spec.profiles})
