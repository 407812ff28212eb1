"""Typed dependencies: the context, database sessions, the principal and scope checks.

Every route declares its scopes with :func:`requires`; the check is all-of
(a route needing two scopes refuses a token with one). Authentication:

* no ``Authorization`` header → 401 ``missing_token``;
* not ``Bearer <token>``, unknown or revoked token → 401 ``invalid_token``;
* past ``expires_at`` → 401 ``expired_token``;
* a required scope missing → 403 ``missing_scope`` naming the first one missing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Path, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from ragward.service.api import schemas
from ragward.service.auth import Principal, Scope, hash_token, looks_like_token
from ragward.service.context import ServiceContext
from ragward.service.db.repositories import Tokens
from ragward.service.db.types import utcnow
from ragward.service.errors import BadRequest, MissingScope, Unauthorized

REQUIRED_SCOPES_KEY = "x-required-scopes"

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearerToken",
    description="An API token created with `ragward admin token create` (`Authorization: Bearer rw_…`).",
)


async def get_context(request: Request) -> ServiceContext:
    """The process's :class:`ServiceContext` (set by the app factory)."""
    ctx: ServiceContext = request.app.state.ctx
    return ctx


ContextDep = Annotated[ServiceContext, Depends(get_context)]


def read_session(ctx: ContextDep) -> Iterator[Session]:
    """A read-only session for the request."""
    with ctx.db.read() as session:
        yield session


def write_session(ctx: ContextDep) -> Iterator[Session]:
    """A write session for the request (the route commits)."""
    with ctx.db.write() as session:
        yield session


ReadSession = Annotated[Session, Depends(read_session)]
WriteSession = Annotated[Session, Depends(write_session)]


def authenticate(
    request: Request,
    ctx: ContextDep,
    _scheme: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
) -> Principal:
    """The principal of the request's bearer token; raises :class:`Unauthorized`."""
    header = request.headers.get("authorization")
    if header is None or not header.strip():
        raise Unauthorized("missing_token")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not looks_like_token(token):
        raise Unauthorized("invalid_token")
    with ctx.db.read() as session:
        row = Tokens(session).by_hash(hash_token(token))
    if row is None or row.revoked_at is not None:
        raise Unauthorized("invalid_token")
    if row.expires_at is not None and row.expires_at <= utcnow():
        raise Unauthorized("expired_token")
    scopes = frozenset(Scope(s) for s in row.scopes.split() if s in Scope._value2member_map_)
    return Principal(tenant_id=row.tenant_id, token_id=row.id, scopes=scopes)


class _RequireScopes:
    """Dependency: the principal, if it holds every one of ``scopes``."""

    def __init__(self, scopes: tuple[Scope, ...]) -> None:
        self.scopes = scopes

    async def __call__(self, principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        missing = principal.missing(self.scopes)
        if missing is not None:
            raise MissingScope(missing.value)
        return principal


IdPath = Annotated[str, Path(description="A UUID.", json_schema_extra=schemas.UUID_SCHEMA)]
"""A path parameter documented as a UUID but parsed by :func:`parse_uuid` (400 with the route's code)."""

PrincipalDep = Annotated[Principal, Depends(authenticate)]
"""The authenticated principal (cached per request; scopes are checked by :func:`operation`)."""


def _describe(codes: tuple[str, ...]) -> str:
    return "One of: " + ", ".join(f"`{c}`" for c in codes)


def operation(
    *scopes: Scope,
    errors: dict[int, tuple[str, ...]] | None = None,
    invalid_body: str | None = None,
    rate_limited: bool = False,
    enqueue: bool = False,
    links: tuple[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Keyword arguments of a route decorator: scope check, OpenAPI extras and error bodies.

    The scope check is a route dependency, so declaring the scopes once both
    enforces them and documents them (``x-required-scopes``). ``errors`` maps
    a status to the error codes the route returns with it; ``links`` adds
    OpenAPI links to the success response (status, links), so clients and
    stateful testers can follow a created object's id.
    """
    if not scopes:
        raise ValueError("a route must require at least one scope")
    responses: dict[int | str, dict[str, Any]] = {
        401: {"model": schemas.UnauthorizedError, "description": "Missing, invalid or expired token."},
        403: {
            "model": schemas.MissingScopeError,
            "description": "The token lacks a required scope: " + ", ".join(s.value for s in scopes),
        },
        413: {"model": schemas.PayloadTooLargeError, "description": "Request body exceeded the 1 MiB cap."},
        503: {"model": schemas.UnavailableError, "description": "The database is unreachable."},
    }
    for status, codes in (errors or {}).items():
        name = f"Error{status}" + "Or".join(c.title().replace("_", "") for c in codes)
        responses[status] = {"model": schemas.error_model(name, codes), "description": _describe(codes)}
    if rate_limited:
        responses[429] = {
            "model": schemas.RateLimitedError,
            "description": "Six triggers per asset per rolling hour.",
            "headers": {
                "Retry-After": {
                    "description": "Seconds until a trigger is accepted again.",
                    "schema": {"type": "integer", "minimum": 1},
                }
            },
        }
    if enqueue:
        responses[502] = {
            "model": schemas.EnqueueFailedError,
            "description": "The scan queue rejected the job; retry after a short backoff.",
        }
    if links is not None:
        responses[links[0]] = {"links": links[1]}
    extra: dict[str, Any] = {REQUIRED_SCOPES_KEY: [s.value for s in scopes]}
    if invalid_body is not None:
        extra["x-invalid-body"] = invalid_body
    return {
        "dependencies": [Depends(_RequireScopes(tuple(scopes)))],
        "openapi_extra": extra,
        "responses": responses,
        "description": "Required scope"
        + ("s" if len(scopes) > 1 else "")
        + ": "
        + ", ".join(f"`{s.value}`" for s in scopes)
        + ".",
    }


def parse_uuid(value: str | None, code: str) -> uuid.UUID:
    """Parse a canonical UUID (8-4-4-4-12 hex) or raise ``BadRequest(code)``."""
    if value is None or len(value) != 36:
        raise BadRequest(code)
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise BadRequest(code) from None
    if str(parsed) != value.lower():
        raise BadRequest(code)
    return parsed
