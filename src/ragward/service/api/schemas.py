"""Request and response bodies of API v2, and the error bodies of every route.

Field names follow the contract (``shared/spec/rag-runs-api.txt``) exactly;
fields beyond it (``run_id`` in the 202, ``error`` on a run) are additions.
Timestamps are RFC 3339 UTC with a ``Z`` (``2026-05-22T10:14:00Z``).
"""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    create_model,
)

from ragward.model import Category, Layer, Outcome, RunStatus, Severity, Suite, Trigger
from ragward.service.settings import DEFAULT_TARGET_KINDS
from ragward.service.targets import published_schema

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def _cron_field(value: str) -> str:
    item = rf"(\*|({value})(-({value}))?)(/[1-9][0-9]?)?"
    return rf"{item}(,{item})*"


#: Five fields (minute hour day-of-month month day-of-week), numeric, with ``*``, ranges, steps, lists.
CRON_PATTERN = (
    "^ *"
    + " +".join(
        _cron_field(v) for v in ("[1-5]?[0-9]", "1?[0-9]|2[0-3]", "[1-9]|[12][0-9]|3[01]", "[1-9]|1[0-2]", "[0-7]")
    )
    + " *$"
)
UUID_SCHEMA = {"type": "string", "format": "uuid", "pattern": UUID_PATTERN}

UUIDStr = Annotated[
    str,
    StringConstraints(pattern=UUID_PATTERN),
    WithJsonSchema(UUID_SCHEMA),
]
"""A UUID in its canonical 8-4-4-4-12 hex form (any case)."""


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Timestamp = Annotated[
    datetime,
    PlainSerializer(_rfc3339, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "example": "2026-05-22T10:14:00Z"}),
]


class AssetKind(StrEnum):
    """Kinds of AI asset."""

    RAG = "rag"
    LLM = "llm"
    AGENT = "agent"


class FindingStatus(StrEnum):
    """Triage status of a finding."""

    OPEN = "open"
    TRIAGED = "triaged"
    FIXED = "fixed"
    ACCEPTED = "accepted"
    FALSE_POSITIVE = "false_positive"


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# ---- runs ---------------------------------------------------------------------------------------


class RunOut(_Out):
    """A run, as listed by ``GET /api/v2/rag-runs``."""

    id: uuid.UUID
    ai_asset_id: uuid.UUID
    trigger: Trigger
    started_at: Timestamp
    completed_at: Timestamp | None
    status: RunStatus
    tests_run: int
    tests_passed: int
    tests_failed: int
    tests_skipped: int
    duration_ms: int | None
    error: str | None = Field(default=None, description="Why the run failed (addition).")


class RunList(BaseModel):
    """``{"data": [run, …]}``, newest first, at most 100."""

    data: list[RunOut]


class TriggerIn(BaseModel):
    """Body of ``POST /api/v2/rag-runs``."""

    ai_asset_id: UUIDStr


class TriggerOut(BaseModel):
    """202 body of ``POST /api/v2/rag-runs``."""

    accepted: Literal[True] = True
    ai_asset_id: uuid.UUID
    poll: Literal["/api/v2/rag-runs"] = "/api/v2/rag-runs"
    run_id: uuid.UUID = Field(description="The accepted run (addition).")


class TestOut(_Out):
    """One test of a run."""

    __test__ = False

    id: str = Field(validation_alias=AliasChoices("test_id", "id"), description="Stable test id, e.g. RW-CAN-001.")
    title: str
    suite: Suite
    outcome: Outcome
    severity: Severity
    caught_by: str | None
    layer: Layer | None
    layer_inferred: bool
    reason: str | None
    evidence: dict[str, Any]
    duration_ms: int


class TestList(BaseModel):
    """``{"data": [test, …]}`` in the run's order."""

    __test__ = False

    data: list[TestOut]


# ---- findings -----------------------------------------------------------------------------------


