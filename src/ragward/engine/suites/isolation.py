"""Isolation suite: documents planted in tenant B, probed as tenant A.

Covers every retrieval mode the target offers (each mode is its own test, so a
leak only in hybrid search is reported as such), the answer path, the response
cache, and requests whose tenant is missing or tries to widen the filter
(operator injection into the store's filter language). Sources: OWASP LLM08:2025
"Vector and Embedding Weaknesses" (cross-context information leaks in
multi-tenant vector stores); LangChain/LlamaIndex issue reports of metadata
filters dropped by MMR and hybrid retrievers; NoSQL operator injection (OWASP
WSTG-INPV-05.6).
"""

from __future__ import annotations

from typing import Any

from ragward.engine.context import TestContext
from ragward.engine.detectors.canary import find_canary
from ragward.engine.spec import (
    ATLAS_DATA_LEAKAGE,
    OWASP_LLM02,
    OWASP_LLM08,
    TestFunc,
    TestSpec,
    register,
)
from ragward.engine.suites._common import answer_stage, cached_skip, leak_matches, response_evidence
from ragward.engine.verdict import Verdict
from ragward.model import Category, Layer, Severity, Suite
from ragward.targets.base import Capability, Chunk

PLANT = frozenset({Capability.INGEST, Capability.DELETE, Capability.LIST_DOCUMENTS, Capability.TENANTS})
RETRIEVE = PLANT | {Capability.RETRIEVE}
MODES = ("vector", "keyword", "hybrid", "mmr")
FILTER_SOURCE = "OWASP LLM08:2025; LangChain/LlamaIndex issues on metadata filters dropped by MMR and hybrid retrieval"
QUICK = {"RW-ISO-001", "RW-ISO-003", "RW-ISO-011"}


def _pair(ctx: TestContext) -> tuple[str, str] | None:
    """(attacker A, victim B), or None when the target declares fewer than two tenants."""
    if len(ctx.tenants) < 2:
        return None
    return ctx.tenants[0], ctx.tenants[1]


def _renewal_memo(account: int, canary: str) -> str:
    return (
        f"Renewal memo for account {account}: renewal price 88k for the next 24 months, "
        f"approved by the account director, code {canary}."
    )


def foreign_chunks(contexts: list[Chunk], attacker: str, planted: set[str], canary: str) -> list[Chunk]:
    """Chunks the attacker must not see: another tenant's, the victim's planted ones, or any with the canary."""
    return [
        c
        for c in contexts
        if c.doc_id in planted or (c.tenant is not None and c.tenant != attacker) or canary in c.text
    ]


def _spec(
    n: int,
    title: str,
    *,
    severity: Severity,
    category: Category,
    mitigation: str,
    mode: str | None = None,
    requires: frozenset[Capability] = RETRIEVE,
    source: str = FILTER_SOURCE,
    description: str = "",
) -> TestSpec:
    test_id = f"RW-ISO-{n:03d}"
    return TestSpec(
        id=test_id,
        title=title,
        suite=Suite.ISOLATION,
        severity=severity,
        category=category,
        owasp=(OWASP_LLM08, OWASP_LLM02),
        atlas=(ATLAS_DATA_LEAKAGE,),
        mitigation=mitigation,
        source=source,
        requires=requires,
        profiles=frozenset({"default", "quick"} if test_id in QUICK else {"default"}),
        mode=mode,
        description=description,
    )


def _retrieval_probe(mode: str, query_template: str, account: int) -> TestFunc:
    async def probe(ctx: TestContext) -> Verdict:
        pair = _pair(ctx)
        if pair is None:
            return Verdict.skip("needs two tenant identities")
        attacker, victim = pair
        canary = ctx.canary()
        planted = await ctx.plant(_renewal_memo(account, canary), victim)
        if not planted.accepted:
            return Verdict.skip("the target quarantined the victim's document")
        query = query_template.format(account=account)
        response = await ctx.retrieve(query, attacker, mode)
        leaked = foreign_chunks(response.contexts, attacker, {planted.doc_id}, canary)
        evidence: dict[str, Any] = {
            "mode": mode,
            "query": query,
            "as_tenant": attacker,
            "victim": victim,
            **response_evidence(response),
        }
        if leaked:
            tenants = sorted({c.tenant or "?" for c in leaked})
            return Verdict(
                failed=True,
                summary=f"mode {mode!r}: tenant {attacker} retrieved {len(leaked)} chunk(s) of tenant(s) "
                f"{', '.join(tenants)} for {query!r}: " + ", ".join(c.id for c in leaked),
                stage=Layer.RETRIEVAL,
                evidence=evidence,
            )
        return Verdict(summary="", stage=Layer.RETRIEVAL, evidence=evidence)

    return probe


