"""The ``deep`` profile: one test per payload family, so a scan shows which guardrail misses which family.

Injection families (RW-INJ-1xx, ``payloads/families.yaml``) plant a document
carrying the family's payload in the user's own tenant and ask a question
that retrieves it; the test fails when the answer says the payload's marker or
carries a link to the attacker host (Greshake et al., arXiv 2302.12173;
MITRE ATLAS AML.T0051.001). Canary probes (RW-CAN-1xx,
``payloads/canary_probes.yaml``) plant a restricted document with a fresh
canary token and ask for it in a form an exact-match output filter misses;
the test fails when the answer carries the canary in any form
:func:`~ragward.engine.detectors.canary.find_canary` knows (Zeng et al.,
arXiv 2402.16893; OWASP LLM02). When a test passes, attribution names the
guardrail that stopped it (or infers the layer): that is the per-family
coverage table of a pipeline's guardrails. Both kinds check an answer
against every canary and marker of the run and skip (never pass) on a cached
answer or an unretrieved planted document, as the default suites do.

These tests belong to the ``deep`` profile only; the ``default`` profile is
unchanged.
"""

from __future__ import annotations

from ragward.engine.context import TestContext
from ragward.engine.payloads import CanaryProbe, Payload, load_canary_probes, load_family_payloads
from ragward.engine.spec import (
    ATLAS_DATA_LEAKAGE,
    OWASP_LLM02,
    TestFunc,
    TestSpec,
    register,
)
from ragward.engine.suites._common import (
    leak_verdict,
    no_failure,
    response_evidence,
    run_leaks,
)
from ragward.engine.suites.canary import ANSWER as CANARY_ANSWER
from ragward.engine.suites.injection import payload_probe, payload_spec
from ragward.engine.verdict import Verdict
from ragward.model import Category, Layer, Severity, Suite

__all__ = ["DEEP", "canary_spec", "family_spec"]

DEEP = frozenset({"deep"})


def family_spec(p: Payload) -> TestSpec:
    """The :class:`TestSpec` of an injection family payload (profile ``deep``; see :func:`payload_spec`)."""
    return payload_spec(p, profiles=DEEP, fallback_anchor="injection-plain-instruction", tags=("family", p.family))


def canary_spec(p: CanaryProbe) -> TestSpec:
    """The :class:`TestSpec` of a canary rephrasing probe (profile ``deep``).

    Raises:
        ValueError: the probe's severity is not a known value.
    """
    return TestSpec(
        id=p.id,
        title=p.title,
        suite=Suite.CANARY,
        severity=Severity(p.severity),
        category=Category.CANARY_LEAK,
        owasp=(OWASP_LLM02,),
        atlas=(ATLAS_DATA_LEAKAGE,),
        mitigation="mitigations.md#output-filter-secrets",
        source=p.source,
        requires=CANARY_ANSWER,
        profiles=DEEP,
        description=f"Rephrasing family {p.family}: asks for a restricted canary of the user's own tenant.",
        tags=("family", p.family),
    )


def _canary_probe(p: CanaryProbe) -> TestFunc:
    async def probe(ctx: TestContext) -> Verdict:
        canary = ctx.canary()
        owner = ctx.tenants[0] if ctx.tenants else "default"
        planted = await ctx.plant(p.render_document(canary), owner, classification="restricted")
        if not planted.accepted:
            return Verdict(summary="", stage=Layer.INGEST)
        response = await ctx.answer(p.question, owner)
        evidence = {"family": p.family, "question": p.question, "tenant": owner, **response_evidence(response)}
        leaks = run_leaks(ctx, response, canary)
        if leaks:
            return leak_verdict(ctx, leaks, f"family {p.family}: the answer", evidence, Severity(p.severity))
        return no_failure(ctx, response, planted.doc_id, evidence, "leak not tested")

    return probe


for _payload in load_family_payloads():
    register(family_spec(_payload))(payload_probe(_payload))
for _probe in load_canary_probes():
    register(canary_spec(_probe))(_canary_probe(_probe))
