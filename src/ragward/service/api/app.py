"""The app factory: ``create_app(settings, *, target_factory=None)``.

The app serves API v2 under ``/api/v2`` with its OpenAPI document at
``/api/v2/openapi.json``. On startup it runs the embedded worker threads and
the maintenance loop (scheduler + lease reaper) when the settings ask for
them (``embedded_workers``, ``scheduler_enabled``); ``ragward serve`` runs all
three in one process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ragward.service.api import errors
from ragward.service.api.routes import assets, findings, health, runs, schedules
from ragward.service.context import ServiceContext, TargetFactory
from ragward.service.runtime import Runtime
from ragward.service.settings import DEFAULT_TARGET_KINDS, ServiceSettings
from ragward.service.targets import published_schema

API_PREFIX = "/api/v2"
OPENAPI_URL = f"{API_PREFIX}/openapi.json"

DESCRIPTION = """\
RAG security scans drive a configured retrieval pipeline with canary-poisoned
documents, cross-tenant probes and prompt-injection payloads, then record which
guardrails caught them (OWASP LLM01/LLM02/LLM08, MITRE ATLAS AML.T0051).

Every route needs a bearer token with all of the route's scopes. Errors are JSON:
`{"error": "<code>"}` plus fields named in each response. An object of another
tenant answers exactly like one that does not exist.
"""


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document without FastAPI's 422 bodies (this API answers 400 with its codes)."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    for path_item in schema.get("paths", {}).values():
        for op in path_item.values():
            if isinstance(op, dict):
                op.get("responses", {}).pop("422", None)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    components.update(published_schema(DEFAULT_TARGET_KINDS)[1])
    app.openapi_schema = schema
    return schema


def create_app(
    settings: ServiceSettings | None = None,
    *,
    target_factory: TargetFactory | None = None,
    context: ServiceContext | None = None,
) -> FastAPI:
    """Build the API app.

    ``target_factory`` (``TargetConfig -> Target``) replaces the default
    :func:`ragward.targets.config.build_target` (tests inject
    :class:`ragward.targets.mock.MockTarget`); ``context`` reuses an existing
    :class:`ServiceContext` (the caller then owns and closes it). Runs the
    database migrations when it creates the context.
    """
    settings = settings or (context.settings if context is not None else ServiceSettings())
    owns_context = context is None
    ctx = context or ServiceContext.create(settings, target_factory=target_factory)
    runtime = Runtime(ctx, workers=settings.embedded_workers, maintenance=settings.scheduler_enabled)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        try:
            yield
        finally:
            runtime.stop()
            if owns_context:
                ctx.close()

    app = FastAPI(
        title="ragward RAG runs API",
        version="2.0.0",
        description=DESCRIPTION,
        openapi_url=OPENAPI_URL,
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
        generate_unique_id_function=lambda route: route.name,  # operationId = the function's name
    )
    app.state.ctx = ctx
    app.state.runtime = runtime
    errors.install(app)
    for router in (runs.router, assets.router, findings.router, schedules.router, health.router):
        app.include_router(router)
    app.add_middleware(errors.BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
