"""``/api/v2/health``: liveness, without authentication (it reveals nothing)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ragward.service.api.routes import json_response
from ragward.service.api.schemas import Health

router = APIRouter(prefix="/api/v2", tags=["health"])


@router.get("/health", response_model=Health, summary="Liveness probe (no authentication)")
def health() -> Response:
    """``{"status":"ok"}`` while the process serves requests."""
    return json_response(Health())
