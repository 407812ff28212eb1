"""Target configuration: one schema for ``ragward scan --target FILE`` and for a
service asset's target.

YAML or a dict is validated with pydantic; a bad file gives one
:class:`ragward.errors.ConfigError` line naming the field. Today ``kind: lab``
is supported (the reference RAG lab, ``profile: vulnerable|hardened``); the
other adapters plug in here.

Example::

    kind: lab
    profile: hardened
    # data_dir: ~/.ragward/lab/hardened   (optional)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ragward.errors import ConfigError
from ragward.settings import get_settings
from ragward.targets.base import Target


class LabTargetConfig(BaseModel):
    """The embedded reference lab."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["lab"]
    profile: Literal["vulnerable", "hardened"] = "vulnerable"
    data_dir: Path | None = None
    name: str | None = None

    def resolved_data_dir(self) -> Path:
        """``data_dir`` or ``$RAGWARD_HOME/lab/<profile>``."""
        return (self.data_dir or get_settings().lab_dir / self.profile).expanduser()


TargetConfig = Annotated[LabTargetConfig, Field(discriminator="kind")]
_ADAPTER: TypeAdapter[LabTargetConfig] = TypeAdapter(TargetConfig)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "target"
    return f"{loc}: {err['msg']}"


def parse_target_config(data: Any) -> LabTargetConfig:
    """Validate a target configuration mapping. Raises :class:`ConfigError` (one line)."""
    if not isinstance(data, dict):
        raise ConfigError("target configuration must be a mapping with a 'kind' key")
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise ConfigError(f"invalid target configuration: {_first_error(exc)}") from None


def load_target_config(path: Path) -> LabTargetConfig:
    """Read and validate a YAML target file. Raises :class:`ConfigError` (one line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read target file {path}: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"target file {path} is not valid YAML{where}") from None
    return parse_target_config(data)


def build_target(config: LabTargetConfig) -> Target:
    """Construct the adapter for ``config`` (imports heavy dependencies lazily)."""
    from ragward.lab.target import LabTarget

    return LabTarget(config.profile, config.resolved_data_dir())
