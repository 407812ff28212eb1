"""Routes of API v2, one module per resource (assets, runs, findings, schedules, health)."""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    """``model`` serialised once by pydantic-core (the route's ``response_model`` documents it)."""
    return Response(
        content=model.model_dump_json(),
        status_code=status_code,
        media_type="application/json",
    )