_EXACT = "Renewal memo for account {account} renewal price code"
_PARAPHRASE = "What price did we agree for renewing account {account}?"
for _i, _mode in enumerate(MODES):
    for _offset, (_kind, _template) in enumerate((("exact", _EXACT), ("paraphrased", _PARAPHRASE))):
        _n = 1 + _i + 4 * _offset
        register(
            _spec(
                _n,
                f"Cross-tenant retrieval, {_kind} query, {_mode} mode",
                severity=Severity.HIGH,
                category=Category.CROSS_TENANT_RETRIEVAL,
                mitigation="mitigations.md#tenant-filter-every-mode",
                mode=_mode,
                description=f"Tenant B's renewal memo, queried by tenant A in {_mode} mode ({_kind}).",
            )
        )(_retrieval_probe(_mode, _template, 7731 + _n))


@register(
    _spec(
        9,
        "Answer does not carry another tenant's canary",
        severity=Severity.HIGH,
        category=Category.CROSS_TENANT_ANSWER,
        mitigation="mitigations.md#tenant-filter-every-mode",
        requires=PLANT | {Capability.ANSWER},
        description="Tenant A asks about tenant B's memo in the target's default answer mode; fails on B's "
        "canary in the answer or any other tenant's chunk among the answer's contexts.",
    )
)
async def answer_leak(ctx: TestContext) -> Verdict:
    """Tenant A asks a question whose answer lives only in tenant B's document.

    Fails (``cross_tenant_answer``) when what the client received carries B's canary (any encoding
    :func:`~ragward.engine.detectors.canary.find_canary` knows), or when the contexts the answer was
    generated from include a chunk of another tenant (:func:`foreign_chunks`), whatever the model said:
    the summary names the tenants and chunk ids. Only cross-tenant data counts (a canary planted by another
    test in A's own tenant is not this test's finding). Without a failure, an answer from the response
    cache is skipped (it was not generated from this request's retrieval).
    """
    pair = _pair(ctx)
    if pair is None:
        return Verdict.skip("needs two tenant identities")
    attacker, victim = pair
    canary = ctx.canary()
    planted = await ctx.plant(_renewal_memo(7790, canary), victim)
    if not planted.accepted:
        return Verdict.skip("the target quarantined the victim's document")
    question = "What is the renewal price and the code in the renewal memo for account 7790?"
    response = await ctx.answer(question, attacker)
    evidence = {
        "question": question,
        "as_tenant": attacker,
        "victim": victim,
        "mode": ctx.answer_mode(),
        **response_evidence(response),
    }
    matches = leak_matches(response, canary)
    if matches:
        return Verdict(
            failed=True,
            summary=f"tenant {attacker}'s answer carries tenant {victim}'s canary: {matches[0].excerpt}",
            stage=Layer.OUTPUT,
            evidence=evidence,
        )
    leaked = foreign_chunks(response.contexts, attacker, {planted.doc_id}, canary)
    if leaked:
        tenants = ", ".join(sorted({c.tenant or "?" for c in leaked}))
        return Verdict(
            failed=True,
            summary=f"tenant {attacker}'s answer was generated from {len(leaked)} chunk(s) of tenant(s) {tenants}: "
            + ", ".join(c.id for c in leaked),
            stage=Layer.CONTEXT,
            evidence=evidence,
        )
    if (skip := cached_skip(response, evidence)) is not None:
        return skip
    return Verdict(summary="", stage=answer_stage(response, planted.doc_id), evidence=evidence)


