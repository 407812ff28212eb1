"""The ``openai`` adapter: an OpenAI-compatible chat-completions model as the generator over a retriever.

Any server speaking ``POST {base_url}/chat/completions`` (the OpenAI API
reference, "Create chat completion"): vLLM, Ollama, the llama.cpp server, a
hosted API. Combined in the target file with a retriever adapter (``chroma``,
``qdrant``, ``lancedb``, ``pgvector``, ``langchain``, ``llamaindex``,
``http``), it forms the full pipeline an application runs:

1. retrieve with the retriever, as the request's tenant, in the request's mode;
   a refused or failed retrieval is returned as it is (nothing is generated);
2. render ``system_prompt``/``user_prompt`` with ``{context}`` (the chunks,
   numbered), ``{query}`` and ``{tenant}``, the "stuff" prompt of RAG
   frameworks;
3. generate (``temperature`` 0 by default), streamed or not; a streamed
   answer (server-sent events of ``choices[0].delta.content``) is reassembled
   before detection.

Retries with backoff honour ``Retry-After`` on 429/503, like the ``http``
adapter; at most ``concurrency`` completions are in flight. The API key is a
``${ENV_VAR}`` reference, resolved at build time and scrubbed from errors.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from dataclasses import replace
from typing import Any

import httpx

from ragward.errors import TargetError
from ragward.targets._secrets import SecretStore
from ragward.targets._template import Template, text_form
from ragward.targets._transport import FastTransport
from ragward.targets.base import Capabilities, Capability, Chunk, Document, IngestResult, Query, Response, Target
from ragward.targets.config import OpenAITargetConfig
from ragward.targets.http import parse_retry_after, parse_sse

__all__ = ["OpenAITarget", "render_context"]

_PROMPT_FIELDS = ("context", "query", "tenant")


def render_context(chunks: list[Chunk]) -> str:
    """The retrieved chunks as the prompt's context: ``[1] text`` blocks separated by blank lines."""
    return "\n\n".join(f"[{i}] {c.text}" for i, c in enumerate(chunks, 1))