class FindingOut(_Out):
    """A finding: a failed test, with leak category, severity, mitigation and triage status."""

    id: uuid.UUID
    run_id: uuid.UUID
    ai_asset_id: uuid.UUID
    test_id: str
    title: str
    category: Category
    severity: Severity
    status: FindingStatus
    mitigation: str
    owasp: list[str]
    atlas: list[str]
    evidence: str
    created_at: Timestamp
    updated_at: Timestamp


class FindingList(BaseModel):
    """``{"data": [finding, …]}``."""

    data: list[FindingOut]


class FindingPatch(BaseModel):
    """Body of ``PATCH /api/v2/findings/{id}``."""

    status: FindingStatus


# ---- assets -------------------------------------------------------------------------------------

NAME_PATTERN = r"^[^\x00]*[^\x00\s][^\x00]*$"
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=NAME_PATTERN),
    Field(description="1 to 200 characters, not only spaces, no NUL."),
]


TargetIn = Annotated[dict[str, Any], WithJsonSchema(published_schema(DEFAULT_TARGET_KINDS)[0])]
"""A target configuration (validated by :func:`ragward.service.targets.check_target`)."""


class RagAssetIn(BaseModel):
    """Body of ``POST /api/v2/ai-assets`` for a RAG pipeline.

    ``target`` uses the schema of the CLI's ``--target`` file; secrets are
    referenced by environment variable name, never given inline.
    """

    name: Name
    kind: Literal["rag"]
    target: TargetIn


class ModelAssetIn(BaseModel):
    """Body of ``POST /api/v2/ai-assets`` for an ``llm`` or ``agent`` asset (no target)."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    kind: Literal["llm", "agent"]


AssetIn = Annotated[RagAssetIn | ModelAssetIn, Field(discriminator="kind")]


class AssetOut(_Out):
    """An AI asset."""

    id: uuid.UUID
    name: str
    kind: AssetKind
    target: dict[str, Any] | None = Field(validation_alias="target_config")
    created_at: Timestamp


class AssetList(BaseModel):
    """``{"data": [asset, …]}``, newest first, at most 100."""

    data: list[AssetOut]


# ---- schedules ----------------------------------------------------------------------------------


class ScheduleIn(BaseModel):
    """Body of ``POST /api/v2/rag-schedules``: a RAG asset and a 5-field cron expression (UTC)."""

    ai_asset_id: UUIDStr
    cron: Annotated[
        str,
        StringConstraints(min_length=9, max_length=120, pattern=CRON_PATTERN),
        Field(description="Five space-separated fields (minute hour day month weekday), UTC."),
    ]


class ScheduleOut(_Out):
    """A schedule; ``next_run_at`` is when it fires next."""

    id: uuid.UUID
    ai_asset_id: uuid.UUID
    cron: str
    next_run_at: Timestamp
    last_run_at: Timestamp | None
    last_run_id: uuid.UUID | None
    last_error: str | None
    created_at: Timestamp


class ScheduleList(BaseModel):
    """``{"data": [schedule, …]}``, newest first, at most 100."""

    data: list[ScheduleOut]


class Health(BaseModel):
    """``GET /api/v2/health``."""

    status: Literal["ok"] = "ok"


# ---- errors -------------------------------------------------------------------------------------


@functools.cache
def error_model(name: str, codes: tuple[str, ...]) -> type[BaseModel]:
    """A body model ``{"error": one of codes}`` (``detail`` optional), for the OpenAPI document."""
    literal: Any = Literal[codes]
    return create_model(
        name,
        error=(literal, ...),
        detail=(str | None, None),
    )


class MissingScopeError(BaseModel):
    """403 body."""

    error: Literal["missing_scope"]
    required_scope: str


class PayloadTooLargeError(BaseModel):
    """413 body."""

    error: Literal["payload_too_large"]
    limit_bytes: int


class RateLimitedError(BaseModel):
    """429 body (also sent as the ``Retry-After`` header)."""

    error: Literal["rate_limited"]
    retry_after_seconds: int


UnauthorizedError = error_model("UnauthorizedError", ("missing_token", "invalid_token", "expired_token"))
EnqueueFailedError = error_model("EnqueueFailedError", ("enqueue_failed",))
UnavailableError = error_model("UnavailableError", ("database_unavailable",))
