"""Helpers of the adapter tests (importable from tests/targets and tests/integration).

* ``HashingEmbedder`` / ``ParrotModel``: deterministic stand-ins for the lab's
  models (feature hashing, Weinberger et al., ICML 2009; a chat model that
  repeats its context, the worst case for leaks), as in tests/lab.
* ``LiveServer``: a uvicorn server for an ASGI app in a thread on 127.0.0.1.
* ``scan``: a scan with the run id fixed and, with ``seed``, reproducible
  canaries and markers, so two scans of equivalent targets send the same
  requests (the in-process vs HTTP equality tests).
* ``outcomes``: ``{test id: outcome}`` of a run.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from ragward.engine.runner import run_scan
from ragward.model import RunSummary
from ragward.targets.base import Target

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from model_doubles import HashingEmbedder, ParrotModel

__all__ = ["HashingEmbedder", "LiveServer", "ParrotModel", "free_port", "outcomes", "scan"]

RUN_ID = "5eed0000-0000-4000-8000-000000000001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """An ASGI app served by uvicorn in a daemon thread on 127.0.0.1 (``url``)."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


def start_process(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``cmd`` with stdout and stderr going to ``log`` (a pipe nobody reads would block it)."""
    with log.open("wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)


def wait_http(
    url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 180.0, log: Path | None = None
) -> None:
    """Poll ``url`` until it answers < 500 (or raise, with the process's log when it died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = log.read_text(errors="replace")[-2000:] if log is not None and log.exists() else ""
            raise RuntimeError(f"server exited with {proc.returncode}: {out}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{url} did not come up in {timeout} s")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminate ``proc`` (then kill after 15 s)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def scan(
    target: Target,
    journal: Path,
    *,
    profile: str = "default",
    only: list[str] | None = None,
    concurrency: int = 1,
    seed: int | None = None,
) -> RunSummary:
    """Run a scan to completion (closes the target); ``seed`` fixes canaries and markers."""

    async def go() -> RunSummary:
        try:
            return await run_scan(
                target,
                test_profile=profile,
                only=only,
                concurrency=concurrency,
                journal_dir=journal,
                run_id=RUN_ID,
                seed=seed,
            )
        finally:
            await target.close()

    return asyncio.run(go())


def outcomes(run: RunSummary) -> dict[str, str]:
    """``{test id: outcome}``."""
    return {t.id: t.outcome.value for t in run.tests}


def failed(run: RunSummary) -> set[str]:
    """Ids of the failed tests."""
    return {t.id for t in run.tests if t.outcome.value == "failed"}
