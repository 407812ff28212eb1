"""Removing planted documents and proving they are gone."""

from __future__ import annotations

from pathlib import Path

from ragward.engine.journal import Journal, JournalEntry
from ragward.errors import CleanupError, RagwardError
from ragward.settings import get_settings
from ragward.targets.base import Capability, Target


async def remove_and_verify(target: Target, journal: Journal, entries: list[JournalEntry]) -> None:
    """Delete ``entries`` from ``target`` and verify they are gone.

    Verified ids leave the journal. Raises :class:`CleanupError` naming the ids
    that are still present (they stay in the journal for the next attempt).
    """
    if not entries:
        return
    caps = target.capabilities()
    errors: list[str] = []
    for entry in entries:
        try:
            await target.delete(entry.doc_id, entry.tenant)
        except RagwardError as exc:
            errors.append(f"{entry.doc_id}: {exc.message}")
    if caps.has(Capability.LIST_DOCUMENTS):
        try:
            present = await target.document_ids()
        except RagwardError as exc:
            ids = ", ".join(e.doc_id for e in entries)
            raise CleanupError(f"could not verify the removal of {ids}: {exc.message}") from None
        left = [e.doc_id for e in entries if e.doc_id in present]
    else:
        left = []
    done = [e.doc_id for e in entries if e.doc_id not in left]
    journal.remove(done)
    if left:
        detail = "; ".join(errors) if errors else "delete reported success"
        raise CleanupError(f"{len(left)} planted document(s) still present: {', '.join(left)} ({detail})")


async def cleanup_target(target: Target, journal_dir: Path | None = None) -> int:
    """Remove every leftover planted document recorded for ``target``.

    Documents of a scan that is still running are left alone. Returns the number
    of documents removed. Raises :class:`CleanupError` when some could not be removed.
    """
    journal = Journal(journal_dir or get_settings().journal_dir, target.key)
    entries = journal.orphaned()
    await remove_and_verify(target, journal, entries)
    journal.compact()
    return len(entries)
