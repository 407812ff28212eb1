"""The ``http`` adapter: a RAG service behind HTTP, driven through request templates.

Each operation (``retrieve``, ``answer``, ``ingest``, ``delete``, ``documents``)
is one endpoint of the service, described in the target file
(:class:`ragward.targets.config.HttpTargetConfig`): method, URL, headers and a
JSON body with ``{query}``/``{tenant}``… placeholders
(:mod:`ragward.targets._template`), and a JMESPath response map for the answer,
the retrieved contexts (id, text, tenant, metadata), guardrail events and the
blocked/cached flags. A refusal is recognised by status code (401, 403, 451 by
default) or a body expression, and becomes ``Response(blocked=True)``, not an
error. Streamed answers (server-sent events, WHATWG HTML §9.2) keep their
pieces as received (``Response.pieces``, detection reads them joined); a block
signalled by an event inside the stream keeps the pieces sent before it. With
``answer_stream`` or a ``{stream}`` placeholder the scan chooses per request
whether the answer is streamed (capability ``stream``).

Transport: one ``httpx.AsyncClient`` per target (HTTP/1.1 keep-alive,
connection reuse), at most ``concurrency`` requests in flight, connect and
read timeouts, and retries with exponential backoff on connection failures and
on 429/503 replies, honouring ``Retry-After`` (RFC 9110 §10.2.3, seconds or an
HTTP date) up to ``retry.max_wait_s``.

Tenant identities: a request made as a declared identity carries that
identity's headers (its credentials) and ``{tenant}`` is the identity's value.
Any other tenant value (``None``, ``""``, ``{"$ne": ""}``, an injected string)
is sent as it is, with the first identity's credentials (``untrusted_tenant:
first``, the attacker tampering with their own request) or none.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import random
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from ragward.errors import TargetError
from ragward.model import Action, GuardrailEvent, Layer
from ragward.targets._jsonpath import Expr, compile_expr, truthy
from ragward.targets._secrets import SecretStore
from ragward.targets._template import Template
from ragward.targets._transport import FastTransport
from ragward.targets.base import Capabilities, Capability, Chunk, Document, IngestResult, Query, Response
from ragward.targets.config import HttpEndpoint, HttpResponseMap, HttpTargetConfig, TenantIdentity

__all__ = ["HttpTarget", "parse_retry_after", "parse_sse"]

_PLACEHOLDERS = {
    "retrieve": ("query", "tenant", "mode", "top_k"),
    "answer": ("query", "tenant", "mode", "top_k", "stream"),
    "answer_stream": ("query", "tenant", "mode", "top_k", "stream"),
    "ingest": ("doc_id", "text", "tenant", "metadata", "source", "classification", "content_base64", "content_type"),
    "delete": ("doc_id", "tenant"),
    "documents": ("tenant",),
}
_ACTIONS = {
    "allow": Action.ALLOW,
    "allowed": Action.ALLOW,
    "flag": Action.FLAG,
    "flagged": Action.FLAG,
    "warn": Action.FLAG,
    "redact": Action.REDACT,
    "redacted": Action.REDACT,
    "mask": Action.REDACT,
    "block": Action.BLOCK,
    "blocked": Action.BLOCK,
    "deny": Action.BLOCK,
    "denied": Action.BLOCK,
    "refuse": Action.BLOCK,
}
_LAYERS = {layer.value: layer for layer in Layer} | {
    "input": Layer.RETRIEVAL,
    "prompt": Layer.CONTEXT,
    "generation": Layer.MODEL,
    "response": Layer.OUTPUT,
}
_MAX_ERROR_BODY = 200


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or HTTP-date), ``None`` if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


async def parse_sse(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The ``data`` of each server-sent event (multi-line data joined with ``\\n``); comments skipped."""
    data: list[str] = []
    async for raw in lines:
        line = raw.rstrip("\r")
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)


