"""The built-in sample corpus and its loader."""

from __future__ import annotations

from collections import Counter

import pytest

from ragward.guardrails import IngestScanner, OutputFilter
from ragward.lab.corpus import (
    CLASSIFICATIONS,
    CorpusError,
    document_sha256,
    load_corpus,
    sample_documents,
    sample_tenants,
)
from ragward.targets.base import Document

SHARED_TOPICS = (
    "refund-policy",
    "travel-policy",
    "expense-policy",
    "security-policy",
    "data-retention",
    "supplier-renewal",
    "it-db-backup-runbook",
    "it-api-keys",
)


def test_three_tenants_with_at_least_twenty_documents_each() -> None:
    tenants = {t.id for t in sample_tenants()}
    assert tenants == {"acme", "globex", "initech"}
    counts = Counter(d.tenant for d in sample_documents())
    assert all(counts[t] >= 20 for t in tenants)


def test_document_ids_are_unique_and_prefixed_by_tenant() -> None:
    docs = sample_documents()
    assert len({d.id for d in docs}) == len(docs)
    assert all(d.id.startswith(f"{d.tenant}-") for d in docs)


def test_every_tenant_has_the_overlapping_topics() -> None:
    for tenant in sample_tenants():
        ids = [d.id for d in sample_documents() if d.tenant == tenant.id]
        for topic in SHARED_TOPICS:
            assert any(topic in doc_id for doc_id in ids), (tenant.id, topic)


def test_metadata_and_real_text() -> None:
    for doc in sample_documents():
        assert doc.metadata["classification"] in CLASSIFICATIONS
        assert doc.metadata["source"]
        assert len(doc.text) >= 200, doc.id
        assert "lorem" not in doc.text.lower()


def test_restricted_documents_hold_credential_like_values_found_by_the_output_filter() -> None:
    restricted = [d for d in sample_documents() if d.metadata["classification"] == "restricted"]
    assert {d.tenant for d in restricted} == {"acme", "globex", "initech"}
    for doc in restricted:
        assert OutputFilter.secret_candidates(doc.text), doc.id
        assert "fictional" in doc.text.lower()


def test_tenant_domains_are_reserved_example_domains() -> None:
    for tenant in sample_tenants():
        assert tenant.domains
        assert all(d.endswith(".example") for d in tenant.domains)


def test_ingest_scanner_accepts_the_whole_sample_corpus() -> None:
    scanner = IngestScanner()
    blocked = [d.id for d in sample_documents() if not scanner.scan(d.text, doc_id=d.id).allowed]
    assert blocked == []


def test_document_sha256_depends_on_text_tenant_and_metadata() -> None:
    doc = Document("d", "text", "acme", {"source": "s", "classification": "internal"})
    variants = [
        Document("d", "text!", "acme", dict(doc.metadata)),
        Document("d", "text", "globex", dict(doc.metadata)),
        Document("d", "text", "acme", {"source": "s", "classification": "restricted"}),
    ]
    digest = document_sha256(doc)
    assert len(digest) == 64
    assert all(document_sha256(v) != digest for v in variants)
    assert document_sha256(Document("other-id", "text", "acme", dict(doc.metadata))) == digest


GOOD = """
tenant: t1
name: T One
domains: [t1.example]
documents:
  - {id: t1-a, source: a.md, classification: internal, text: "Hello."}
"""


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        ({"x.yaml": "tenant: [unclosed"}, "invalid YAML"),
        ({"x.yaml": "- a list"}, "mapping"),
        ({"x.yaml": GOOD.replace("internal", "secret")}, "classification"),
        ({"x.yaml": GOOD.replace("id: t1-a, ", "")}, "'id'"),
        ({"x.yaml": GOOD, "y.yaml": GOOD}, "duplicate tenant"),
        ({"x.yaml": GOOD, "y.yaml": GOOD.replace("t1\n", "t2\n")}, "duplicate document id"),
    ],
)
def test_malformed_corpus_files_raise(texts: dict[str, str], message: str) -> None:
    with pytest.raises(CorpusError, match=message):
        load_corpus(texts)


def test_load_corpus_parses_a_tenant_file() -> None:
    tenants, docs = load_corpus({"x.yaml": GOOD})
    assert tenants[0].id == "t1"
    assert tenants[0].domains == ("t1.example",)
    assert docs[0] == Document("t1-a", "Hello.\n", "t1", {"source": "a.md", "classification": "internal"})
