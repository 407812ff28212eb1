"""The one place where errors become HTTP responses.

:func:`render` turns a :class:`ragward.service.errors.ServiceError` into a JSON
response with its status, body and headers. :func:`install` registers the
handlers that map everything else onto a ``ServiceError`` first:

* framework 404/405 → ``not_found`` / ``method_not_allowed``;
* request validation errors → 400 with the code of the field at fault
  (``invalid_ai_asset_id``, ``invalid_cron``, …) or the route's own code
  (``x-invalid-body`` in its OpenAPI extras);
* database connection errors → 503 ``database_unavailable``;
* anything else → 500 ``internal_error`` (logged; never a traceback in a body).

:class:`BodyLimitMiddleware` enforces the 1 MiB cap on the bytes actually
received, so a chunked body without ``Content-Length`` is cut at the cap too
(the failure of services whose cap only read ``Content-Length``).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragward.service.errors import (
    BadRequest,
    InternalError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServiceError,
    Unavailable,
)

log = logging.getLogger(__name__)

#: Body fields whose validation failure has its own error code.
FIELD_CODES = {
    "ai_asset_id": "invalid_ai_asset_id",
    "cron": "invalid_cron",
    "status": "invalid_finding_status",
    "name": "invalid_name",
    "kind": "invalid_kind",
    "target": "invalid_target_config",
}
INVALID_BODY_KEY = "x-invalid-body"


def _dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def render(exc: ServiceError) -> Response:
    """The JSON response of ``exc``: ``exc.status``, ``exc.body()``, ``exc.headers()``."""
    return Response(
        content=_dumps(exc.body()),
        status_code=exc.status,
        headers=exc.headers(),
        media_type="application/json",
    )


def _validation_code(request: Request, exc: RequestValidationError) -> str:
    route = request.scope.get("route")
    extras = getattr(route, "openapi_extra", None) or {}
    default = str(extras.get(INVALID_BODY_KEY, "invalid_request"))
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        if not loc or loc[0] != "body" or err.get("type") == "json_invalid":
            continue
        if err.get("type") in ("union_tag_invalid", "union_tag_not_found"):
            return FIELD_CODES["kind"]
        for part in loc[1:]:
            if isinstance(part, str) and part in FIELD_CODES:
                return FIELD_CODES[part]
    return default


def to_service_error(request: Request, exc: Exception) -> ServiceError:
    """Map any exception onto the ServiceError that describes it to a client."""
    if isinstance(exc, ServiceError):
        return exc
    if isinstance(exc, RequestValidationError):
        return BadRequest(_validation_code(request, exc))
    if isinstance(exc, StarletteHTTPException):
        if exc.status_code == 404:
            return NotFound("not_found")
        if exc.status_code == 405:
            return MethodNotAllowed(allow=allowed_methods(request) or (exc.headers or {}).get("Allow"))
        if exc.status_code == 400:
            return BadRequest(request_body_code(request))
        error = ServiceError("http_error")
        error.status = exc.status_code
        return error
    if isinstance(exc, (OperationalError, PoolTimeout)) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
        log.warning("database unavailable: %s", type(exc).__name__)
        return Unavailable()
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return InternalError()


def allowed_methods(request: Request) -> str | None:
    """Every method the OpenAPI document lists for the request's path (``GET, POST``), or None.

    The router only knows the methods of the first route that matched the path;
    a path served by several routes (``GET`` and ``POST /api/v2/rag-runs``)
    needs them all in ``Allow``.
    """
    table = getattr(request.app.state, "allow_table", None)
    if table is None:
        table = []
        for template, item in request.app.openapi().get("paths", {}).items():
            pattern = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$")
            table.append((pattern, ", ".join(sorted(m.upper() for m in item))))
        request.app.state.allow_table = table
    for pattern, methods in table:
        if pattern.match(request.url.path):
            return str(methods)
    return None


def request_body_code(request: Request) -> str:
    """The route's error code for a body that cannot be read or parsed."""
    route = request.scope.get("route")
    extras = getattr(route, "openapi_extra", None) or {}
    return str(extras.get(INVALID_BODY_KEY, "invalid_request"))


async def _handle(request: Request, exc: Exception) -> Response:
    return render(to_service_error(request, exc))


def install(app: FastAPI) -> None:
    """Register the handlers (service errors, framework errors, validation, database, bugs)."""
    for exc_type in (
        ServiceError,
        RequestValidationError,
        StarletteHTTPException,
        DBAPIError,
        PoolTimeout,
        Exception,
    ):
        app.add_exception_handler(exc_type, _handle)


class _TooLarge(Exception):
    """Raised from ``receive`` once the cap is passed (turned into 413 by the middleware)."""


class BodyLimitMiddleware:
    """Pure ASGI middleware: 413 once more than ``limit`` body bytes have been received.

    A declared ``Content-Length`` above the cap is refused before any byte is
    read; otherwise the bytes of each ``http.request`` message are counted as
    they arrive, whatever the framing (chunked, lying or absent length). When
    the cap is passed, whatever the application was doing is replaced by the
    413 response, as long as no response has started.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the application with a counting ``receive``."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.limit:
                    await self._reject(send)
                    return
        received = 0
        too_large = False
        started = False

        async def counted() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    too_large = True
                    raise _TooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if too_large:
                if not started:
                    started = True
                    await self._reject(send)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except Exception:
            if not too_large:
                raise
        if too_large and not started:
            started = True
            await self._reject(send)

    async def _reject(self, send: Send) -> None:
        response = render(PayloadTooLarge(self.limit))
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": [*response.raw_headers, (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": bytes(response.body), "more_body": False})
