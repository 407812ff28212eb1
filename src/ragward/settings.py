"""Settings of the CLI and the engine (``RAGWARD_*`` environment variables).

The service has its own settings object (``ragward.service.settings``); both
read the same ``RAGWARD_HOME``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    return Path.home() / ".ragward"


class Settings(BaseSettings):
    """Typed settings. ``home`` holds the lab's data and the cleanup journals."""

    model_config = SettingsConfigDict(env_prefix="RAGWARD_", extra="ignore")

    home: Path = Field(default_factory=_default_home)

    @property
    def journal_dir(self) -> Path:
        """Where the cleanup journals live (one JSON file per target key)."""
        return self.home / "journals"

    @property
    def lab_dir(self) -> Path:
        """Where the reference lab keeps its vector stores (one folder per profile)."""
        return self.home / "lab"


def get_settings() -> Settings:
    """Settings read from the environment now (cheap; not cached so tests can monkeypatch)."""
    return Settings()
