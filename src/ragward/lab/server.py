"""``ragward lab serve``: the reference lab as an HTTP RAG service with per-tenant bearer tokens.

The service exists so that the ``http`` adapter is tested against a real
service, and so that a scan over HTTP can be compared with the in-process scan
(they must give the same outcomes). It is a thin transport over
:class:`~ragward.lab.target.LabTarget`: the lab's profile decides what is
filtered, guarded or leaked, exactly as in process.

Authentication: ``Authorization: Bearer <token>``, one token per tenant (a
YAML mapping ``tenant: token``; generated with :func:`secrets.token_urlsafe`
and written with mode 0600 when the file does not exist). A missing or unknown
token is refused with 401. The request's scope is the token's tenant, unless
the body carries a ``tenant`` field: a string naming another known tenant is
refused with 403, and any other value (``null``, ``""``, ``{"$ne": ""}``, an
injected string) is passed to the lab as it is, so the lab's profile decides
(the isolation suite probes exactly that). Documents are always written and
deleted as the token's tenant.

Endpoints (JSON)::

    GET    /healthz                      {"status": "ok", "profile": ...}            (no token)
    POST   /v1/retrieve                  {query, tenant?, mode, top_k} -> {contexts, events, blocked, error}
    POST   /v1/answer                    {query, tenant?, mode, top_k, stream?} -> {answer, contexts, events,
                                          blocked, cached, error}; stream=true gives server-sent events
                                          {"delta": "..."} as the lab sends the pieces, then {answer, contexts,
                                          events, blocked, cached, error}, then [DONE]
    POST   /v1/documents                 {id, text, metadata?} -> {accepted, events}; a file (a PDF):
                                          {id, content_base64, content_type: "application/pdf", text?,
                                          metadata?}; a body that is neither is refused with 422
    DELETE /v1/documents/{doc_id}        -> {deleted: true}
    GET    /v1/documents                 -> {ids: [...]} (every document id in the lab's store)

A streamed answer is real streaming: each piece is sent as soon as the lab's
output path releases it (:meth:`ragward.lab.pipeline.RagLab.answer` with
``stream``), so what a client receives before a block is exactly what the lab
let out. A block is signalled after the pieces: the refusal as a last
``delta``, then the final event with ``"blocked": true`` and the guardrail
events (a ``late_block`` event when the blocked text had already been sent).
An error before the first piece is a 400 JSON reply; one after it, a final
event with ``error``.

Run: ``ragward lab serve --profile vulnerable --port 8765 --tokens-file tokens.yaml``
(127.0.0.1 by default).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import os
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml
from pydantic import BaseModel, ConfigDict, Field

from ragward.errors import ConfigError, RagwardError
from ragward.model import GuardrailEvent
from ragward.settings import get_settings
from ragward.targets.base import Chunk, Document, Query, Response

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ragward.lab.target import LabTarget

__all__ = ["chunk_json", "create_app", "event_json", "lab_app", "load_tokens", "response_json", "serve"]

lab_app = typer.Typer(help="The reference RAG lab.", no_args_is_help=True)

#: Largest ``content_base64`` accepted (characters; about 10 MB of file).
MAX_FILE_BASE64_CHARS = 14_000_000


@lab_app.callback()
def _lab() -> None:
    """The reference RAG lab (``ragward lab serve``)."""


class RetrieveRequest(BaseModel):
    """Body of ``/v1/retrieve`` and ``/v1/answer``; ``tenant`` may be any JSON value (or absent)."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(max_length=8000)
    tenant: Any = None
    mode: str = "vector"
    top_k: int = Field(4, ge=1, le=50)
    stream: bool = False


