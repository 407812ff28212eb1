"""The built-in sample corpus: three fictional tenants' documents, shipped as package data.

Each ``corpus/<tenant>.yaml`` file holds one tenant::

    tenant: acme
    name: Acme Freight & Logistics
    domains: [acme-logistics.example]
    documents:
      - {id: acme-refund-policy, source: policies/refund-policy.md,
         classification: internal, text: "..."}

``classification`` is one of :data:`CLASSIFICATIONS`; documents classified
``restricted`` hold fictional credential-like values that the output filter
must never let out. All names, figures and credentials are invented.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from ragward.targets.base import Document

__all__ = [
    "CLASSIFICATIONS",
    "CorpusError",
    "Tenant",
    "document_sha256",
    "load_corpus",
    "sample_documents",
    "sample_tenants",
]

CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")


class CorpusError(ValueError):
    """A corpus file is malformed (missing field, bad type, duplicate id)."""


@dataclass(frozen=True)
class Tenant:
    """A tenant of the lab: ``id`` (e.g. ``"acme"``), display ``name``, e-mail/web ``domains``."""

    id: str
    name: str
    domains: tuple[str, ...]


def document_sha256(doc: Document) -> str:
    """SHA-256 (hex) of a document's tenant, source, classification and text, canonically encoded.

    For a file (``doc.content`` set) the SHA-256 of its bytes and its content
    type are part of the hash too; a text document hashes as it always has.
    """
    payload = {
        "tenant": doc.tenant,
        "source": doc.metadata.get("source", ""),
        "classification": doc.metadata.get("classification", ""),
        "text": doc.text,
    }
    if doc.content is not None:
        payload["content_sha256"] = hashlib.sha256(doc.content).hexdigest()
        payload["content_type"] = doc.content_type
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def _str_field(entry: dict[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CorpusError(f"{where}: field {key!r} must be a non-empty string")
    return value


def _parse(raw: object, where: str) -> tuple[Tenant, list[Document]]:
    """Validate one tenant file's parsed YAML; raises :class:`CorpusError`."""
    if not isinstance(raw, dict):
        raise CorpusError(f"{where}: expected a mapping at the top level")
    tenant_id = _str_field(raw, "tenant", where)
    domains = raw.get("domains", [])
    if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
        raise CorpusError(f"{where}: 'domains' must be a list of strings")
    tenant = Tenant(tenant_id, _str_field(raw, "name", where), tuple(domains))
    entries = raw.get("documents")
    if not isinstance(entries, list) or not entries:
        raise CorpusError(f"{where}: 'documents' must be a non-empty list")
    docs: list[Document] = []
    for n, entry in enumerate(entries):
        at = f"{where}: document {n}"
        if not isinstance(entry, dict):
            raise CorpusError(f"{at}: expected a mapping")
        classification = _str_field(entry, "classification", at)
        if classification not in CLASSIFICATIONS:
            raise CorpusError(f"{at}: classification {classification!r} not in {CLASSIFICATIONS}")
        docs.append(
            Document(
                id=_str_field(entry, "id", at),
                text=_str_field(entry, "text", at).strip() + "\n",
                tenant=tenant_id,
                metadata={"source": _str_field(entry, "source", at), "classification": classification},
            )
        )
    return tenant, docs


def load_corpus(texts: dict[str, str]) -> tuple[tuple[Tenant, ...], tuple[Document, ...]]:
    """Parse tenant files given as ``{file name: YAML text}``.

    Returns the tenants (in file-name order) and all their documents. Raises
    :class:`CorpusError` on malformed YAML, a duplicate tenant or a duplicate document id.
    """
    tenants: list[Tenant] = []
    docs: list[Document] = []
    for where in sorted(texts):
        try:
            raw = yaml.safe_load(texts[where])
        except yaml.YAMLError as exc:
            raise CorpusError(f"{where}: invalid YAML: {exc}") from exc
        tenant, tenant_docs = _parse(raw, where)
        if any(t.id == tenant.id for t in tenants):
            raise CorpusError(f"{where}: duplicate tenant {tenant.id!r}")
        tenants.append(tenant)
        docs.extend(tenant_docs)
    seen: set[str] = set()
    for doc in docs:
        if doc.id in seen:
            raise CorpusError(f"duplicate document id {doc.id!r}")
        seen.add(doc.id)
    return tuple(tenants), tuple(docs)


@cache
def _sample() -> tuple[tuple[Tenant, ...], tuple[Document, ...]]:
    folder = resources.files("ragward.lab").joinpath("corpus")
    texts = {item.name: item.read_text(encoding="utf-8") for item in folder.iterdir() if item.name.endswith(".yaml")}
    return load_corpus(texts)


def sample_tenants() -> tuple[Tenant, ...]:
    """The tenants of the built-in sample corpus (``acme``, ``globex``, ``initech``)."""
    return _sample()[0]


def sample_documents() -> tuple[Document, ...]:
    """Every document of the built-in sample corpus, tenants in name order."""
    return _sample()[1]