def _to_event(item: Any, rmap: _ResponseMap) -> GuardrailEvent | None:
    """A guardrail event from one mapped JSON item; ``None`` when its layer is unknown or it is malformed."""
    if not isinstance(item, dict):
        return None
    layer = _LAYERS.get(str(rmap.event_layer(item) or "").lower())
    if layer is None:
        return None
    action = _ACTIONS.get(str(rmap.event_action(item) or "").lower(), Action.FLAG)
    score = rmap.event_score(item)
    doc_id = rmap.event_doc_id(item)
    return GuardrailEvent(
        guardrail=str(rmap.event_guardrail(item) or "service"),
        layer=layer,
        action=action,
        reason=str(rmap.event_reason(item) or ""),
        score=float(score) if isinstance(score, int | float) and not isinstance(score, bool) else 1.0,
        doc_id=str(doc_id) if doc_id is not None else None,
    )


class _ResponseMap:
    """The compiled JMESPath expressions of one endpoint's response map."""

    def __init__(self, base: HttpResponseMap, override: Mapping[str, str | None], where: str) -> None:
        fields = base.model_dump() | dict(override)

        def opt(name: str) -> Expr | None:
            expr = fields[name]
            return compile_expr(expr, f"{where}.response.{name}") if expr else None

        def req(name: str) -> Expr:
            expr = fields[name]
            return compile_expr(expr, f"{where}.response.{name}") if expr else (lambda data: None)

        self.answer = opt("answer")
        self.contexts = opt("contexts")
        self.context_id = req("context_id")
        self.context_doc_id = req("context_doc_id")
        self.context_text = req("context_text")
        self.context_tenant = req("context_tenant")
        self.context_score = req("context_score")
        self.context_metadata = req("context_metadata")
        self.events = opt("events")
        self.event_guardrail = req("event_guardrail")
        self.event_layer = req("event_layer")
        self.event_action = req("event_action")
        self.event_reason = req("event_reason")
        self.event_score = req("event_score")
        self.event_doc_id = req("event_doc_id")
        self.blocked = opt("blocked")
        self.refused = opt("refused")
        self.cached = opt("cached")
        self.error = opt("error")
        self.ids = opt("ids")
        self.accepted = opt("accepted")

    def chunk(self, item: Any) -> Chunk | None:
        """One retrieved chunk, or ``None`` for an item that is not an object."""
        if not isinstance(item, dict):
            return None
        cid = self.context_id(item)
        doc_id = self.context_doc_id(item)
        tenant = self.context_tenant(item)
        score = self.context_score(item)
        meta = self.context_metadata(item)
        text = self.context_text(item)
        return Chunk(
            id=str(cid) if cid is not None else "",
            doc_id=str(doc_id) if doc_id is not None else (str(cid) if cid is not None else ""),
            text=text if isinstance(text, str) else ("" if text is None else json.dumps(text)),
            tenant=str(tenant) if tenant is not None else None,
            score=float(score) if isinstance(score, int | float) and not isinstance(score, bool) else 0.0,
            metadata=dict(meta) if isinstance(meta, dict) else {},
        )

    def fill(self, data: Any, response: Response, *, answer: bool = True) -> None:
        """Map ``data`` into ``response`` (contexts and events are appended)."""
        if answer and self.answer is not None:
            value = self.answer(data)
            if value is not None:
                response.answer = value if isinstance(value, str) else json.dumps(value)
        if self.contexts is not None:
            items = self.contexts(data)
            if isinstance(items, list):
                response.contexts.extend(c for c in map(self.chunk, items) if c is not None)
        if self.events is not None:
            events = self.events(data)
            if isinstance(events, list):
                for item in events:
                    event = _to_event(item, self)
                    if event is not None:
                        response.events.append(event)
        if self.blocked is not None and truthy(self.blocked(data)):
            response.blocked = True
        if self.refused is not None and truthy(self.refused(data)):
            response.refused = True
        if self.cached is not None and truthy(self.cached(data)):
            response.cached = True
        if self.error is not None:
            error = self.error(data)
            if truthy(error):
                response.error = error if isinstance(error, str) else json.dumps(error)


