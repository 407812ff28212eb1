"""The trigger cap: at most N runs per asset in a rolling window (contract: six per hour).

The check runs inside the accepting transaction, after the asset row is
locked (PostgreSQL ``SELECT … FOR UPDATE``; SQLite ``BEGIN IMMEDIATE``), so
concurrent triggers of one asset are counted one after the other and exactly
N are accepted (ten simultaneous triggers on a fresh asset: six accepted).
It is keyed by the asset, never by a client address, so ``X-Forwarded-For``
or any other header cannot move a caller into a fresh bucket. Nothing is kept
in process memory: every API process and scheduler sees the same count.

A refused trigger adds no run, and a run whose enqueue fails is rolled back,
so neither counts against the cap.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from ragward.service.auth import TenantId
from ragward.service.db.repositories import Runs
from ragward.service.errors import RateLimited


def retry_after(starts: list[datetime], *, limit: int, window: timedelta, now: datetime) -> int:
    """Seconds until one more trigger fits, given the window's start times (oldest first).

    With ``k = len(starts) >= limit`` the (k - limit + 1)-th oldest run must
    leave the window; the answer is rounded up and at least 1.
    """
    index = len(starts) - limit
    leaves_at = starts[index] + window
    return max(1, math.ceil((leaves_at - now).total_seconds()))


def ensure_allowed(
    session: Session,
    tenant: TenantId,
    asset_id: uuid.UUID,
    *,
    limit: int,
    window_s: int,
    now: datetime,
) -> None:
    """Raise :class:`RateLimited` when the asset already has ``limit`` runs in the window.

    The caller must hold the asset's lock in this transaction.
    """
    window = timedelta(seconds=window_s)
    starts = Runs(session).starts_since(tenant, asset_id, now - window)
    if len(starts) >= limit:
        raise RateLimited(retry_after(starts, limit=limit, window=window, now=now))
