"""Guardrails for RAG pipelines, usable on their own and by ragward's hardened lab.

Each guardrail is a small class with class attributes ``name`` and ``layer``
(:class:`ragward.model.Layer`) and returns a :class:`Decision` holding its
:class:`ragward.model.GuardrailEvent` list:

* :class:`IngestScanner` (INGEST) quarantines documents (text, Markdown,
  HTML, PDF) carrying indirect prompt injection, however it is hidden,
  encoded, obfuscated or translated, and fails closed on unparsable files;
* :class:`TenantFilter` (RETRIEVAL) resolves the caller's tenant (deny by
  default) and checks retrieved chunks' tenants;
* :class:`ContextSanitiser` (CONTEXT) strips hidden content from chunks,
  catches instructions split across chunk boundaries in the assembled
  context, and wraps chunks as delimited, datamarked data (spotlighting);
* :class:`OutputFilter` (OUTPUT) blocks answers leaking secrets or holding
  exfiltration links, also when they are streamed (:class:`OutputStream`).

See ``docs/guardrails.md`` for how to plug them into a pipeline.
"""

from __future__ import annotations

from ragward.guardrails.base import Decision, Guardrail
from ragward.guardrails.context import ContextSanitiser
from ragward.guardrails.ingest import IngestScanner
from ragward.guardrails.output import OutputFilter, OutputStream
from ragward.guardrails.tenant import TenantFilter

__all__ = [
    "ContextSanitiser",
    "Decision",
    "Guardrail",
    "IngestScanner",
    "OutputFilter",
    "OutputStream",
    "TenantFilter",
]
