"""The openai adapter against a scripted chat-completions endpoint (the llama.cpp server: tests/integration)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from tgt_helpers import HashingEmbedder

from ragward.errors import TargetError
from ragward.targets.base import Capability, Document, Query
from ragward.targets.chroma import ChromaTarget
from ragward.targets.config import OpenAITargetConfig, parse_target_config
from ragward.targets.openai_compat import OpenAITarget


def make(tmp_path: Path, embedder: HashingEmbedder, handler: Any, **changes: Any) -> OpenAITarget:
    data: dict[str, Any] = {
        "kind": "openai",
        "base_url": "http://llm.test/v1/",
        "model": "m",
        "api_key": "${LLM_KEY}",
        "retriever": {
            "kind": "chroma",
            "path": str(tmp_path / "c"),
            "tenants": ["acme", "globex"],
            "tenant_filter": {"on_missing": "refuse"},
        },
    }
    data.update(changes)
    config = parse_target_config(data)
    assert isinstance(config, OpenAITargetConfig)
    retriever = ChromaTarget(config.retriever, embedder=embedder)  # type: ignore[arg-type]
    return OpenAITarget(
        config, retriever, environ={"LLM_KEY": "sk-test-secret-123"}, transport=httpx.MockTransport(handler)
    )


def test_answer_is_generated_over_the_tenant_s_chunks(tmp_path: Path, embedder: HashingEmbedder) -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url == "http://llm.test/v1/chat/completions"
        assert request.headers["authorization"] == "Bearer sk-test-secret-123"
        seen.append(json.loads(request.content))
        return httpx.Response(200, json={"choices": [{"message": {"role": "assistant", "content": " 88k. "}}]})

    target = make(tmp_path, embedder, handler)

    async def go() -> Any:
        await target.ingest(Document("a1", "Renewal memo: renewal price 88k.", "acme"))
        await target.ingest(Document("g1", "Renewal memo: renewal price 12k.", "globex"))
        response = await target.answer(Query("What is the renewal price?", "acme", "vector", 4))
        refused = await target.answer(Query("What is the renewal price?", None, "vector", 4))
        await target.close()
        return response, refused

    response, refused = asyncio.run(go())
    assert response.answer == "88k."
    assert [c.doc_id for c in response.contexts] == ["a1"]
    body = seen[0]
    assert body["model"] == "m" and body["temperature"] == 0 and body["stream"] is False
    assert body["messages"][0]["role"] == "system" and "acme" in body["messages"][0]["content"]
    assert "[1] Renewal memo: renewal price 88k." in body["messages"][1]["content"]
    assert "12k" not in body["messages"][1]["content"]
    assert refused.blocked and len(seen) == 1  # a refused retrieval generates nothing


def test_streamed_completion_is_reassembled(tmp_path: Path, embedder: HashingEmbedder) -> None:
    events = [
        {"choices": [{"delta": {"role": "assistant"}}]},
        {"choices": [{"delta": {"content": "Hel"}}]},
        {"choices": [{"delta": {"content": "lo"}}]},
        {"choices": [{"delta": {}, "finish_reason": "stop"}]},
    ]
    stream = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"

    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content)["stream"] is True
        return httpx.Response(200, content=stream.encode(), headers={"content-type": "text/event-stream"})

    target = make(tmp_path, embedder, handler, stream=True)
    text = asyncio.run(target.generate([{"role": "user", "content": "hi"}]))
    assert text == "Hello"


def test_errors_are_scrubbed_and_retried(tmp_path: Path, embedder: HashingEmbedder) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return httpx.Response(429, headers={"retry-after": "0"})
        return httpx.Response(401, text=f"bad key {request.headers['authorization']}")

    target = make(tmp_path, embedder, handler)
    with pytest.raises(TargetError) as info:
        asyncio.run(target.generate([{"role": "user", "content": "hi"}]))
    assert calls == 2
    assert "HTTP 401" in info.value.message and "sk-test-secret" not in info.value.message


def test_bad_reply_and_capabilities(tmp_path: Path, embedder: HashingEmbedder) -> None:
    target = make(tmp_path, embedder, lambda r: httpx.Response(200, json={"nope": 1}))
    with pytest.raises(TargetError, match="choices"):
        asyncio.run(target.generate([{"role": "user", "content": "hi"}]))
    caps = target.capabilities()
    assert Capability.ANSWER in caps.supported and Capability.INGEST in caps.supported
    assert caps.tenants == ("acme", "globex")
    assert "sk-test" not in repr(target)