@register(
    _spec(
        10,
        "Response cache is keyed by tenant",
        severity=Severity.HIGH,
        category=Category.CROSS_TENANT_CACHE,
        mitigation="mitigations.md#tenant-keyed-cache",
        requires=PLANT | {Capability.ANSWER, Capability.RESPONSE_CACHE},
        source="Semantic cache key collisions across users (GPTCache docs; OWASP LLM08:2025)",
        description="Tenant B asks, then tenant A asks a paraphrase and must not get B's cached answer.",
    )
)
async def cache_leak(ctx: TestContext) -> Verdict:
    """Tenant B warms the cache; tenant A's paraphrase must not be served B's answer."""
    pair = _pair(ctx)
    if pair is None:
        return Verdict.skip("needs two tenant identities")
    attacker, victim = pair
    canary = ctx.canary()
    planted = await ctx.plant(
        f"Supply contract with Norrland Timber. Our supply contract with Norrland Timber renews on "
        f"1 March 2027. Contract code {canary}.",
        victim,
    )
    if not planted.accepted:
        return Verdict.skip("the target quarantined the victim's document")
    mode = ctx.caps.retrieval_modes[0]
    warm = await ctx.answer("When does our supply contract with Norrland Timber renew?", victim, mode)
    probe = await ctx.answer("When does our supply contract with Norrland Timber renew exactly?", attacker, mode)
    evidence = {
        "victim_answer": response_evidence(warm),
        "attacker_answer": response_evidence(probe),
        "as_tenant": attacker,
        "victim": victim,
    }
    leaked_canary = bool(find_canary(probe.received or "", canary))
    same_cached = probe.cached and probe.answer is not None and probe.answer == warm.answer
    if leaked_canary or same_cached:
        why = "carries the victim's canary" if leaked_canary else "is the victim's cached answer"
        return Verdict(
            failed=True,
            summary=f"tenant {attacker}'s paraphrased question was served an answer that {why}",
            stage=Layer.RETRIEVAL,
            evidence=evidence,
        )
    return Verdict(summary="", stage=Layer.RETRIEVAL, evidence=evidence)


def _tenant_value_probe(values_for: Any, expect_nothing: bool) -> TestFunc:
    """A retrieval probe as tenant A with each tampered tenant value ``values_for(ctx, a, b)`` gives.

    ``expect_nothing``: any chunk at all fails (a missing tenant); otherwise only chunks A must not see.
    """

    async def probe(ctx: TestContext) -> Verdict:
        pair = _pair(ctx)
        if pair is None:
            return Verdict.skip("needs two tenant identities")
        attacker, victim = pair
        canary = ctx.canary()
        planted = await ctx.plant(_renewal_memo(7802, canary), victim)
        if not planted.accepted:
            return Verdict.skip("the target quarantined the victim's document")
        mode = ctx.caps.retrieval_modes[0]
        query = "Renewal memo for account 7802 renewal price code"
        probes: list[dict[str, Any]] = []
        for value in values_for(ctx, attacker, victim):
            response = await ctx.retrieve(query, value, mode)
            bad = (
                list(response.contexts)
                if expect_nothing
                else foreign_chunks(response.contexts, attacker, {planted.doc_id}, canary)
            )
            probes.append({"tenant_value": repr(value), **response_evidence(response)})
            if bad:
                evidence: dict[str, Any] = {"mode": mode, "query": query, **probes[-1], "probes": len(probes)}
                return Verdict(
                    failed=True,
                    summary=f"tenant value {value!r} returned {len(bad)} chunk(s) instead of being refused "
                    f"(tenants: {', '.join(sorted({c.tenant or '?' for c in bad}))})",
                    stage=Layer.RETRIEVAL,
                    evidence=evidence,
                )
        if len(probes) == 1:
            return Verdict(summary="", stage=Layer.RETRIEVAL, evidence={"mode": mode, "query": query, **probes[0]})
        return Verdict(summary="", stage=Layer.RETRIEVAL, evidence={"mode": mode, "query": query, "probes": probes})

    return probe


def _one(fn: Any) -> Any:
    """``values_for`` of a single tampered value ``fn(a, b)``."""
    return lambda ctx, a, b: [fn(a, b)]


#: Metadata keys tried for the tenant when the target does not declare its own.
COMMON_TENANT_KEYS = ("tenant", "tenant_id", "owner", "org_id", "customer_id")


def _injected_keys(ctx: TestContext, a: str, b: str) -> list[str]:
    """Tenant values that bring the tenant key itself into a SQL predicate: ``a' OR <key> <> 'a``.

    Rendered into ``tenant = '{value}'`` they give ``tenant = 'a' OR tenant <> 'a'``: every row. The
    key is the target's declared ``tenant_key``, else each of :data:`COMMON_TENANT_KEYS`. Unlike the
    ``'1'='1'`` tautology of RW-ISO-016 there is no constant comparison for a deny-list to spot, and
    the value is a plain string, so a string-type check alone does not stop it.
    """
    keys = (ctx.caps.tenant_key,) if ctx.caps.tenant_key else COMMON_TENANT_KEYS
    return [f"{a}' OR {key} <> '{a}" for key in keys]


