"""The service's errors: each carries its HTTP status, its JSON body and its headers.

::

    ServiceError                      base (status, code, body(), headers())
    ├── BadRequest            400     {"error": code[, "detail": …]}  invalid ids, filters, bodies
    ├── Unauthorized          401     missing_token / invalid_token / expired_token
    ├── MissingScope          403     {"error":"missing_scope","required_scope":…}
    ├── NotFound              404     rag_asset_not_found, rag_run_not_found, finding_not_found, …
    ├── MethodNotAllowed      405     method_not_allowed
    ├── PayloadTooLarge       413     {"error":"payload_too_large","limit_bytes":1048576}
    ├── RateLimited           429     {"error":"rate_limited","retry_after_seconds":N} + Retry-After
    ├── InternalError         500     internal_error (never a traceback)
    ├── EnqueueFailed         502     enqueue_failed
    └── Unavailable           503     database_unavailable

Nothing here knows HTTP frameworks: :mod:`ragward.service.api.errors` is the one
place that turns these into responses. A :class:`NotFound` never says whether
the object exists in another tenant: its body depends on the kind of object
only, so another tenant's id and an unknown id give the same bytes.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """Base of the service's errors. ``status`` is the HTTP status, ``code`` the error string."""

    status = 500
    code = "internal_error"

    def __init__(self, code: str | None = None, *, detail: str | None = None) -> None:
        self.code = code or type(self).code
        self.detail = detail
        super().__init__(self.code if detail is None else f"{self.code}: {detail}")

    def body(self) -> dict[str, Any]:
        """The JSON body: ``{"error": code}`` plus ``detail`` when there is one."""
        out: dict[str, Any] = {"error": self.code}
        if self.detail is not None:
            out["detail"] = self.detail
        return out

    def headers(self) -> dict[str, str]:
        """Extra response headers (none by default)."""
        return {}


class BadRequest(ServiceError):
    """400: an id that is not a UUID, an unknown filter value, an invalid body."""

    status = 400
    code = "invalid_request"


class Unauthorized(ServiceError):
    """401: ``missing_token``, ``invalid_token`` (unknown or revoked) or ``expired_token``."""

    status = 401
    code = "invalid_token"

    def headers(self) -> dict[str, str]:
        """RFC 6750 challenge."""
        return {"WWW-Authenticate": f'Bearer error="{self.code}"'}


class MissingScope(ServiceError):
    """403: the token lacks ``required_scope`` (the first of the route's scopes it lacks)."""

    status = 403
    code = "missing_scope"

    def __init__(self, required_scope: str) -> None:
        super().__init__()
        self.required_scope = required_scope

    def body(self) -> dict[str, Any]:
        """``{"error":"missing_scope","required_scope": …}``."""
        return {"error": self.code, "required_scope": self.required_scope}


class NotFound(ServiceError):
    """404: the object does not exist in the caller's tenant (whether or not it exists elsewhere)."""

    status = 404
    code = "not_found"


class MethodNotAllowed(ServiceError):
    """405: the path exists but not with this method; ``Allow`` lists the methods it has."""

    status = 405
    code = "method_not_allowed"

    def __init__(self, allow: str | None = None) -> None:
        super().__init__()
        self.allow = allow

    def headers(self) -> dict[str, str]:
        """``Allow`` (RFC 9110 §15.5.6)."""
        return {"Allow": self.allow} if self.allow else {}


class PayloadTooLarge(ServiceError):
    """413: more than ``limit_bytes`` of body were received (counted, not read from headers)."""

    status = 413
    code = "payload_too_large"

    def __init__(self, limit_bytes: int) -> None:
        super().__init__()
        self.limit_bytes = limit_bytes

    def body(self) -> dict[str, Any]:
        """``{"error":"payload_too_large","limit_bytes":N}``."""
        return {"error": self.code, "limit_bytes": self.limit_bytes}


class RateLimited(ServiceError):
    """429: the asset had its quota of triggers in the rolling window; retry after N seconds."""

    status = 429
    code = "rate_limited"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__()
        self.retry_after_seconds = max(1, int(retry_after_seconds))

    def body(self) -> dict[str, Any]:
        """``{"error":"rate_limited","retry_after_seconds":N}``."""
        return {"error": self.code, "retry_after_seconds": self.retry_after_seconds}

    def headers(self) -> dict[str, str]:
        """``Retry-After: N`` (RFC 9110 §10.2.3), the same N as in the body."""
        return {"Retry-After": str(self.retry_after_seconds)}


class InternalError(ServiceError):
    """500: a bug. The body never carries a traceback."""

    status = 500
    code = "internal_error"


class EnqueueFailed(ServiceError):
    """502: the queue rejected the job; no run is left behind."""

    status = 502
    code = "enqueue_failed"


class Unavailable(ServiceError):
    """503: the database could not be reached."""

    status = 503
    code = "database_unavailable"
