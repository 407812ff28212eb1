"""A minimal multi-tenant RAG service with a semantic response cache, for issue 5's failure 5.

FastAPI; bearer tokens per tenant; documents in memory; retrieval by the
hashing embedder; the "generator" quotes its best passage. The semantic cache
serves an earlier answer to any query within cosine ``threshold``: keyed by
the query alone (``keyed_by_tenant=False``, the flaw: GPTCache-style caches in
front of multi-user apps) or by (tenant, query) (the fix).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel
from tgt_helpers import HashingEmbedder

TOKENS = {"acme": "acme-token-0123456789", "globex": "globex-token-0123456789"}


class Ask(BaseModel):
    query: str


class Doc(BaseModel):
    id: str
    text: str


def create(*, keyed_by_tenant: bool, threshold: float = 0.8) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    embedder = HashingEmbedder()
    docs: dict[str, dict[str, Any]] = {}
    cache: list[tuple[str, np.ndarray, dict[str, Any]]] = []

    def tenant_of(authorization: str | None) -> str:
        for tenant, token in TOKENS.items():
            if authorization == f"Bearer {token}":
                return tenant
        raise HTTPException(401, "unknown token")

    def search(tenant: str, vector: np.ndarray, k: int) -> list[dict[str, Any]]:
        own = [d for d in docs.values() if d["tenant"] == tenant]
        own.sort(key=lambda d: -float(d["vec"] @ vector))
        return [
            {"id": d["id"], "text": d["text"], "tenant": d["tenant"], "score": float(d["vec"] @ vector)}
            for d in own[:k]
        ]

    @app.post("/ask")
    def ask(body: Ask, authorization: str | None = Header(None)) -> dict[str, Any]:
        tenant = tenant_of(authorization)
        vector = embedder.embed([body.query])[0]
        scope = tenant if keyed_by_tenant else "*"
        for key, cached_vec, reply in cache:
            if key == scope and float(cached_vec @ vector) >= threshold:
                return reply | {"cached": True}
        hits = search(tenant, vector, 2)
        reply = {"answer": f"From our records: {hits[0]['text']}" if hits else "I don't know.", "contexts": hits}
        cache.append((scope, vector, reply))
        return reply | {"cached": False}

    @app.post("/search")
    def retrieve(body: Ask, authorization: str | None = Header(None)) -> dict[str, Any]:
        tenant = tenant_of(authorization)
        return {"contexts": search(tenant, embedder.embed([body.query])[0], 4)}

    @app.post("/documents")
    def add(body: Doc, authorization: str | None = Header(None)) -> dict[str, bool]:
        tenant = tenant_of(authorization)
        docs[body.id] = {"id": body.id, "text": body.text, "tenant": tenant, "vec": embedder.embed([body.text])[0]}
        return {"accepted": True}

    @app.delete("/documents/{doc_id}")
    def delete(doc_id: str, authorization: str | None = Header(None)) -> dict[str, bool]:
        tenant = tenant_of(authorization)
        if docs.get(doc_id, {}).get("tenant") == tenant:
            docs.pop(doc_id)
            cache[:] = [c for c in cache if all(h["id"] != doc_id for h in c[2]["contexts"])]
        return {"deleted": True}

    @app.get("/documents")
    def listing(authorization: str | None = Header(None)) -> dict[str, list[str]]:
        tenant = tenant_of(authorization)
        return {"ids": [d["id"] for d in docs.values() if d["tenant"] == tenant]}

    return app
