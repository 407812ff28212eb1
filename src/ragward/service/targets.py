"""What a tenant may put in an asset's target configuration, and its published schema.

The schema is the CLI's (:data:`ragward.targets.config.TargetConfig`), parsed by
:func:`ragward.targets.config.parse_target_config`, which already refuses
inline secrets (values must be ``${ENV_VAR}`` references). A multi-tenant
service must refuse more, because the configuration is built on the server:

* ``${VAR}`` references must start with ``target_env_prefix`` (default
  ``RAGWARD_TARGET_``), so a tenant cannot make the service read its own
  database URL or cloud credentials and send them to an endpoint the tenant
  controls (CWE-526, exposure of sensitive information through environment
  variables);
* fields that name a path on the server (JSON schema ``format: path``: the
  lab's ``data_dir``, an embedded store's ``path``) are refused (CWE-73,
  external control of file name or path);
* kinds outside ``target_kinds`` are refused; ``langchain`` and
  ``llamaindex``, whose ``factory`` imports and runs a Python callable named
  by the caller (CWE-94, code injection), are off by default;
* NUL characters and nesting deeper than 12 levels are refused.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import TypeAdapter

from ragward.errors import ConfigError
from ragward.service.errors import BadRequest
from ragward.service.settings import ServiceSettings
from ragward.targets._secrets import ENV_REF

MAX_DEPTH = 12
CODE = "invalid_target_config"


@functools.cache
def _cli_schema() -> dict[str, Any]:
    from ragward.targets.config import TargetConfig

    schema: dict[str, Any] = TypeAdapter(TargetConfig).json_schema(ref_template="#/components/schemas/Target{model}")
    return schema


def _is_path(node: Any) -> bool:
    if not isinstance(node, dict):
        return False
    if node.get("format") == "path":
        return True
    return any(_is_path(member) for member in node.get("anyOf", []))


@functools.cache
def server_path_keys() -> frozenset[str]:
    """Property names that hold a server path in some target kind (``data_dir``, ``path``)."""
    keys: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for name, prop in (node.get("properties") or {}).items():
                if _is_path(prop):
                    keys.add(name)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(_cli_schema())
    return frozenset(keys)


def _fail(detail: str) -> BadRequest:
    return BadRequest(CODE, detail=detail)


def _walk(data: Any, settings: ServiceSettings, where: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise _fail("target configuration is nested too deeply")
    if isinstance(data, dict):
        kind = data.get("kind")
        if isinstance(kind, str) and kind not in settings.target_kinds:
            raise _fail(f"{where or 'target'}: kind {kind!r} is not enabled on this service")
        for key, value in data.items():
            if not isinstance(key, str) or "\x00" in key:
                raise _fail("NUL character in a key")
            path = f"{where}.{key}" if where else key
            if key in server_path_keys() and value is not None:
                raise _fail(f"{path}: server paths are set by the operator, not per asset")
            _walk(value, settings, path, depth + 1)
    elif isinstance(data, list):
        for i, item in enumerate(data):
            _walk(item, settings, f"{where}[{i}]", depth + 1)
    elif isinstance(data, str):
        if "\x00" in data:
            raise _fail(f"{where}: NUL character in a value")
        for match in ENV_REF.finditer(data):
            if not match.group(1).startswith(settings.target_env_prefix):
                raise _fail(
                    f"{where}: environment references must start with {settings.target_env_prefix} "
                    f"(got ${{{match.group(1)}}})"
                )


def check_target(data: dict[str, Any], settings: ServiceSettings) -> dict[str, Any]:
    """Validate a tenant's target configuration; returns it as given, for storage.

    Stored as given (not with every default filled in), so that reading the
    asset back shows what the tenant wrote. Raises
    ``BadRequest("invalid_target_config", detail=…)`` naming the field.
    """
    _walk(data, settings, "", 0)
    from ragward.service.context import parse_config

    try:
        parse_config(data)
    except ConfigError as exc:
        raise _fail(exc.message) from None
    return data


@functools.cache
def published_schema(kinds: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(schema of ``target``, component schemas it references) for the OpenAPI document.

    The CLI's schema restricted to ``kinds``, without server-path properties,
    with strings that cannot hold NUL. Component names are prefixed ``Target``.
    """
    import copy

    schema = copy.deepcopy(_cli_schema())
    defs: dict[str, Any] = {f"Target{k}": v for k, v in schema.pop("$defs", {}).items()}
    allowed_refs: set[str] = set()
    mapping = (schema.get("discriminator") or {}).get("mapping") or {}
    for kind, ref in list(mapping.items()):
        if kind in kinds:
            allowed_refs.add(ref)
        else:
            del mapping[kind]
    if "oneOf" in schema:
        schema["oneOf"] = [m for m in schema["oneOf"] if m.get("$ref") in allowed_refs]

    def clean(node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                for key in server_path_keys():
                    props.pop(key, None)
                if isinstance(node.get("required"), list):
                    node["required"] = [k for k in node["required"] if k not in server_path_keys()]
            disc = node.get("discriminator")
            if isinstance(disc, dict) and isinstance(disc.get("mapping"), dict) and "oneOf" in node:
                keep = {k: v for k, v in disc["mapping"].items() if k in kinds}
                disc["mapping"] = keep
                node["oneOf"] = [m for m in node["oneOf"] if m.get("$ref") in keep.values()]
            if node.get("type") == "string" and "enum" not in node and "const" not in node:
                node.setdefault("pattern", r"^[^\x00]*$")
            for value in node.values():
                clean(value)
        elif isinstance(node, list):
            for item in node:
                clean(item)

    clean(schema)
    clean(defs)
    return schema, defs
