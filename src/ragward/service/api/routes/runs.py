"""``/api/v2/rag-runs``: trigger a scan, list runs, read one run, its tests and its findings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from ragward.model import RunStatus, Trigger
from ragward.service.api.deps import (
    ContextDep,
    IdPath,
    PrincipalDep,
    ReadSession,
    WriteSession,
    operation,
    parse_uuid,
)
from ragward.service.api.routes import json_response
from ragward.service.api.schemas import (
    UUID_SCHEMA,
    FindingList,
    FindingOut,
    RunList,
    RunOut,
    TestList,
    TestOut,
    TriggerIn,
    TriggerOut,
)
from ragward.service.auth import Scope
from ragward.service.db.repositories import Runs
from ragward.service.errors import BadRequest
from ragward.service.runs import accept_run

router = APIRouter(prefix="/api/v2/rag-runs", tags=["rag-runs"])

_RUN_ERRORS: dict[int, tuple[str, ...]] = {400: ("invalid_run_id",), 404: ("rag_run_not_found",)}
_STATUSES = [s.value for s in RunStatus]


@router.get(
    "",
    response_model=RunList,
    summary="List the caller's runs, newest first (at most 100)",
    **operation(Scope.RAG_READ, errors={400: ("invalid_ai_asset_id", "invalid_status")}),
)
def list_runs(
    principal: PrincipalDep,
    session: ReadSession,
    ai_asset_id: Annotated[
        str | None,
        Query(description="Only runs of this asset (UUID).", json_schema_extra=UUID_SCHEMA),
    ] = None,
    status: Annotated[
        str | None,
        Query(description="Only runs with this status.", json_schema_extra={"enum": _STATUSES}),
    ] = None,
) -> Response:
    """Runs are listed from acceptance (status ``running``) until they end."""
    asset_id = parse_uuid(ai_asset_id, "invalid_ai_asset_id") if ai_asset_id is not None else None
    if status is not None and status not in _STATUSES:
        raise BadRequest("invalid_status")
    rows = Runs(session).list(principal.tenant_id, ai_asset_id=asset_id, status=status)
    return json_response(RunList(data=[RunOut.model_validate(r) for r in rows]))


@router.post(
    "",
    status_code=202,
    response_model=TriggerOut,
    summary="Trigger a scan of a RAG asset",
    **operation(
        Scope.RAG_WRITE,
        errors={400: ("invalid_ai_asset_id",), 404: ("rag_asset_not_found",)},
        invalid_body="invalid_ai_asset_id",
        rate_limited=True,
        enqueue=True,
        links=(
            202,
            {
                name: {"operationId": op, "parameters": {"run_id": "$response.body#/run_id"}}
                for name, op in (
                    ("GetRun", "get_run"),
                    ("GetRunTests", "get_run_tests"),
                    ("GetRunFindings", "get_run_findings"),
                )
            },
        ),
    ),
)
def trigger_run(body: TriggerIn, principal: PrincipalDep, ctx: ContextDep, session: WriteSession) -> Response:
    """202 Accepted: the scan is enqueued; poll ``/api/v2/rag-runs`` for its status."""
    asset_id = parse_uuid(body.ai_asset_id.lower(), "invalid_ai_asset_id")
    try:
        run = accept_run(session, ctx.queue, ctx.settings, principal.tenant_id, asset_id, trigger=Trigger.MANUAL)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return json_response(TriggerOut(ai_asset_id=asset_id, run_id=run.id), status_code=202)


@router.get(
    "/{run_id}",
    response_model=RunOut,
    summary="One run",
    **operation(Scope.RAG_READ, errors=_RUN_ERRORS),
)
def get_run(run_id: IdPath, principal: PrincipalDep, session: ReadSession) -> Response:
    """The run, if it is the caller's tenant's."""
    row = Runs(session).get(principal.tenant_id, parse_uuid(run_id, "invalid_run_id"))
    return json_response(RunOut.model_validate(row))


@router.get(
    "/{run_id}/tests",
    response_model=TestList,
    summary="The tests of a run (outcome, caught_by, layer, evidence)",
    **operation(Scope.RAG_READ, errors=_RUN_ERRORS),
)
def get_run_tests(run_id: IdPath, principal: PrincipalDep, session: ReadSession) -> Response:
    """Empty while the run is running."""
    rows = Runs(session).tests(principal.tenant_id, parse_uuid(run_id, "invalid_run_id"))
    return json_response(TestList(data=[TestOut.model_validate(r, from_attributes=True) for r in rows]))


@router.get(
    "/{run_id}/findings",
    response_model=FindingList,
    summary="The findings of a run",
    **operation(Scope.RAG_READ, errors=_RUN_ERRORS),
)
def get_run_findings(run_id: IdPath, principal: PrincipalDep, session: ReadSession) -> Response:
    """One finding per failed test."""
    rows = Runs(session).findings(principal.tenant_id, parse_uuid(run_id, "invalid_run_id"))
    return json_response(FindingList(data=[FindingOut.model_validate(r) for r in rows]))
