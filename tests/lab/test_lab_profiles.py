"""Lab profiles."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ragward.errors import ConfigError
from ragward.lab.profiles import FLAWS, HARDENED, PROFILES, VULNERABLE, LabProfile, get_profile


def test_vulnerable_has_every_flaw_and_no_guard() -> None:
    # output_filter_after_stream changes how the output filter runs: moot without one (no_output_filter).
    assert VULNERABLE.flaws == tuple(f for f in FLAWS if f != "output_filter_after_stream")
    assert VULNERABLE.no_output_filter
    assert not VULNERABLE.tenant_filter
    assert VULNERABLE.response_cache


def test_hardened_has_no_flaw_and_every_guard() -> None:
    assert HARDENED.flaws == ()
    assert HARDENED.tenant_filter
    assert HARDENED.response_cache
    assert HARDENED.cache_threshold == pytest.approx(0.92)


def test_custom_profile_puts_one_flaw_back() -> None:
    custom = replace(HARDENED, name="one-flaw", shared_response_cache=True)
    assert custom.flaws == ("shared_response_cache",)
    assert get_profile(custom) is custom


def test_get_profile_by_name() -> None:
    assert get_profile("vulnerable") is VULNERABLE
    assert set(PROFILES) == {"vulnerable", "hardened"}
    with pytest.raises(ConfigError, match="expected one of: hardened, vulnerable"):
        get_profile("strict")


@pytest.mark.parametrize("name", ["", "Bad", "trailing-", "x" * 41, "white space"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="invalid lab profile name"):
        LabProfile(name=name)


@pytest.mark.parametrize("threshold", [0.0, 1.01])
def test_bad_thresholds_are_refused(threshold: float) -> None:
    with pytest.raises(ConfigError, match="cache_threshold"):
        LabProfile(name="x", cache_threshold=threshold)


def test_non_bool_flags_are_refused() -> None:
    with pytest.raises(ConfigError, match="must be a bool"):
        LabProfile(name="x", no_output_filter="yes")  # type: ignore[arg-type]
