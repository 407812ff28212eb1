"""The http adapter's streaming (issue #4, reported failure 11) against scripted transports: stream on and off
per request, the pieces kept as received, a block signalled inside the stream, and the docs' example."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from ragward.errors import ConfigError
from ragward.targets.base import Capability, Query
from ragward.targets.config import HttpTargetConfig, parse_target_config
from ragward.targets.http import HttpTarget

ENV = {"TOK_A": "secret-token-aaaa"}
DOC = (Path(__file__).resolve().parents[2] / "docs" / "targets.md").read_text(encoding="utf-8")
BASE: dict[str, Any] = {
    "kind": "http",
    "base_url": "http://rag.test",
    "tenants": [{"name": "acme", "headers": {"Authorization": "Bearer ${TOK_A}"}}],
}


def config(**changes: Any) -> HttpTargetConfig:
    parsed = parse_target_config(BASE | changes)
    assert isinstance(parsed, HttpTargetConfig)
    return parsed


def sse(*events: Any) -> httpx.Response:
    body = "".join(f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events)
    return httpx.Response(200, content=body.encode(), headers={"content-type": "text/event-stream"})


def ask(cfg: HttpTargetConfig, handler: Any, query: Query) -> Any:
    async def go() -> Any:
        t = HttpTarget(cfg, environ=ENV, transport=httpx.MockTransport(handler))
        try:
            return await t.answer(query)
        finally:
            await t.close()

    return asyncio.run(go())


def test_stream_placeholder_lets_the_scan_choose_per_request() -> None:
    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bodies.append(body)
        if body["stream"]:
            return sse({"delta": "The key is RWC"}, {"delta": "ABC"}, {"answer": "The key is RWCABC"}, "[DONE]")
        return httpx.Response(200, json={"answer": "The key is RWCABC"})

    answer = {"url": "/a", "body": {"q": "{query}", "stream": "{stream}"}, "stream": {}}
    cfg = config(answer=answer)
    assert Capability.STREAM in HttpTarget(cfg, environ=ENV).capabilities().supported
    on = ask(cfg, handler, Query("q", "acme", stream=True))
    off = ask(cfg, handler, Query("q", "acme"))
    assert [b["stream"] for b in bodies] == [True, False]  # a JSON boolean, not a string
    assert on.pieces == ["The key is RWC", "ABC"] and on.answer == "The key is RWCABC"
    assert off.pieces is None and off.received == off.answer == "The key is RWCABC"


def test_no_stream_section_means_no_stream_capability() -> None:
    cfg = config(answer={"url": "/a", "body": {"q": "{query}"}})
    assert Capability.STREAM not in HttpTarget(cfg, environ=ENV).capabilities().supported
    reply = ask(cfg, lambda r: httpx.Response(200, json={"answer": "x"}), Query("q", "acme", stream=True))
    assert reply.pieces is None  # the flag is ignored


def test_a_block_inside_the_stream_keeps_the_pieces_sent_before_it() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return sse(
            {"choices": [{"delta": {"content": "key: RWC7K"}}]},
            {"choices": [{"delta": {"content": "2M9"}}]},
            {"choices": [], "moderation": {"flagged": True}},  # block.when, evaluated per event
            {"choices": [{"delta": {"content": "[removed]"}}]},
            "[DONE]",
        )

    cfg = config(
        answer={"url": "/a", "body": {"q": "{query}"}, "stream": {"delta": "choices[0].delta.content"}},
        block={"when": "moderation.flagged"},
    )
    reply = ask(cfg, handler, Query("q", "acme", stream=True))
    assert reply.blocked
    assert reply.pieces == ["key: RWC7K", "2M9", "[removed]"]
    assert "RWC7K2M9" in (reply.received or "")


def test_blocked_flag_in_a_final_event_sets_blocked_and_its_answer() -> None:
    events = [
        {"delta": "secret "},
        {"delta": "sk-live"},
        {
            "blocked": True,
            "answer": "Withheld.",
            "events": [{"guardrail": "mod", "layer": "output", "action": "block"}],
        },
        "[DONE]",
    ]
    cfg = config(answer={"url": "/a", "body": {"q": "{query}"}, "stream": {}})
    reply = ask(cfg, lambda r: sse(*events), Query("q", "acme", stream=True))
    assert reply.blocked and reply.answer == "Withheld."
    assert reply.received == "secret sk-live"
    assert [e.guardrail for e in reply.events] == ["mod"]


def docs_example() -> dict[str, Any]:
    block = re.search(r"```yaml\n(# a service with a separate streaming route\n.*?)```", DOC, flags=re.S)
    assert block is not None, "the answer_stream example is gone from docs/targets.md"
    data = yaml.safe_load(block.group(1))
    assert isinstance(data, dict)
    return data


def test_answer_stream_example_from_the_docs() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/chat/stream":
            return sse(
                {"choices": [{"delta": {"content": "The code "}}]},
                {"choices": [{"delta": {"content": "is 42"}}]},
                "[DONE]",
            )
        return httpx.Response(200, json={"answer": "The code is 42", "moderation": {"flagged": False}})

    cfg = config(**docs_example())
    assert HttpTarget(cfg, environ=ENV).capabilities().has(Capability.STREAM)
    on = ask(cfg, handler, Query("q", "acme", stream=True))
    off = ask(cfg, handler, Query("q", "acme"))
    assert seen == ["/chat/stream", "/chat"]
    assert on.pieces == ["The code ", "is 42"] and not on.blocked
    assert off.pieces is None and off.answer == "The code is 42"


def test_answer_stream_needs_answer_and_a_stream_section() -> None:
    example = docs_example()
    with pytest.raises(ConfigError, match="answer_stream: give 'answer' too"):
        config(retrieve={"url": "/search"}, answer_stream=example["answer_stream"])
    with pytest.raises(ConfigError, match="answer_stream: needs a 'stream' section"):
        config(answer=example["answer"], answer_stream={"url": "/chat/stream"})


def test_the_key_of_a_config_without_answer_stream_is_unchanged() -> None:
    # The key names the cleanup journal: adding the optional endpoint must not change existing targets' keys.
    plain = HttpTarget(config(answer={"url": "/chat"}), environ=ENV)
    with_stream = HttpTarget(config(**docs_example()), environ=ENV)
    again = HttpTarget(config(answer={"url": "/chat"}), environ=ENV)
    assert plain.key == again.key != with_stream.key
    fingerprint = json.dumps(["http://rag.test", "", "/chat", "", "", ""])  # base_url and the five endpoint urls
    assert plain.key == "http-" + hashlib.sha256(fingerprint.encode()).hexdigest()[:12]
