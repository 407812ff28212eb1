"""Target factories for service tests, importable by worker subprocesses.

Worker processes load them through ``RAGWARD_TARGET_FACTORY=svc_factories:mock_factory``
(with this folder on ``PYTHONPATH``), so the API tests never load the lab's models.

The target's ``name`` in the asset's configuration picks the behaviour:

* starts with ``slow``: every call takes ``SLOW_LATENCY_S`` (a scan takes seconds);
* contains ``file``: documents persist in ``$RAGWARD_HOME/mockstore-<name>.json`` under a
  stable key, so another process (a reaper) sees what a killed worker planted.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ragward.settings import get_settings
from ragward.targets.base import Document, IngestResult
from ragward.targets.config import LabTargetConfig
from ragward.targets.mock import MockTarget, _Doc, _words

#: The mock's flaws: ``parrot`` makes canary and injection tests fail, so runs have findings.
FLAWS = frozenset({"parrot"})

#: A target named ``slow…`` answers every call after this many seconds.
SLOW_LATENCY_S = float(os.environ.get("RAGWARD_TEST_SLOW_LATENCY", "0.1"))


def store_path(name: str) -> Path:
    """Where the file-backed mock named ``name`` keeps its documents."""
    return get_settings().home / f"mockstore-{name}.json"


class FileBackedMock(MockTarget):
    """A MockTarget whose documents live in a JSON file, under a key stable across processes."""

    def __init__(self, name: str, *, latency_s: float) -> None:
        super().__init__(flaws=FLAWS, latency_s=latency_s, name=name)
        self.key = f"file-mock-{name}"
        self.path = store_path(name)
        if self.path.exists():
            for doc_id, (text, tenant) in json.loads(self.path.read_text()).items():
                self.docs[doc_id] = _Doc(doc_id, text, tenant, _words(text))

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({d.id: (d.text, d.tenant) for d in self.docs.values()}))
        os.replace(tmp, self.path)

    async def ingest(self, doc: Document) -> IngestResult:
        """Store and persist."""
        result = await super().ingest(doc)
        self._save()
        return result

    async def delete(self, doc_id: str, tenant: str) -> None:
        """Delete and persist."""
        await super().delete(doc_id, tenant)
        self._save()


def stored_ids(name: str) -> set[str]:
    """Ids of the documents the file-backed mock ``name`` holds now."""
    path = store_path(name)
    if not path.exists():
        return set()
    try:
        return set(json.loads(path.read_text()))
    except ValueError:
        return set()


def mock_factory(config: LabTargetConfig) -> MockTarget:
    """A fresh flawed MockTarget chosen by the configuration's name (see the module docstring)."""
    name = config.name or config.profile
    latency = SLOW_LATENCY_S if name.startswith("slow") else 0.0
    if "file" in name:
        return FileBackedMock(name, latency_s=latency)
    return MockTarget(flaws=FLAWS, latency_s=latency, name=f"svc-{name}")
