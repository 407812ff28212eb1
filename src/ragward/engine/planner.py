"""The planner: from a test profile and a target's capabilities to test cases."""

from __future__ import annotations

from dataclasses import dataclass

from ragward.engine.spec import RegisteredTest, catalogue, test_profiles
from ragward.errors import ConfigError
from ragward.targets.base import Capabilities


@dataclass(frozen=True)
class PlannedTest:
    """A test to run, or to skip with ``skip_reason``."""

    test: RegisteredTest
    skip_reason: str | None = None


def select(profile: str, only: list[str] | None = None) -> list[RegisteredTest]:
    """The tests of ``profile`` (``all`` for every test), optionally limited to ``only`` ids.

    Raises :class:`ConfigError` for an unknown profile or test id.
    """
    tests = catalogue()
    if profile != "all":
        known = test_profiles()
        if profile not in known:
            raise ConfigError(f"unknown test profile {profile!r} (choose from: {', '.join([*known, 'all'])})")
        tests = [t for t in tests if profile in t.spec.profiles]
    if only:
        ids = {t.spec.id for t in catalogue()}
        unknown = sorted(set(only) - ids)
        if unknown:
            raise ConfigError(f"unknown test id(s): {', '.join(unknown)}")
        tests = [t for t in tests if t.spec.id in set(only)]
    return tests


def plan(tests: list[RegisteredTest], caps: Capabilities) -> list[PlannedTest]:
    """Mark each test runnable or skipped, with the missing capability as the reason."""
    planned: list[PlannedTest] = []
    for test in tests:
        spec = test.spec
        missing = caps.missing(spec.requires)
        reason: str | None = None
        if missing:
            reason = "target lacks capability: " + ", ".join(str(m) for m in missing)
        elif spec.mode is not None and spec.mode not in caps.retrieval_modes:
            reason = f"target has no retrieval mode {spec.mode!r}"
        planned.append(PlannedTest(test, reason))
    return planned
