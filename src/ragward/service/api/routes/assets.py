"""``/api/v2/ai-assets``: create, list, read and delete AI assets.

A ``rag`` asset carries a target configuration in the schema of the CLI's
``--target`` file, checked by :func:`ragward.service.targets.check_target`
(secrets only as ``${RAGWARD_TARGET_…}`` references, no server paths, no
code factories). ``llm`` and ``agent`` assets have no target.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

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
from ragward.service.api.schemas import AssetIn, AssetList, AssetOut, RagAssetIn
from ragward.service.auth import Scope
from ragward.service.db.repositories import Assets
from ragward.service.targets import check_target

router = APIRouter(prefix="/api/v2/ai-assets", tags=["ai-assets"])

_ASSET_ERRORS: dict[int, tuple[str, ...]] = {400: ("invalid_ai_asset_id",), 404: ("ai_asset_not_found",)}


@router.post(
    "",
    status_code=201,
    response_model=AssetOut,
    summary="Create an AI asset",
    **operation(
        Scope.ASSETS_WRITE,
        errors={400: ("invalid_request", "invalid_name", "invalid_kind", "invalid_target_config")},
        links=(
            201,
            {
                "GetAsset": {"operationId": "get_asset", "parameters": {"asset_id": "$response.body#/id"}},
                "DeleteAsset": {"operationId": "delete_asset", "parameters": {"asset_id": "$response.body#/id"}},
                "TriggerRun": {
                    "operationId": "trigger_run",
                    "requestBody": {"ai_asset_id": "$response.body#/id"},
                },
                "CreateSchedule": {
                    "operationId": "create_schedule",
                    "requestBody": {"ai_asset_id": "$response.body#/id", "cron": "0 3 * * *"},
                },
            },
        ),
    ),
)
def create_asset(body: AssetIn, principal: PrincipalDep, ctx: ContextDep, session: WriteSession) -> Response:
    """201 with the asset."""
    target = check_target(body.target, ctx.settings) if isinstance(body, RagAssetIn) else None
    asset = Assets(session).add(principal.tenant_id, name=body.name.strip(), kind=body.kind, target_config=target)
    session.commit()
    return json_response(AssetOut.model_validate(asset), status_code=201)


@router.get(
    "",
    response_model=AssetList,
    summary="List the caller's AI assets, newest first (at most 100)",
    **operation(Scope.ASSETS_READ),
)
def list_assets(principal: PrincipalDep, session: ReadSession) -> Response:
    """The tenant's assets."""
    rows = Assets(session).list(principal.tenant_id)
    return json_response(AssetList(data=[AssetOut.model_validate(r) for r in rows]))


@router.get(
    "/{asset_id}",
    response_model=AssetOut,
    summary="One AI asset",
    **operation(Scope.ASSETS_READ, errors=_ASSET_ERRORS),
)
def get_asset(asset_id: IdPath, principal: PrincipalDep, session: ReadSession) -> Response:
    """The asset, if it is the caller's tenant's."""
    row = Assets(session).get(principal.tenant_id, parse_uuid(asset_id, "invalid_ai_asset_id"))
    return json_response(AssetOut.model_validate(row))


@router.delete(
    "/{asset_id}",
    status_code=204,
    response_class=Response,
    summary="Delete an AI asset and its schedules (its runs and findings stay)",
    **operation(Scope.ASSETS_WRITE, errors=_ASSET_ERRORS),
)
def delete_asset(asset_id: IdPath, principal: PrincipalDep, session: WriteSession) -> Response:
    """204 No Content."""
    Assets(session).delete(principal.tenant_id, parse_uuid(asset_id, "invalid_ai_asset_id"))
    session.commit()
    return Response(status_code=204)
