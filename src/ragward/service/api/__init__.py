"""The HTTP API (FastAPI): app factory, routes per resource, dependencies, error mapping."""

from ragward.service.api.app import create_app

__all__ = ["create_app"]