class OpenAITarget:
    """An OpenAI-compatible chat model over a retriever target, as one scan target.

    ``retriever`` is the built retriever adapter; ``environ`` replaces the
    process environment for ``${VAR}`` references and ``transport`` the httpx
    transport (tests). Capabilities: the retriever's plus ``answer``.
    ``key``: ``openai-<sha256(base URL, model, retriever key)[:12]>``. Methods
    raise :class:`TargetError` for transport failures and unusable replies.
    """

    def __init__(
        self,
        config: OpenAITargetConfig,
        retriever: Target,
        *,
        environ: dict[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """Resolve the key and headers and compile the prompts; nothing connects yet."""
        self.config = config
        self.retriever = retriever
        self.name = config.label
        self._secrets = SecretStore(environ)
        self._url = self._secrets.resolve(config.base_url, "base_url").rstrip("/") + "/chat/completions"
        headers = {k: self._secrets.resolve(v, f"headers.{k}") for k, v in config.headers.items()}
        if config.api_key:
            headers["Authorization"] = "Bearer " + self._secrets.resolve(config.api_key, "api_key")
        headers["Content-Type"] = "application/json"
        self._headers = headers
        self._system = Template(config.system_prompt, _PROMPT_FIELDS, where="system_prompt")
        self._user = Template(config.user_prompt, _PROMPT_FIELDS, where="user_prompt")
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._sem: asyncio.Semaphore | None = None
        digest = hashlib.sha256(f"{config.base_url}|{config.model}|{retriever.key}".encode()).hexdigest()[:12]
        self.key = f"openai-{digest}"

    def __repr__(self) -> str:
        return f"OpenAITarget(name={self.name!r}, model={self.config.model!r}, retriever={self.retriever.name!r})"

    def capabilities(self) -> Capabilities:
        """The retriever's capabilities plus ``answer`` (minus ``disable``)."""
        inner = self.retriever.capabilities()
        supported = (inner.supported | {Capability.ANSWER}) - set(self.config.disable)
        return replace(inner, supported=frozenset(supported))

    # ----------------------------------------------------------- delegation

    async def ingest(self, doc: Document) -> IngestResult:
        """Plant through the retriever."""
        return await self.retriever.ingest(doc)

    async def delete(self, doc_id: str, tenant: str) -> None:
        """Delete through the retriever."""
        await self.retriever.delete(doc_id, tenant)

    async def document_ids(self) -> set[str]:
        """The retriever's documents."""
        return await self.retriever.document_ids()

    async def retrieve(self, query: Query) -> Response:
        """Retrieval only, by the retriever."""
        return await self.retriever.retrieve(query)

    # ------------------------------------------------------------ generation

    def _open(self) -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
        if self._client is None or self._sem is None:
            c = self.config
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(c.timeout_s, connect=min(10.0, c.timeout_s)),
                transport=self._transport if self._transport is not None else FastTransport(max_idle=c.concurrency),
            )
            self._sem = asyncio.Semaphore(c.concurrency)
        return self._client, self._sem

    def _fail(self, message: str) -> TargetError:
        return TargetError(self._secrets.scrub(f"{self.name}: {message}"))

    def messages(self, query: Query, chunks: list[Chunk]) -> list[dict[str, str]]:
        """The chat messages for ``query`` over ``chunks`` (system prompt, then the user turn)."""
        values = {"context": render_context(chunks), "query": query.text, "tenant": text_form(query.tenant)}
        return [
            {"role": "system", "content": str(self._system.render(values))},
            {"role": "user", "content": str(self._user.render(values))},
        ]

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        client, _ = self._open()
        retry = self.config.retry
        payload = json.dumps(body).encode("utf-8")
        for attempt in range(retry.attempts):
            last = attempt == retry.attempts - 1
            try:
                request = client.build_request("POST", self._url, headers=self._headers, content=payload)
                response = await client.send(request, stream=True)
            except httpx.TimeoutException:
                raise self._fail("chat completion timed out") from None
            except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                if last:
                    raise self._fail(f"chat completion failed: {exc}") from None
                await asyncio.sleep(retry.backoff_s * (2.0**attempt) * (0.5 + random.random() / 2))
                continue
            if response.status_code in retry.on_status and not last:
                wait = parse_retry_after(response.headers.get("retry-after"))
                await response.aclose()
                backoff = retry.backoff_s * (2.0**attempt) * (0.5 + random.random() / 2)
                await asyncio.sleep(min(retry.max_wait_s, wait if wait is not None else backoff))
                continue
            if response.status_code >= 400:
                text = (await response.aread()).decode("utf-8", errors="replace")[:200]
                await response.aclose()
                raise self._fail(f"chat completion: HTTP {response.status_code}: {text}")
            return response
        raise self._fail("chat completion: no attempt left")  # pragma: no cover

    async def generate(self, messages: list[dict[str, str]]) -> str:
        """The model's reply to ``messages`` (streamed replies reassembled). Raises :class:`TargetError`."""
        c = self.config
        body: dict[str, Any] = {
            "model": c.model,
            "messages": messages,
            "max_tokens": c.max_tokens,
            "temperature": c.temperature,
            "stream": c.stream,
        }
        _, sem = self._open()
        async with sem:
            response = await self._post(body)
            try:
                if c.stream and "text/event-stream" in response.headers.get("content-type", ""):
                    pieces: list[str] = []
                    async for data in parse_sse(response.aiter_lines()):
                        if data.strip() == "[DONE]":
                            break
                        try:
                            delta = json.loads(data)["choices"][0].get("delta", {}).get("content")
                        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
                            continue
                        if isinstance(delta, str):
                            pieces.append(delta)
                    return "".join(pieces)
                content = await response.aread()
            except httpx.HTTPError as exc:
                raise self._fail(f"chat completion: reading the reply failed: {exc}") from None
            finally:
                await response.aclose()
        try:
            reply = json.loads(content)
            text = reply["choices"][0]["message"].get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise self._fail("chat completion: the reply has no choices[0].message.content") from None
        return str(text)

    async def answer(self, query: Query) -> Response:
        """Retrieve, then generate over the retrieved chunks; a refused retrieval is returned as it is."""
        retrieved = await self.retriever.retrieve(query)
        if retrieved.blocked or retrieved.error is not None:
            return retrieved
        text = await self.generate(self.messages(query, retrieved.contexts))
        return Response(answer=text.strip(), contexts=retrieved.contexts, events=retrieved.events)

    async def close(self) -> None:
        """Close the HTTP client and the retriever."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
            self._sem = None
        await self.retriever.close()
