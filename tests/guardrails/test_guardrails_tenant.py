"""TenantFilter: deny by default, no filter syntax, no foreign chunks."""

from __future__ import annotations

import pytest

from ragward.guardrails import Decision, TenantFilter
from ragward.model import Action, Layer

FILTER = TenantFilter(["acme", "globex", "tenant-3.eu"])


class SneakyStr(str):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = str.__hash__


@pytest.mark.parametrize("tenant", ["acme", "globex", "tenant-3.eu"])
def test_known_tenants_resolve(tenant: str) -> None:
    decision = FILTER.resolve(tenant)
    assert decision.action is Action.ALLOW
    assert decision.text == tenant
    assert decision.events == []


@pytest.mark.parametrize(
    ("tenant", "reason"),
    [
        (None, "missing"),
        ("", "empty"),
        ("   ", "empty"),
        (42, "not a plain string"),
        ({"$ne": ""}, "not a plain string"),
        (["acme", "globex"], "not a plain string"),
        (SneakyStr("acme"), "not a plain string"),
        ("acme*", "filter syntax"),
        ("acme' OR '1'='1", "filter syntax"),
        ("%", "filter syntax"),
        ("acme\n", "filter syntax"),
        ("$ne", "filter syntax"),
        ("ACME", "unknown"),
        ("initech", "unknown"),
    ],
)
def test_everything_else_is_blocked(tenant: object, reason: str) -> None:
    decision = FILTER.resolve(tenant)
    assert decision.action is Action.BLOCK
    assert decision.text is None
    (event,) = decision.events
    assert event.guardrail == "tenant_filter"
    assert event.layer is Layer.RETRIEVAL
    assert event.action is Action.BLOCK
    assert reason in event.reason


def test_results_of_the_same_tenant_pass() -> None:
    decision = FILTER.check_results("acme", ["acme", "acme"])
    assert decision.action is Action.ALLOW
    assert decision.text == "acme"
    assert FILTER.check_results("acme", []).allowed


def test_foreign_or_untenanted_chunks_block() -> None:
    decision = FILTER.check_results("acme", ["acme", "globex", None, ""])
    assert decision.action is Action.BLOCK
    assert [e.reason for e in decision.events] == [
        "cross_tenant_result: chunk #1 belongs to another tenant",
        "cross_tenant_result: chunk #2 has no tenant",
        "cross_tenant_result: chunk #3 has no tenant",
    ]
    assert all("globex" not in e.reason for e in decision.events)


def test_check_results_with_an_unresolvable_tenant_blocks() -> None:
    decision = FILTER.check_results("initech", ["initech"])
    assert isinstance(decision, Decision)
    assert decision.action is Action.BLOCK


def test_bad_construction_and_arguments() -> None:
    with pytest.raises(TypeError):
        TenantFilter("acme")
    with pytest.raises(TypeError):
        TenantFilter([1])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="invalid tenant"):
        TenantFilter(["a b"])
    with pytest.raises(TypeError):
        FILTER.check_results("acme", "acme")
    assert TenantFilter([]).resolve("acme").action is Action.BLOCK
