"""The cleanup journal: which planted documents may still be in a target.

Before the engine plants a document it writes the id to a journal file named by
the target's ``key``; once the removal is verified the id leaves the journal.
A scan killed with SIGKILL therefore leaves a journal behind, and the next scan
of the same target (or ``ragward cleanup``) removes those documents first.

The file is JSON, ``{"entries": {doc_id: {"tenant": ..., "run_id": ..., "ts": ...}}}``,
rewritten atomically (write to a temp file, fsync, rename) under a
:class:`filelock.FileLock`, so concurrent writers in one or several processes
never lose an entry.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock


@dataclass(frozen=True)
class JournalEntry:
    """A planted document that is not yet verified removed."""

    doc_id: str
    tenant: str
    run_id: str


def _safe(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", key)[:120] or "target"


class Journal:
    """The journal of one target. Cheap to construct; every call re-reads the file."""

    def __init__(self, directory: Path, target_key: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{_safe(target_key)}.json"
        self._lock = FileLock(str(self.path) + ".lock")

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"entries": {}}
        except (OSError, ValueError):
            # A torn or corrupt journal must not stop cleanup: keep what parses.
            return {"entries": {}}
        if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
            return {"entries": {}}
        return data

    def _write(self, data: dict[str, Any]) -> None:
        if not data["entries"]:
            self.path.unlink(missing_ok=True)
            return
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".journal-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def add(self, doc_id: str, tenant: str, run_id: str) -> None:
        """Record ``doc_id`` before it is planted."""
        with self._lock:
            data = self._read()
            data["entries"][doc_id] = {"tenant": tenant, "run_id": run_id, "ts": time.time()}
            self._write(data)

    def remove(self, doc_ids: list[str]) -> None:
        """Forget ``doc_ids`` once their removal is verified."""
        with self._lock:
            data = self._read()
            for doc_id in doc_ids:
                data["entries"].pop(doc_id, None)
            self._write(data)

    def entries(self, run_id: str | None = None) -> list[JournalEntry]:
        """Entries still pending, optionally only those of ``run_id``, sorted by id."""
        with self._lock:
            raw = self._read()["entries"]
        out = [
            JournalEntry(doc_id=k, tenant=str(v.get("tenant", "")), run_id=str(v.get("run_id", "")))
            for k, v in raw.items()
            if isinstance(v, dict)
        ]
        if run_id is not None:
            out = [e for e in out if e.run_id == run_id]
        return sorted(out, key=lambda e: e.doc_id)
