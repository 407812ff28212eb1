"""Guardrails for RAG pipelines, usable on their own and by ragward's hardened lab.

Each guardrail is a small class with class attributes ``name`` and ``layer``
(:class:`ragward.model.Layer`) and returns a :class:`Decision` holding its
:class:`ragward.model.GuardrailEvent` list:

* :class:`IngestScanner` (INGEST) quarantines documents carrying indirect
  prompt injection;
* :class:`TenantFilter` (RETRIEVAL) resolves the caller's tenant (deny by
  default) and checks retrieved chunks' tenants;
* :class:`ContextSanitiser` (CONTEXT) strips hidden content from chunks and
  wraps them as delimited, datamarked data (spotlighting);
* :class:`OutputFilter` (OUTPUT) blocks answers leaking secrets or holding
  exfiltration links.

See ``docs/guardrails.md`` for how to plug them into a pipeline.
"""

from __future__ import annotations

from ragward.guardrails.base import Decision, Guardrail
from ragward.guardrails.context import ContextSanitiser
from ragward.guardrails.ingest import IngestScanner
from ragward.guardrails.output import OutputFilter
from ragward.guardrails.tenant import TenantFilter

__all__ = [
    "ContextSanitiser",
    "Decision",
    "Guardrail",
    "IngestScanner",
    "OutputFilter",
    "TenantFilter",
]
