"""API tokens: random secrets stored as SHA-256, scopes, expiry, revocation.

A token is ``rw_`` followed by 43 URL-safe characters (32 random bytes from
:mod:`secrets`). Only its SHA-256 hex digest is stored, so a database leak does
not leak usable tokens; a 256-bit random secret needs no salt or slow hash
(the guidance of OWASP ASVS 4.0 §2.9 / §3.5 for bearer tokens).

Scopes are matched all-of: a route that needs ``rag:read`` and ``rag:write``
refuses a token holding only one of them (the failure of services that matched
any-of and let a read-only token trigger scans).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from ragward.errors import ConfigError

TOKEN_PREFIX = "rw_"  # noqa: S105 - a public prefix, not a secret
_TOKEN_RE = re.compile(r"^rw_[A-Za-z0-9_-]{43}$")
_DURATION_RE = re.compile(r"^\s*(\d{1,6})\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class Scope(StrEnum):
    """The scopes of the API (issue 3)."""

    RAG_READ = "rag:read"
    RAG_WRITE = "rag:write"
    FINDINGS_READ = "findings:read"
    FINDINGS_WRITE = "findings:write"
    ASSETS_READ = "assets:read"
    ASSETS_WRITE = "assets:write"


TenantId = uuid.UUID
"""A tenant's id. Every repository method takes one as its first argument."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant, the token's id and its scopes."""

    tenant_id: TenantId
    token_id: uuid.UUID
    scopes: frozenset[Scope]

    def missing(self, required: Iterable[Scope]) -> Scope | None:
        """The first of ``required`` this principal lacks (all-of matching), or ``None``."""
        for scope in required:
            if scope not in self.scopes:
                return scope
        return None


def new_token() -> str:
    """A fresh token: ``rw_`` + 43 URL-safe characters (256 random bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def looks_like_token(value: str) -> bool:
    """True when ``value`` has the shape of a ragward token (cheap pre-check before hashing)."""
    return bool(_TOKEN_RE.match(value))


def hash_token(token: str) -> str:
    """SHA-256 hex digest (64 characters) of ``token``: what the database stores."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_scopes(text: str) -> frozenset[Scope]:
    """Parse ``"rag:read,rag:write"`` (commas or spaces). Raises ConfigError on an unknown scope."""
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    if not parts:
        raise ConfigError("no scopes given; choose from " + ", ".join(s.value for s in Scope))
    out: set[Scope] = set()
    for part in parts:
        try:
            out.add(Scope(part))
        except ValueError:
            known = ", ".join(s.value for s in Scope)
            raise ConfigError(f"unknown scope {part!r}; choose from {known}") from None
    return frozenset(out)


def format_scopes(scopes: Iterable[Scope]) -> str:
    """Scopes as the stored, sorted, space-separated string."""
    return " ".join(sorted(s.value for s in scopes))


def parse_duration(text: str) -> timedelta:
    """Parse ``90d``, ``12h``, ``30m``, ``45s`` or ``2w``. Raises ConfigError otherwise."""
    match = _DURATION_RE.match(text)
    if not match or int(match.group(1)) == 0:
        raise ConfigError(f"invalid duration {text!r}; use a positive number with s, m, h, d or w (e.g. 90d)")
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
