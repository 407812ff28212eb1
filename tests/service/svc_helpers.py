"""Helpers of the service tests (imported by conftest.py and the test modules).

``conftest.py`` puts this folder on ``sys.path`` (the project runs pytest with
``--import-mode=importlib``); worker subprocesses get it on ``PYTHONPATH`` to
import :mod:`svc_factories`.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ragward.service.auth import Scope, format_scopes, hash_token, new_token
from ragward.service.context import ServiceContext
from ragward.service.db.repositories import Tenants, Tokens
from ragward.service.settings import ServiceSettings

HERE = Path(__file__).resolve().parent
ALL_SCOPES = tuple(Scope)
PG_ADMIN_URL = os.environ.get("RAGWARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("RAGWARD_TEST_REDIS", "redis://127.0.0.1:6379/11")


def sqlite_settings(tmp_path: Path, **overrides: Any) -> ServiceSettings:
    """Embedded mode on files in ``tmp_path``, with short leases for fast tests."""
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'svc.db'}",
        "queue_url": f"sqlite:///{tmp_path / 'queue.db'}",
        "queue_name": "ragward-test",
        "embedded_workers": 2,
        "scheduler_enabled": False,
        "lease_s": 4.0,
        "heartbeat_s": 1.0,
        "maintenance_interval_s": 0.5,
        "claim_wait_s": 5.0,
        "busy_retry_s": 0.2,
    }
    values.update(overrides)
    return ServiceSettings(**values)


class Harness:
    """Administrative helpers on a context's database (what ``ragward admin`` does)."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def tenant(self, name: str = "tenant") -> uuid.UUID:
        """Create a tenant."""
        with self.ctx.db.write() as session:
            tenant = Tenants(session).create(name)
            session.commit()
            return tenant.id

    def token(
        self,
        tenant: uuid.UUID,
        scopes: tuple[Scope, ...] | list[Scope] = ALL_SCOPES,
        *,
        expires_at: datetime | None = None,
    ) -> str:
        """Create a token with ``scopes`` for ``tenant``."""
        token = new_token()
        with self.ctx.db.write() as session:
            Tokens(session).create(
                tenant,
                token_hash=hash_token(token),
                scopes=format_scopes(scopes),
                name="test",
                expires_at=expires_at,
            )
            session.commit()
        return token

    def tenant_token(self, scopes: tuple[Scope, ...] | list[Scope] = ALL_SCOPES) -> tuple[uuid.UUID, str]:
        """A fresh tenant and a token for it."""
        tenant = self.tenant(f"tenant-{secrets.token_hex(3)}")
        return tenant, self.token(tenant, scopes)


def auth(token: str) -> dict[str, str]:
    """The Authorization header of ``token``."""
    return {"Authorization": f"Bearer {token}"}


def lab_target(name: str | None = None, profile: str = "vulnerable") -> dict[str, Any]:
    """A target configuration of the lab kind (the factories turn it into a MockTarget)."""
    target: dict[str, Any] = {"kind": "lab", "profile": profile}
    if name is not None:
        target["name"] = name
    return target


@dataclass
class Client:
    """An HTTP client (TestClient or httpx.Client) plus helpers for the common flows."""

    http: TestClient | httpx.Client
    harness: Harness
    extra: dict[str, Any] = field(default_factory=dict)

    def asset(self, token: str, *, name: str = "lab", kind: str = "rag", target: dict[str, Any] | None = None) -> str:
        """Create an asset and return its id."""
        body: dict[str, Any] = {"name": name, "kind": kind}
        if kind == "rag":
            body["target"] = target or lab_target()
        response = self.http.post("/api/v2/ai-assets", json=body, headers=auth(token))
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def trigger(self, token: str, asset_id: str) -> httpx.Response:
        """POST /api/v2/rag-runs."""
        return self.http.post("/api/v2/rag-runs", json={"ai_asset_id": asset_id}, headers=auth(token))

    def wait_run(self, token: str, run_id: str, *, timeout_s: float = 30.0) -> dict[str, Any]:
        """Poll the run until it is no longer running; returns it."""
        deadline = time.monotonic() + timeout_s
        while True:
            response = self.http.get(f"/api/v2/rag-runs/{run_id}", headers=auth(token))
            assert response.status_code == 200, response.text
            run: dict[str, Any] = response.json()
            if run["status"] != "running":
                return run
            if time.monotonic() > deadline:
                raise AssertionError(f"run {run_id} still running after {timeout_s}s")
            time.sleep(0.1)


class LiveServer:
    """uvicorn serving ``app`` on 127.0.0.1 (ephemeral port) in a thread."""

    def __init__(self, app: FastAPI) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", proxy_headers=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="live-uvicorn", daemon=True)
        self.url = ""

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@dataclass
class PgRedis:
    """A private PostgreSQL database and Redis key prefix, plus the worker processes on them."""

    database_url: str
    queue_url: str
    queue_name: str
    home: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def settings(self, **overrides: Any) -> ServiceSettings:
        """Settings of an API process on this backend (no embedded workers)."""
        values: dict[str, Any] = {
            "database_url": self.database_url,
            "queue_url": self.queue_url,
            "queue_name": self.queue_name,
            "embedded_workers": 0,
            "scheduler_enabled": False,
            "lease_s": 4.0,
            "heartbeat_s": 1.0,
            "maintenance_interval_s": 0.5,
            "claim_wait_s": 5.0,
            "busy_retry_s": 0.2,
        }
        values.update(overrides)
        return ServiceSettings(**values)

    def worker_env(self, **overrides: str) -> dict[str, str]:
        """Environment of a ``ragward worker`` process on this backend."""
        env = dict(os.environ)
        env.update(
            RAGWARD_DATABASE_URL=self.database_url,
            RAGWARD_QUEUE_URL=self.queue_url,
            RAGWARD_QUEUE_NAME=self.queue_name,
            RAGWARD_TARGET_FACTORY="svc_factories:mock_factory",
            RAGWARD_HOME=str(self.home),
            RAGWARD_LEASE_S="4",
            RAGWARD_HEARTBEAT_S="1",
            RAGWARD_MAINTENANCE_INTERVAL_S="0.5",
            RAGWARD_BUSY_RETRY_S="0.2",
            HF_HUB_OFFLINE="1",
            PYTHONPATH=os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]),
        )
        env.update(overrides)
        return env


def start_worker(
    env: dict[str, str], log_path: Path, threads: int = 2, *, scheduler: bool = False
) -> subprocess.Popen[bytes]:
    """Start ``ragward worker`` (via ``python -m ragward.service.cli``) and wait until it consumes.

    Test workers run no scheduler unless asked (tests tick schedules themselves).
    """
    log = log_path.open("wb")
    flag = "--scheduler" if scheduler else "--no-scheduler"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ragward.service.cli", "worker", "--threads", str(threads), flag],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while b"consumer started" not in log_path.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("worker did not start:\n" + log_path.read_text(errors="replace"))
        time.sleep(0.1)
    return proc


def stop_worker(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 20 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@dataclass
class Backend:
    """A live server on one backend, with admin helpers on its database."""

    kind: str
    settings: ServiceSettings
    url: str
    harness: Harness
    app: FastAPI
    pg: PgRedis | None = None

    def client(self) -> Client:
        """An httpx client on the live server."""
        return Client(httpx.Client(base_url=self.url, timeout=30), self.harness)