class IngestRequest(BaseModel):
    """Body of ``POST /v1/documents``: a text document (``text``) or a file.

    A file is ``content_base64`` (standard base64, RFC 4648 §4) with its
    ``content_type`` (``application/pdf``); ``text`` is then optional (the
    file's visible text, unused by the lab). For ``text/plain``, ``text`` wins
    and ``content_base64``, if alone, is decoded as UTF-8.
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=256)
    text: str = Field("", max_length=100_000)
    content_base64: str | None = Field(None, max_length=MAX_FILE_BASE64_CHARS)
    content_type: str = Field("text/plain", max_length=100)
    tenant: Any = None
    metadata: dict[str, str] = Field(default_factory=dict)

    def document(self, tenant: str) -> Document:
        """The :class:`Document` to ingest as ``tenant``; raises ``ValueError`` for a body that is not one."""
        media = self.content_type.split(";")[0].strip().lower()
        content: bytes | None = None
        if self.content_base64 is not None:
            try:
                content = base64.b64decode(self.content_base64, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("content_base64 is not valid base64") from None
        if media == "text/plain":
            text = self.text
            if not text and content is not None:
                try:
                    text = content.decode("utf-8")
                except UnicodeDecodeError:
                    raise ValueError("text/plain content is not UTF-8") from None
            if not text.strip():
                raise ValueError("a text document needs a non-empty text")
            return Document(self.id, text, tenant, dict(self.metadata))
        if content is None:
            raise ValueError(f"a {media} document needs content_base64")
        return Document(self.id, self.text, tenant, dict(self.metadata), content=content, content_type=media)


def event_json(event: GuardrailEvent) -> dict[str, Any]:
    """A guardrail event as JSON: guardrail, layer, action, reason, score, doc_id."""
    return {
        "guardrail": event.guardrail,
        "layer": event.layer.value,
        "action": event.action.value,
        "reason": event.reason,
        "score": event.score,
        "doc_id": event.doc_id,
    }


def chunk_json(chunk: Chunk) -> dict[str, Any]:
    """A retrieved chunk as JSON: id, doc_id, text, tenant, score, metadata."""
    return {
        "id": chunk.id,
        "doc_id": chunk.doc_id,
        "text": chunk.text,
        "tenant": chunk.tenant,
        "score": chunk.score,
        "metadata": dict(chunk.metadata),
    }


def response_json(response: Response, *, answer: bool = True) -> dict[str, Any]:
    """A :class:`Response` as the service's JSON reply."""
    out: dict[str, Any] = {
        "contexts": [chunk_json(c) for c in response.contexts],
        "events": [event_json(e) for e in response.events],
        "blocked": response.blocked,
        "refused": response.refused,
        "cached": response.cached,
        "error": response.error,
    }
    if answer:
        out["answer"] = response.answer
    return out


def load_tokens(path: Path, tenants: tuple[str, ...]) -> dict[str, str]:
    """``{tenant: token}`` from YAML ``path``; created with fresh tokens (mode 0600) when missing.

    Raises :class:`ConfigError` for an unreadable file, a non-mapping, an
    unknown tenant or an empty/duplicate token.
    """
    if not path.exists():
        tokens = {t: secrets.token_urlsafe(24) for t in tenants}
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            yaml.safe_dump(tokens, fh, sort_keys=True)
        return tokens
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read tokens file {path}: {type(exc).__name__}") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ConfigError(f"tokens file {path} must map tenant names to token strings")
    unknown = sorted(set(data) - set(tenants))
    if unknown:
        raise ConfigError(f"tokens file {path}: unknown tenant(s) {', '.join(unknown)}")
    values = list(data.values())
    if any(len(v) < 16 for v in values) or len(set(values)) != len(values):
        raise ConfigError(f"tokens file {path}: tokens must be distinct and at least 16 characters")
    return dict(data)


