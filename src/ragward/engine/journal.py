"""The cleanup journal: which planted documents may still be in a target.

Before the engine plants a document it appends ``{"op": "add", ...}`` to a
journal file named by the target's ``key``; once the removal is verified it
appends ``{"op": "remove", ...}``. A scan killed with SIGKILL therefore leaves
pending entries behind, and the next scan of the same target (or
``ragward cleanup``) removes those documents first.

The file is JSON Lines, appended with ``O_APPEND`` (each line one ``write``,
so concurrent writers in several processes never interleave). The data is in
the operating system's page cache as soon as ``write`` returns, which survives
the death of the process (SIGKILL); it is not fsynced, so a power loss may lose
the last entries. A torn last line is ignored. When no entry is pending the
file is removed, under a :class:`filelock.FileLock`.

A running scan holds an exclusive lock on ``<key>.<run_id>.live`` (``flock``, which
the kernel releases when the process dies, SIGKILL included). Replay and
``ragward cleanup`` only touch entries of runs whose lock is free, so they never
remove the documents of a scan that is still running.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout


@dataclass(frozen=True)
class JournalEntry:
    """A planted document that is not yet verified removed."""

    doc_id: str
    tenant: str
    run_id: str


def _safe(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", key)[:120] or "target"


class Journal:
    """The journal of one target. Cheap to construct; every read re-reads the file."""

    def __init__(self, directory: Path, target_key: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.prefix = _safe(target_key)
        self.path = directory / f"{self.prefix}.jsonl"
        self._lock = FileLock(str(self.path) + ".lock")

    def _append(self, records: list[dict[str, object]]) -> None:
        data = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records).encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

    def _pending(self) -> dict[str, JournalEntry]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return {}
        pending: dict[str, JournalEntry] = {}
        for line in lines:
            try:
                rec = json.loads(line)
                op, doc_id = rec["op"], str(rec["doc_id"])
            except (ValueError, KeyError, TypeError):
                continue  # a torn line from a killed writer
            if op == "add":
                pending[doc_id] = JournalEntry(doc_id, str(rec.get("tenant", "")), str(rec.get("run_id", "")))
            elif op == "remove":
                pending.pop(doc_id, None)
        return pending

    def add(self, doc_id: str, tenant: str, run_id: str) -> None:
        """Record ``doc_id`` before it is planted."""
        self._append([{"op": "add", "doc_id": doc_id, "tenant": tenant, "run_id": run_id, "ts": time.time()}])

    def remove(self, doc_ids: list[str]) -> None:
        """Forget ``doc_ids`` once their removal is verified."""
        if not doc_ids:
            return
        self._append([{"op": "remove", "doc_id": d} for d in doc_ids])

    def compact(self) -> None:
        """Remove the file when no entry is pending (call when a run ends)."""
        with self._lock:
            if not self._pending():
                self.path.unlink(missing_ok=True)

    def entries(self, run_id: str | None = None) -> list[JournalEntry]:
        """Entries still pending, optionally only those of ``run_id``, sorted by id."""
        out = list(self._pending().values())
        if run_id is not None:
            out = [e for e in out if e.run_id == run_id]
        return sorted(out, key=lambda e: e.doc_id)

    def _live_lock(self, run_id: str) -> FileLock:
        return FileLock(str(self.directory / f"{self.prefix}.{_safe(run_id)}.live"))

    @contextmanager
    def live(self, run_id: str) -> Iterator[None]:
        """Mark ``run_id`` as running for as long as the block lasts (and the process lives)."""
        lock = self._live_lock(run_id)
        with lock:
            try:
                yield
            finally:  # also when the run is interrupted (Ctrl-C cancels the scan's task)
                Path(lock.lock_file).unlink(missing_ok=True)

    def is_live(self, run_id: str) -> bool:
        """True when a process holds ``run_id``'s live lock right now."""
        lock = self._live_lock(run_id)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return True
        lock.release()
        Path(lock.lock_file).unlink(missing_ok=True)
        return False

    @staticmethod
    def live_anywhere(directory: Path, run_id: str) -> bool:
        """True when any target's journal in ``directory`` has ``run_id`` running now.

        Two configs can name one service by different URLs (so different keys and journals); a seeded run id
        is the same for both, and so would be the ids of the documents they plant.
        """
        for path in directory.glob(f"*.{_safe(run_id)}.live"):
            lock = FileLock(str(path))
            try:
                lock.acquire(timeout=0)
            except Timeout:
                return True
            lock.release()
        return False

    def orphaned(self, own: str | None = None) -> list[JournalEntry]:
        """Pending entries of runs that are no longer running (a killed scan's leftovers).

        ``own`` is the run id whose live lock the caller holds: its pending entries were left by an
        earlier, killed run with the same id (a seeded scan reuses its id), so they count as orphaned.
        """
        entries = self.entries()
        live = {run_id for run_id in {e.run_id for e in entries} if run_id != own and self.is_live(run_id)}
        return [e for e in entries if e.run_id not in live]
