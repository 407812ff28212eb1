"""``/api/v2/findings``: list, read and triage findings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from ragward.model import Severity
from ragward.service.api.deps import IdPath, PrincipalDep, ReadSession, WriteSession, operation, parse_uuid
from ragward.service.api.routes import json_response
from ragward.service.api.schemas import FindingList, FindingOut, FindingPatch, FindingStatus
from ragward.service.auth import Scope
from ragward.service.db.repositories import Findings
from ragward.service.errors import BadRequest

router = APIRouter(prefix="/api/v2/findings", tags=["findings"])

_SEVERITIES = [s.value for s in Severity]
_STATUSES = [s.value for s in FindingStatus]
_FINDING_ERRORS: dict[int, tuple[str, ...]] = {400: ("invalid_finding_id",), 404: ("finding_not_found",)}


@router.get(
    "",
    response_model=FindingList,
    summary="List the caller's findings, newest first (at most 200)",
    **operation(Scope.FINDINGS_READ, errors={400: ("invalid_severity", "invalid_finding_status")}),
)
def list_findings(
    principal: PrincipalDep,
    session: ReadSession,
    severity: Annotated[
        str | None, Query(description="Only this severity.", json_schema_extra={"enum": _SEVERITIES})
    ] = None,
    status: Annotated[
        str | None, Query(description="Only this triage status.", json_schema_extra={"enum": _STATUSES})
    ] = None,
) -> Response:
    """Findings across all runs of the tenant."""
    if severity is not None and severity not in _SEVERITIES:
        raise BadRequest("invalid_severity")
    if status is not None and status not in _STATUSES:
        raise BadRequest("invalid_finding_status")
    rows = Findings(session).list(principal.tenant_id, severity=severity, status=status)
    return json_response(FindingList(data=[FindingOut.model_validate(r) for r in rows]))


@router.get(
    "/{finding_id}",
    response_model=FindingOut,
    summary="One finding",
    **operation(Scope.FINDINGS_READ, errors=_FINDING_ERRORS),
)
def get_finding(finding_id: IdPath, principal: PrincipalDep, session: ReadSession) -> Response:
    """The finding, if it is the caller's tenant's."""
    row = Findings(session).get(principal.tenant_id, parse_uuid(finding_id, "invalid_finding_id"))
    return json_response(FindingOut.model_validate(row))


@router.patch(
    "/{finding_id}",
    response_model=FindingOut,
    summary="Set a finding's triage status",
    **operation(
        Scope.FINDINGS_WRITE,
        errors={400: ("invalid_finding_id", "invalid_finding_status"), 404: ("finding_not_found",)},
        invalid_body="invalid_finding_status",
    ),
)
def patch_finding(finding_id: IdPath, body: FindingPatch, principal: PrincipalDep, session: WriteSession) -> Response:
    """Status: open, triaged, fixed, accepted or false_positive."""
    fid = parse_uuid(finding_id, "invalid_finding_id")
    row = Findings(session).set_status(principal.tenant_id, fid, body.status.value)
    session.commit()
    return json_response(FindingOut.model_validate(row))