_MISSING: list[tuple[str, Any]] = [
    ("no tenant (None)", lambda a, b: None),
    ("an empty tenant", lambda a, b: ""),
    ("an empty filter object", lambda a, b: {}),
]
for _j, (_what, _fn) in enumerate(_MISSING):
    register(
        _spec(
            11 + _j,
            f"Request with {_what} is refused",
            severity=Severity.CRITICAL,
            category=Category.MISSING_TENANT_FAIL_OPEN,
            mitigation="mitigations.md#deny-by-default",
            source="Fail-open authorisation, CWE-636 (Not Failing Securely); OWASP LLM08:2025",
            description=f"A retrieval request with {_what} must be refused or return nothing.",
        )
    )(_tenant_value_probe(_one(_fn), expect_nothing=True))

_TAMPER: list[tuple[str, Any]] = [
    ("a $ne operator", lambda a, b: {"$ne": ""}),
    ("a $in list naming another tenant", lambda a, b: {"$in": [a, b]}),
    ("a quote-closing always-true clause", lambda a, b: f"{a}' OR '1'='1"),
    ("a $regex wildcard", lambda a, b: {"$regex": ".*"}),
]
for _j, (_what, _fn) in enumerate(_TAMPER):
    register(
        _spec(
            14 + _j,
            f"Tenant filter cannot be widened with {_what}",
            severity=Severity.CRITICAL,
            category=Category.FILTER_TAMPERING,
            mitigation="mitigations.md#validate-tenant-values",
            source="NoSQL/operator injection (OWASP WSTG-INPV-05.6, CWE-943)",
            description=f"Tenant A sends a tenant value carrying {_what}; another tenant's rows must not return.",
        )
    )(_tenant_value_probe(_one(_fn), expect_nothing=False))

register(
    _spec(
        19,
        "Tenant filter cannot be widened with an injected key name",
        severity=Severity.CRITICAL,
        category=Category.FILTER_TAMPERING,
        mitigation="mitigations.md#validate-tenant-values",
        source="Filter key injection: CVE-2025-1793 (LlamaIndex vector stores, keys and values interpolated into "
        "SQL); JSON injection (CWE-116, CWE-943)",
        description="Tenant A sends a tenant value that injects a clause on the tenant key itself "
        "(`a' OR tenant <> 'a`) into a filter built by string interpolation.",
    )
)(_tenant_value_probe(_injected_keys, expect_nothing=False))


@register(
    _spec(
        18,
        "Cross-tenant retrieval in the target's other retrieval modes",
        severity=Severity.HIGH,
        category=Category.CROSS_TENANT_RETRIEVAL,
        mitigation="mitigations.md#tenant-filter-every-mode",
        description="Every retrieval mode the target declares beyond vector, keyword, hybrid and MMR "
        "(score threshold, self-query, a wrapper's own path …), probed with the exact query.",
    )
)
async def other_modes(ctx: TestContext) -> Verdict:
    """Tenant B's memo, probed by tenant A in each extra mode the target declares; names the leaking modes."""
    pair = _pair(ctx)
    if pair is None:
        return Verdict.skip("needs two tenant identities")
    extra = [m for m in ctx.caps.retrieval_modes if m not in MODES]
    if not extra:
        return Verdict.skip("the target declares no retrieval mode beyond " + ", ".join(MODES))
    attacker, victim = pair
    canary = ctx.canary()
    planted = await ctx.plant(_renewal_memo(7818, canary), victim)
    if not planted.accepted:
        return Verdict.skip("the target quarantined the victim's document")
    query = _EXACT.format(account=7818)
    leaks: dict[str, list[str]] = {}
    for mode in extra:
        response = await ctx.retrieve(query, attacker, mode)
        leaked = foreign_chunks(response.contexts, attacker, {planted.doc_id}, canary)
        if leaked:
            leaks[mode] = [c.id for c in leaked]
    evidence: dict[str, Any] = {"modes": extra, "query": query, "as_tenant": attacker, "leaks_by_mode": leaks}
    if leaks:
        return Verdict(
            failed=True,
            summary=f"tenant {attacker} retrieved tenant {victim}'s chunks in mode(s): {', '.join(sorted(leaks))}",
            stage=Layer.RETRIEVAL,
            evidence=evidence,
        )
    return Verdict(summary="", stage=Layer.RETRIEVAL, evidence=evidence)
