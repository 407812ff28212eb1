"""Loading an application's factory (``module:function`` or ``path/to/file.py:function``) for the
``langchain`` and ``llamaindex`` adapters, and what those adapters share.

The factory is the application's own code: it builds the retriever the way
the application does (store, embeddings, filters, search type), so the scan
exercises the real framework code paths. It is called once, with the target
file's ``options`` as keyword arguments.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ragward.errors import ConfigError
from ragward.targets.base import Chunk
from ragward.targets.config import TenantIdentity

__all__ = ["TenantMap", "load_factory"]


def load_factory(spec: str) -> Callable[..., Any]:
    """The callable named by ``spec``: ``package.module:function`` or ``path/file.py:function``.

    Raises :class:`ConfigError` when it cannot be imported or is not callable.
    """
    module_name, _, attr = spec.rpartition(":")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name).expanduser().resolve()
            name = f"ragward_factory_{path.stem}_{abs(hash(str(path))):x}"
            loaded = sys.modules.get(name)
            if loaded is None:
                file_spec = importlib.util.spec_from_file_location(name, path)
                if file_spec is None or file_spec.loader is None:
                    raise ConfigError(f"factory: cannot load {path}")
                loaded = importlib.util.module_from_spec(file_spec)
                sys.modules[name] = loaded
                file_spec.loader.exec_module(loaded)
            module = loaded
        else:
            module = importlib.import_module(module_name)
        factory = getattr(module, attr)
    except ConfigError:
        raise
    except (ImportError, AttributeError, OSError, SyntaxError) as exc:
        raise ConfigError(f"factory: cannot import {spec!r}: {type(exc).__name__}: {exc}") from None
    if not callable(factory):
        raise ConfigError(f"factory: {spec!r} is not callable")
    return factory  # type: ignore[no-any-return]


class TenantMap:
    """Declared identities: the value an application receives for a scan tenant, and back."""

    def __init__(self, tenants: list[TenantIdentity]) -> None:
        """Index ``tenants`` by name and by value."""
        self._by_name = {t.name: t for t in tenants}
        self._by_value = {t.filter_value: t.name for t in tenants}
        self.names = tuple(self._by_name)

    def value(self, tenant: object) -> object:
        """The value the application gets: a declared identity's value, anything else as it is."""
        if isinstance(tenant, str) and tenant in self._by_name:
            return self._by_name[tenant].filter_value
        return tenant

    def stored(self, name: str) -> str:
        """The stored tenant value of identity ``name`` (``name`` itself when undeclared)."""
        ident = self._by_name.get(name)
        return ident.filter_value if ident is not None else name

    def name_of(self, value: object) -> str | None:
        """The identity whose value ``value`` is (or ``str(value)``; ``None`` for ``None``)."""
        if value is None:
            return None
        return self._by_value.get(str(value), str(value))

    def chunk(
        self, cid: object, doc_id: object, text: str, tenant: object, score: float, meta: dict[str, Any]
    ) -> Chunk:
        """A retrieved chunk with its tenant mapped back to the identity name."""
        return Chunk(
            id=str(cid),
            doc_id=str(doc_id if doc_id is not None else cid),
            text=text,
            tenant=self.name_of(tenant),
            score=score,
            metadata=meta,
        )