class _Endpoint:
    """One compiled endpoint."""

    def __init__(self, op: str, spec: HttpEndpoint, base: HttpResponseMap, secrets: SecretStore) -> None:
        names = _PLACEHOLDERS[op]
        self.op = op
        self.method = spec.method
        self.url = Template(spec.url, names, secrets=secrets, default_conv="url", where=f"{op}.url")
        self.headers = Template(spec.headers, names, secrets=secrets, where=f"{op}.headers") if spec.headers else None
        self.params = Template(spec.params, names, secrets=secrets, where=f"{op}.params") if spec.params else None
        self.body = Template(spec.body, names, secrets=secrets, where=f"{op}.body") if spec.body is not None else None
        self.rmap = _ResponseMap(base, spec.response, op)
        self.stream = spec.stream
        self.delta = compile_expr(spec.stream.delta, f"{op}.stream.delta") if spec.stream else None


@dataclass
class _Reply:
    status: int
    data: Any
    text: str


class HttpTarget:
    """A RAG service over HTTP as a scan :class:`~ragward.targets.base.Target`.

    Built from an :class:`HttpTargetConfig` by
    :func:`ragward.targets.config.build_target`; ``environ`` replaces the
    process environment for ``${VAR}`` references and ``transport`` the httpx
    transport (tests). ``name`` is the config's label; ``key`` is
    ``http-<sha256 of the endpoints>[:12]``. Raises :class:`ConfigError` for an
    unset variable or a bad template/expression; methods raise
    :class:`TargetError` for transport failures and unexpected statuses (with
    resolved secrets scrubbed from the message).
    """

    def __init__(
        self,
        config: HttpTargetConfig,
        *,
        environ: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """Compile the templates and expressions; no connection is opened yet."""
        self.config = config
        self.name = config.label
        self._secrets = SecretStore(environ)
        self._base_url = self._secrets.resolve(config.base_url, "base_url") if config.base_url else ""
        self._endpoints: dict[str, _Endpoint] = {}
        for op in _PLACEHOLDERS:
            spec: HttpEndpoint | None = getattr(config, op)
            if spec is not None:
                self._endpoints[op] = _Endpoint(op, spec, config.response, self._secrets)
        common = {k: self._secrets.resolve(v, f"headers.{k}") for k, v in config.headers.items()}
        self._identities: dict[str, tuple[TenantIdentity, dict[str, str]]] = {}
        for i, ident in enumerate(config.tenants):
            own = {k: self._secrets.resolve(v, f"tenants[{i}].headers.{k}") for k, v in ident.headers.items()}
            self._identities[ident.name] = (ident, common | own)
        self._anonymous = common
        self._first = config.tenants[0].name
        self._block_codes = frozenset(config.block.status_codes)
        self._block_when = compile_expr(config.block.when, "block.when") if config.block.when else None
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._sem: asyncio.Semaphore | None = None
        ops = ("retrieve", "answer", "ingest", "delete", "documents")  # the key of a config without answer_stream
        urls = [getattr(config, op).url if getattr(config, op) else "" for op in ops]
        if config.answer_stream is not None:
            urls.append(config.answer_stream.url)
        fingerprint = json.dumps([config.base_url, *urls])
        self.key = "http-" + hashlib.sha256(fingerprint.encode("utf-8")).hexdigest()[:12]

    def __repr__(self) -> str:
        return f"HttpTarget(name={self.name!r}, key={self.key!r})"

    # ------------------------------------------------------------ capabilities

    def capabilities(self) -> Capabilities:
        """From the configured endpoints: retrieve/answer/ingest/delete/documents, events, cache, tenants;
        ``ingest`` only when ``ingest.accepts`` lists ``text/plain``, ``ingest_pdf`` when it lists
        ``application/pdf``."""
        have = {
            "retrieve": Capability.RETRIEVE,
            "answer": Capability.ANSWER,
            "ingest": Capability.INGEST,
            "delete": Capability.DELETE,
            "documents": Capability.LIST_DOCUMENTS,
        }
        supported = {cap for op, cap in have.items() if op in self._endpoints}
        supported.add(Capability.TENANTS)
        if self.config.ingest is not None:
            accepted = self.config.ingest.accepted_types
            if "text/plain" not in accepted:
                supported.discard(Capability.INGEST)  # text documents cannot be planted: skip, not error
            if "application/pdf" in accepted:
                supported.add(Capability.INGEST_PDF)
        if any(op in self._endpoints and self._endpoints[op].stream is not None for op in ("answer", "answer_stream")):
            supported.add(Capability.STREAM)
        if self.config.response.events:
            supported.add(Capability.GUARDRAIL_EVENTS)
        if self.config.response_cache:
            supported.add(Capability.RESPONSE_CACHE)
        return Capabilities(
            supported=frozenset(supported - set(self.config.disable)),
            retrieval_modes=tuple(self.config.modes),
            tenants=tuple(t.name for t in self.config.tenants),
        )

    # --------------------------------------------------------------- transport

    def _open(self) -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
        if self._client is None or self._sem is None:
            c = self.config
            self._client = httpx.AsyncClient(
                base_url=self._base_url,
                timeout=httpx.Timeout(c.timeout_s, connect=c.connect_timeout_s),
                limits=httpx.Limits(
                    max_connections=c.concurrency, max_keepalive_connections=c.concurrency, keepalive_expiry=30.0
                ),
                verify=c.verify_tls,
                transport=self._transport
                if self._transport is not None
                else (FastTransport(verify=c.verify_tls, max_idle=c.concurrency) if c.transport == "fast" else None),
            )
            self._sem = asyncio.Semaphore(c.concurrency)
        return self._client, self._sem

    def _identity(self, tenant: object) -> tuple[dict[str, str], object]:
        """(headers, value for ``{tenant}``) of a request made as ``tenant``."""
        if isinstance(tenant, str) and tenant in self._identities:
            ident, headers = self._identities[tenant]
            return headers, ident.filter_value
        if self.config.untrusted_tenant == "first":
            return self._identities[self._first][1], tenant
        return self._anonymous, tenant

    def _fail(self, message: str) -> TargetError:
        return TargetError(self._secrets.scrub(f"{self.name}: {message}"))

    def _build(self, ep: _Endpoint, values: Mapping[str, Any], headers: dict[str, str]) -> httpx.Request:
        client, _ = self._open()
        extra = ep.headers.render(values) if ep.headers is not None else None
        body = ep.body.render(values) if ep.body is not None else None
        return client.build_request(
            ep.method,
            ep.url.render(values),
            headers=headers | {k: str(v) for k, v in extra.items()} if extra else headers,
            params=ep.params.render(values) if ep.params is not None else None,
            content=json.dumps(body, separators=(",", ":"), default=str).encode("utf-8") if body is not None else None,
        )

    async def _send(self, ep: _Endpoint, values: Mapping[str, Any], headers: dict[str, str]) -> httpx.Response:
        """Send with retries; the returned response is open (stream) and must be closed by the caller."""
        client, _ = self._open()
        retry = self.config.retry
        if ep.body is not None:
            headers = headers | {"content-type": "application/json"}
        for attempt in range(retry.attempts):
            last = attempt == retry.attempts - 1
            try:
                response = await client.send(self._build(ep, values, headers), stream=True)
            except httpx.TimeoutException as exc:
                raise self._fail(f"{ep.op}: timed out ({type(exc).__name__})") from None
            except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                if last:
                    raise self._fail(f"{ep.op}: connection failed: {exc}") from None
                await asyncio.sleep(self._backoff(attempt))
                continue
            except httpx.HTTPError as exc:
                raise self._fail(f"{ep.op}: request failed: {type(exc).__name__}: {exc}") from None
            if response.status_code in retry.on_status and not last:
                wait = parse_retry_after(response.headers.get("retry-after"))
                await response.aclose()
                await asyncio.sleep(min(retry.max_wait_s, wait if wait is not None else self._backoff(attempt)))
                continue
            return response
        raise self._fail(f"{ep.op}: no attempt left")  # pragma: no cover - the loop always returns or raises

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter (AWS Architecture Blog, 2015), capped by ``max_wait_s``."""
        retry = self.config.retry
        return min(retry.max_wait_s, retry.backoff_s * (2.0**attempt)) * (0.5 + random.random() / 2)

    async def _call(self, ep: _Endpoint, values: Mapping[str, Any], headers: dict[str, str]) -> _Reply:
        _, sem = self._open()
        async with sem:
            response = await self._send(ep, values, headers)
            try:
                content = await response.aread()
            except httpx.HTTPError as exc:
                raise self._fail(f"{ep.op}: reading the reply failed: {exc}") from None
            finally:
                await response.aclose()
        text = content.decode("utf-8", errors="replace")
        data: Any = None
        if content:
            try:
                data = json.loads(content)
            except ValueError:
                data = None
        return _Reply(response.status_code, data, text)

    def _blocked(self, reply: _Reply) -> bool:
        if reply.status in self._block_codes:
            return True
        return self._block_when is not None and truthy(self._block_when(reply.data))

    def _unexpected(self, ep: _Endpoint, reply: _Reply) -> TargetError:
        snippet = reply.text[:_MAX_ERROR_BODY].replace("\n", " ")
        return self._fail(f"{ep.op}: HTTP {reply.status}: {snippet}")

    # ----------------------------------------------------------------- queries

    def _query_values(self, query: Query) -> tuple[dict[str, Any], dict[str, str]]:
        headers, value = self._identity(query.tenant)
        values = {"query": query.text, "tenant": value, "mode": query.mode, "top_k": query.top_k}
        return values | {"stream": query.stream}, headers

    async def _ask(self, op: str, query: Query) -> Response:
        if op == "answer" and query.stream and "answer_stream" in self._endpoints:
            op = "answer_stream"
        ep = self._endpoints.get(op)
        if ep is None:
            raise self._fail(f"no '{op}' endpoint configured")
        values, headers = self._query_values(query)
        if ep.stream is not None:
            return await self._ask_stream(ep, values, headers)
        reply = await self._call(ep, values, headers)
        response = Response()
        if self._blocked(reply):
            response.blocked = True
            ep.rmap.fill(reply.data, response, answer=False)
            return response
        if reply.status >= 400:
            raise self._unexpected(ep, reply)
        ep.rmap.fill(reply.data, response, answer=op == "answer")
        if response.error is not None:
            response.error = self._secrets.scrub(response.error)
        return response

    async def _ask_stream(self, ep: _Endpoint, values: Mapping[str, Any], headers: dict[str, str]) -> Response:
        assert ep.stream is not None and ep.delta is not None
        _, sem = self._open()
        response = Response()
        pieces: list[str] = []
        async with sem:
            reply = await self._send(ep, values, headers)
            try:
                if reply.status_code >= 400 or "text/event-stream" not in reply.headers.get("content-type", ""):
                    content = await reply.aread()
                    data = _loads(content)
                    full = _Reply(reply.status_code, data, content.decode("utf-8", errors="replace"))
                    if self._blocked(full):
                        response.blocked = True
                        ep.rmap.fill(data, response, answer=False)
                        return response
                    if full.status >= 400:
                        raise self._unexpected(ep, full)
                    ep.rmap.fill(data, response)
                    return response
                async for data_text in parse_sse(reply.aiter_lines()):
                    if data_text.strip() == ep.stream.done:
                        break
                    event = _loads(data_text.encode("utf-8"))
                    if event is None:
                        continue
                    piece = ep.delta(event)
                    if isinstance(piece, str):
                        pieces.append(piece)
                    # An event without a piece (the closing summary) may carry the final answer.
                    ep.rmap.fill(event, response, answer=not isinstance(piece, str))
                    if self._block_when is not None and truthy(self._block_when(event)):
                        response.blocked = True  # signalled inside the stream: the pieces before it stay
            except httpx.HTTPError as exc:
                raise self._fail(f"{ep.op}: stream failed: {exc}") from None
            finally:
                await reply.aclose()
        response.pieces = pieces
        if response.answer is None:
            response.answer = "".join(pieces)
        if response.error is not None:
            response.error = self._secrets.scrub(response.error)
        return response

    async def retrieve(self, query: Query) -> Response:
        """Retrieval through the ``retrieve`` endpoint; a block status or body flag gives ``blocked``."""
        return await self._ask("retrieve", query)

    async def answer(self, query: Query) -> Response:
        """An answer through the ``answer`` endpoint, or ``answer_stream`` for ``query.stream`` when configured
        (a streamed answer's pieces kept in ``Response.pieces``)."""
        return await self._ask("answer", query)

    # ------------------------------------------------------------------ corpus

    def _require(self, op: str) -> _Endpoint:
        ep = self._endpoints.get(op)
        if ep is None:
            raise self._fail(f"no '{op}' endpoint configured")
        return ep

    async def ingest(self, doc: Document) -> IngestResult:
        """Plant ``doc`` as its tenant; ``accepted`` false when the service quarantined or refused it.

        A file (``doc.content``) is sent as ``{content_base64}`` with its
        ``{content_type}``; raises :class:`TargetError` when ``ingest.accepts``
        does not list its content type.
        """
        ep = self._require("ingest")
        assert self.config.ingest is not None
        media = doc.content_type.split(";")[0].strip().lower() if doc.content is not None else "text/plain"
        if media not in self.config.ingest.accepted_types:
            raise self._fail(f"ingest: the service does not accept {media} (ingest.accepts)")
        raw = doc.content if doc.content is not None else doc.text.encode("utf-8")
        headers, value = self._identity(doc.tenant)
        values = {
            "doc_id": doc.id,
            "text": doc.text,
            "tenant": value,
            "metadata": dict(doc.metadata),
            "source": doc.metadata.get("source", ""),
            "classification": doc.metadata.get("classification", ""),
            "content_base64": base64.b64encode(raw).decode("ascii"),
            "content_type": media,
        }
        reply = await self._call(ep, values, headers)
        response = Response()
        ep.rmap.fill(reply.data, response, answer=False)
        if self._blocked(reply):
            return IngestResult(accepted=False, events=response.events)
        if reply.status >= 400:
            raise self._unexpected(ep, reply)
        accepted = True
        if ep.rmap.accepted is not None:
            flag = ep.rmap.accepted(reply.data)
            accepted = flag is None or truthy(flag)
        return IngestResult(accepted=accepted, events=response.events)

    async def delete(self, doc_id: str, tenant: str) -> None:
        """Delete ``doc_id`` as ``tenant``; a 404 counts as already deleted."""
        ep = self._require("delete")
        headers, value = self._identity(tenant)
        reply = await self._call(ep, {"doc_id": doc_id, "tenant": value}, headers)
        if reply.status >= 400 and reply.status != 404:
            raise self._unexpected(ep, reply)

    async def document_ids(self) -> set[str]:
        """Ids listed by the ``documents`` endpoint (called once per identity when listing is per tenant)."""
        ep = self._require("documents")
        names = list(self._identities) if self.config.documents_per_tenant else [self._first]
        replies = await asyncio.gather(
            *(self._call(ep, {"tenant": self._identities[n][0].filter_value}, self._identities[n][1]) for n in names)
        )
        ids: set[str] = set()
        for reply in replies:
            if reply.status >= 400:
                raise self._unexpected(ep, reply)
            listed = ep.rmap.ids(reply.data) if ep.rmap.ids is not None else reply.data
            if not isinstance(listed, list):
                raise self._fail("documents: the reply holds no list of ids")
            ids.update(str(i) for i in listed)
        return ids

    async def close(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
            self._sem = None


def _loads(content: bytes) -> Any:
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return None
