"""Tenant filter: deny-by-default tenant resolution and result checking.

Multi-tenant RAG must scope every retrieval to the caller's tenant; a missing
tenant that disables the filter ("fail open"), a tenant value that carries
filter syntax (``{"$ne": ""}``, ``*``, ``' OR 1=1``) or a vector-store bug that
returns another tenant's chunks all leak data across tenants (OWASP LLM08
"Vector and Embedding Weaknesses", LLM02; CWE-639 "Authorization Bypass
Through User-Controlled Key"; CWE-943 "Improper Neutralization of Special
Elements in Data Query Logic").

:meth:`TenantFilter.resolve` runs before retrieval and only lets through an
exact, known tenant id; :meth:`TenantFilter.check_results` runs after it, as
defence in depth, and blocks when any chunk belongs to another tenant or to
none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from ragward.guardrails.base import Decision, Guardrail
from ragward.model import Action, GuardrailEvent, Layer

__all__ = ["TenantFilter"]

#: A tenant id: a letter or digit, then letters, digits and ``._:@-``; at most 128 chars.
TENANT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}")
_FILTER_SYNTAX = re.compile(r"[$\{\}\[\]*%'\";=<>|&\\(),!~^?#`+/\s\x00-\x1f]|--")


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


class TenantFilter(Guardrail):
    """Deny-by-default tenant checks before and after retrieval.

    Args:
        known_tenants: the tenant ids that exist. Each must match
            ``[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}``.

    Raises:
        TypeError: ``known_tenants`` is a str or holds a non-str.
        ValueError: a known tenant is not a valid tenant id.
    """

    name = "tenant_filter"
    layer = Layer.RETRIEVAL

    def __init__(self, known_tenants: Iterable[str]) -> None:
        if isinstance(known_tenants, str):
            raise TypeError("known_tenants must be an iterable of str, not a single str")
        tenants: set[str] = set()
        for tenant in known_tenants:
            if type(tenant) is not str:
                raise TypeError(f"each known tenant must be str, not {type(tenant).__name__}")
            if not TENANT_ID.fullmatch(tenant):
                raise ValueError(f"invalid tenant id {_describe(tenant)}")
            tenants.add(tenant)
        self.known_tenants = frozenset(tenants)

    def _why_not(self, tenant: object) -> str | None:
        if tenant is None:
            return "missing tenant (deny by default)"
        if type(tenant) is not str:
            return f"tenant of type {type(tenant).__name__} is not a plain string (filter injection?)"
        if not tenant.strip():
            return "empty tenant (deny by default)"
        if _FILTER_SYNTAX.search(tenant) or not TENANT_ID.fullmatch(tenant):
            return f"tenant {_describe(tenant)} contains filter syntax or invalid characters"
        if tenant not in self.known_tenants:
            return f"unknown tenant {_describe(tenant)}"
        return None

    def resolve(self, tenant: object) -> Decision:
        """Check the tenant a request claims, before retrieval.

        Returns:
            ALLOW with ``text`` = the tenant id when it is a plain str equal to
            one of the known tenants; BLOCK (one event, ``text=None``) for
            ``None``, ``""``, a non-str (dict, list, …, or a str subclass),
            filter syntax, or an unknown tenant.
        """
        reason = self._why_not(tenant)
        if reason is None:
            assert isinstance(tenant, str)
            return self.decide([], tenant)
        return self.decide([self.event(Action.BLOCK, f"tenant_denied: {reason}")], None)

    def check_results(self, tenant: str, chunk_tenants: Sequence[str | None]) -> Decision:
        """Check the tenants of retrieved chunks, after retrieval (defence in depth).

        Args:
            tenant: the resolved tenant of the request.
            chunk_tenants: the tenant of each retrieved chunk, in rank order
                (``None`` when the store has no tenant for it).

        Returns:
            BLOCK with one event per chunk that belongs to another tenant or to
            none (other tenants' ids are not named), or when ``tenant`` itself
            does not resolve; ALLOW with ``text`` = ``tenant`` otherwise.

        Raises:
            TypeError: ``chunk_tenants`` is not a sequence (or is a str).
        """
        if isinstance(chunk_tenants, (str, bytes)) or not isinstance(chunk_tenants, Sequence):
            raise TypeError("chunk_tenants must be a sequence of tenant ids")
        resolved = self.resolve(tenant)
        if not resolved.allowed:
            return resolved
        events: list[GuardrailEvent] = []
        for rank, owner in enumerate(chunk_tenants):
            if owner is None or owner == "":
                reason = f"cross_tenant_result: chunk #{rank} has no tenant"
            elif type(owner) is not str or owner != tenant:
                reason = f"cross_tenant_result: chunk #{rank} belongs to another tenant"
            else:
                continue
            events.append(self.event(Action.BLOCK, reason))
        return self.decide(events, tenant)
