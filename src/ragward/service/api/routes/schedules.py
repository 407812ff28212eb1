"""``/api/v2/rag-schedules``: cron schedules of scans (croniter, UTC)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ragward.service.api.deps import IdPath, PrincipalDep, ReadSession, WriteSession, operation, parse_uuid
from ragward.service.api.routes import json_response
from ragward.service.api.schemas import ScheduleIn, ScheduleList, ScheduleOut
from ragward.service.auth import Scope
from ragward.service.db.repositories import Assets, Schedules
from ragward.service.db.types import utcnow
from ragward.service.scheduler import next_fire, validate_cron

router = APIRouter(prefix="/api/v2/rag-schedules", tags=["rag-schedules"])

_SCHEDULE_ERRORS: dict[int, tuple[str, ...]] = {400: ("invalid_schedule_id",), 404: ("schedule_not_found",)}


@router.post(
    "",
    status_code=201,
    response_model=ScheduleOut,
    summary="Schedule scans of a RAG asset",
    **operation(
        Scope.RAG_WRITE,
        errors={
            400: ("invalid_request", "invalid_ai_asset_id", "invalid_cron"),
            404: ("rag_asset_not_found",),
        },
        links=(
            201,
            {
                "GetSchedule": {"operationId": "get_schedule", "parameters": {"schedule_id": "$response.body#/id"}},
                "DeleteSchedule": {
                    "operationId": "delete_schedule",
                    "parameters": {"schedule_id": "$response.body#/id"},
                },
            },
        ),
    ),
)
def create_schedule(body: ScheduleIn, principal: PrincipalDep, session: WriteSession) -> Response:
    """Due runs start with trigger ``scheduled``; each counts against the asset's rate limit."""
    asset_id = parse_uuid(body.ai_asset_id.lower(), "invalid_ai_asset_id")
    cron = validate_cron(body.cron)
    asset = Assets(session).get_rag(principal.tenant_id, asset_id)
    row = Schedules(session).add(principal.tenant_id, asset, cron=cron, next_run_at=next_fire(cron, utcnow()))
    session.commit()
    return json_response(ScheduleOut.model_validate(row), status_code=201)


@router.get(
    "",
    response_model=ScheduleList,
    summary="List the caller's schedules, newest first (at most 100)",
    **operation(Scope.RAG_READ),
)
def list_schedules(principal: PrincipalDep, session: ReadSession) -> Response:
    """The tenant's schedules."""
    rows = Schedules(session).list(principal.tenant_id)
    return json_response(ScheduleList(data=[ScheduleOut.model_validate(r) for r in rows]))


@router.get(
    "/{schedule_id}",
    response_model=ScheduleOut,
    summary="One schedule",
    **operation(Scope.RAG_READ, errors=_SCHEDULE_ERRORS),
)
def get_schedule(schedule_id: IdPath, principal: PrincipalDep, session: ReadSession) -> Response:
    """The schedule, if it is the caller's tenant's."""
    row = Schedules(session).get(principal.tenant_id, parse_uuid(schedule_id, "invalid_schedule_id"))
    return json_response(ScheduleOut.model_validate(row))


@router.delete(
    "/{schedule_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a schedule",
    **operation(Scope.RAG_WRITE, errors=_SCHEDULE_ERRORS),
)
def delete_schedule(schedule_id: IdPath, principal: PrincipalDep, session: WriteSession) -> Response:
    """204 No Content."""
    Schedules(session).delete(principal.tenant_id, parse_uuid(schedule_id, "invalid_schedule_id"))
    session.commit()
    return Response(status_code=204)