def _tenant_of(tokens: Mapping[str, str], authorization: str | None) -> str | None:
    """The tenant whose token the ``Authorization: Bearer`` header carries (constant-time compare)."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    given = authorization[7:].strip().encode("utf-8")
    found = None
    for tenant, token in tokens.items():
        if hmac.compare_digest(given, token.encode("utf-8")):
            found = tenant
    return found


def create_app(target: LabTarget, tokens: Mapping[str, str]) -> FastAPI:
    """The FastAPI application serving ``target`` with ``tokens`` (``{tenant: token}``); see the module docstring."""
    from fastapi import FastAPI, Header, HTTPException
    from fastapi.responses import JSONResponse, StreamingResponse

    known = set(target.capabilities().tenants)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await target.close()

    app = FastAPI(title="ragward lab", version="1", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)

    def principal(authorization: str | None) -> str:
        tenant = _tenant_of(tokens, authorization)
        if tenant is None:
            raise HTTPException(401, "missing or unknown bearer token", headers={"WWW-Authenticate": "Bearer"})
        return tenant

    def scope(body: RetrieveRequest | IngestRequest, tenant: str) -> object:
        if "tenant" not in body.model_fields_set:
            return tenant
        value: object = body.tenant
        if isinstance(value, str) and value in known and value != tenant:
            raise HTTPException(403, "the tenant does not match the credentials")
        return value

    @app.exception_handler(HTTPException)
    async def http_error(request: object, exc: HTTPException) -> JSONResponse:
        blocked = exc.status_code in (401, 403)
        return JSONResponse(
            {"error": exc.detail, "blocked": blocked, "contexts": [], "events": []},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    async def run(op: str, query: Query) -> Response:
        try:
            if op == "retrieve":
                return await target.retrieve(query)
            return await target.answer(query)
        except RagwardError as exc:
            raise HTTPException(400, exc.message) from None

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "profile": target.profile.name}

    @app.post("/v1/retrieve")
    async def retrieve(body: RetrieveRequest, authorization: str | None = Header(None)) -> dict[str, Any]:
        tenant = principal(authorization)
        query = Query(text=body.query, tenant=scope(body, tenant), mode=body.mode, top_k=body.top_k)
        return response_json(await run("retrieve", query), answer=False)

    @app.post("/v1/answer", response_model=None)
    async def answer(
        body: RetrieveRequest, authorization: str | None = Header(None)
    ) -> dict[str, Any] | StreamingResponse:
        tenant = principal(authorization)
        query = Query(text=body.query, tenant=scope(body, tenant), mode=body.mode, top_k=body.top_k, stream=body.stream)
        if not body.stream:
            return response_json(await run("answer", query))
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[str | None] = asyncio.Queue()

        def on_piece(piece: str) -> None:  # called from the lab's worker thread
            loop.call_soon_threadsafe(pieces.put_nowait, piece)

        task = asyncio.ensure_future(target.answer(query, on_piece=on_piece))
        # Runs after every piece already queued: the thread queued them before its result.
        task.add_done_callback(lambda _: pieces.put_nowait(None))
        first = await pieces.get()
        if first is None:
            error = task.exception()
            if isinstance(error, RagwardError):
                raise HTTPException(400, error.message)
        return StreamingResponse(
            _sse(first, pieces, task), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    @app.post("/v1/documents")
    async def ingest(body: IngestRequest, authorization: str | None = Header(None)) -> dict[str, Any]:
        tenant = principal(authorization)
        if "tenant" in body.model_fields_set and body.tenant != tenant:
            raise HTTPException(403, "documents are written as the token's tenant")
        try:
            doc = body.document(tenant)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        try:
            result = await target.ingest(doc)
        except RagwardError as exc:
            raise HTTPException(400, exc.message) from None
        return {"accepted": result.accepted, "events": [event_json(e) for e in result.events]}

    @app.delete("/v1/documents/{doc_id}")
    async def delete(doc_id: str, authorization: str | None = Header(None)) -> dict[str, bool]:
        tenant = principal(authorization)
        try:
            await target.delete(doc_id, tenant)
        except RagwardError as exc:
            raise HTTPException(400, exc.message) from None
        return {"deleted": True}

    @app.get("/v1/documents")
    async def documents(authorization: str | None = Header(None)) -> dict[str, list[str]]:
        principal(authorization)
        try:
            ids = await target.document_ids()
        except RagwardError as exc:
            raise HTTPException(400, exc.message) from None
        return {"ids": sorted(ids)}

    return app


def _event(data: object) -> bytes:
    return b"data: " + json.dumps(data).encode("utf-8") + b"\n\n"


async def _sse(
    first: str | None, pieces: asyncio.Queue[str | None], task: asyncio.Future[Response]
) -> AsyncIterator[bytes]:
    """Server-sent events: one ``{"delta"}`` per piece as the lab sends it (``first``, then from ``pieces`` until
    ``None``), then the final response (answer, contexts, events, blocked, cached, error), then ``[DONE]``."""
    piece = first
    while piece is not None:
        yield _event({"delta": piece})
        piece = await pieces.get()
    try:
        response = task.result()
    except RagwardError as exc:
        response = Response(error=exc.message)
    yield _event(response_json(response))
    yield b"data: [DONE]\n\n"


@lab_app.command("serve")
def serve(
    profile: Annotated[str, typer.Option(help="Lab profile: vulnerable or hardened.")] = "vulnerable",
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8765,
    data_dir: Annotated[
        Path | None, typer.Option(help="Lab data folder (default $RAGWARD_HOME/lab/<profile>).")
    ] = None,
    tokens_file: Annotated[
        Path | None,
        typer.Option(help="YAML {tenant: token}; created when missing (default $RAGWARD_HOME/lab/tokens.yaml)."),
    ] = None,
) -> None:
    """Serve the reference lab over HTTP with per-tenant bearer tokens (see ragward.lab.server)."""
    import uvicorn

    from ragward.lab.profiles import get_profile
    from ragward.lab.target import LabTarget

    get_profile(profile)  # ConfigError for an unknown profile, before loading anything
    settings = get_settings()
    target = LabTarget(profile, (data_dir or settings.lab_dir / profile).expanduser())
    path = (tokens_file or settings.lab_dir / "tokens.yaml").expanduser()
    tokens = load_tokens(path, target.capabilities().tenants)
    typer.echo(f"ragward lab ({profile}) on http://{host}:{port} — bearer tokens in {path}", err=True)
    uvicorn.run(create_app(target, tokens), host=host, port=port, log_level="warning", access_log=False)
