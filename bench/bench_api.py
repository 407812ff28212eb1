"""Service API throughput and latency, on this machine.

1. ``GET /api/v2/rag-runs`` returning 100 rows (token lookup, tenant-scoped query,
   serialisation), in requests per second, as a ratio to a bare uvicorn ASGI
   endpoint that returns the very same JSON bytes (no framework, no database).
2. The latency of ``POST /api/v2/rag-runs`` (asset lock, rate-limit count, insert,
   enqueue on the embedded SqliteHuey queue, commit): p50 and p99.

Both servers run as separate uvicorn processes with the same options (one
process, no access log) on 127.0.0.1; the load comes from this process with
``CONCURRENCY`` keep-alive connections for ``DURATION_S`` seconds after a
warm-up. The service uses SQLite in a temporary folder and no embedded worker,
so only the API is measured.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

CONCURRENCY = 8
DURATION_S = 5.0
WARMUP_S = 1.0
POSTS = 300
POST_CONCURRENCY = 4
ROOT = Path(__file__).resolve().parents[1]


# ---- the bare endpoint ---------------------------------------------------------------------------


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A bare ASGI app answering every HTTP request with the bytes of ``$BENCH_BODY_FILE``."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = _BODY
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


_BODY = Path(os.environ["BENCH_BODY_FILE"]).read_bytes() if os.environ.get("BENCH_BODY_FILE") else b"{}"


def service_app() -> Any:
    """The service app from the ``RAGWARD_*`` environment (uvicorn ``--factory``)."""
    from ragward.service.api import create_app

    return create_app()


# ---- helpers -------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(target: str, env: dict[str, str], *, factory: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    cmd = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--no-access-log", "--log-level", "warning", "--no-proxy-headers"]
    if factory:
        cmd.append("--factory")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url + "/api/v2/health", timeout=1)
            return proc, url
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"{target} did not start") from None
            time.sleep(0.1)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


async def _throughput(url: str, path: str, headers: dict[str, str]) -> float:
    """Requests per second of GET ``path`` over CONCURRENCY connections for DURATION_S."""
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30) as client:
        count = 0
        stop_at = 0.0
        measuring = False

        async def loop() -> None:
            nonlocal count
            while time.perf_counter() < stop_at:
                response = await client.get(path)
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")
                if measuring:
                    count += 1

        stop_at = time.perf_counter() + WARMUP_S
        await asyncio.gather(*(loop() for _ in range(CONCURRENCY)))
        measuring = True
        started = time.perf_counter()
        stop_at = started + DURATION_S
        await asyncio.gather(*(loop() for _ in range(CONCURRENCY)))
        return count / (time.perf_counter() - started)


async def _post_latencies(url: str, headers: dict[str, str], assets: list[str]) -> list[float]:
    """Seconds per POST /api/v2/rag-runs, six per asset (the rate limit), POST_CONCURRENCY at once."""
    bodies = [{"ai_asset_id": a} for a in assets for _ in range(6)][:POSTS]
    queue: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:

        async def loop() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                started = time.perf_counter()
                response = await client.post("/api/v2/rag-runs", json=body)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 202:
                    raise RuntimeError(f"POST: {response.status_code} {response.text[:200]}")

        await asyncio.gather(*(loop() for _ in range(POST_CONCURRENCY)))
    return latencies


def _seed(env: dict[str, str]) -> tuple[str, list[str], bytes]:
    """A tenant with a token, 100 completed runs and enough assets for the POSTs."""
    os.environ.update(env)
    from ragward.service.auth import Scope, format_scopes, hash_token, new_token
    from ragward.service.context import ServiceContext
    from ragward.service.db.repositories import Assets, Runs, Tenants, Tokens
    from ragward.service.db.types import utcnow
    from ragward.service.settings import ServiceSettings

    ctx = ServiceContext.create(ServiceSettings(), target_factory=lambda config: None)  # type: ignore[arg-type,return-value]
    token = new_token()
    try:
        with ctx.db.write() as session:
            tenant = Tenants(session).create("bench").id
            Tokens(session).create(
                tenant, token_hash=hash_token(token), scopes=format_scopes(Scope), name="bench", expires_at=None
            )
            listed = Assets(session).add(tenant, name="listed", kind="rag", target_config={"kind": "lab"})
            session.flush()
            now = utcnow()
            for i in range(100):
                run = Runs(session).add(
                    tenant,
                    listed,
                    trigger="scheduled" if i % 2 else "manual",
                    started_at=now - timedelta(minutes=90 + i),
                    test_profile="default",
                    target_key="bench",
                )
                run.status = "completed"
                run.completed_at = run.started_at + timedelta(minutes=4)
                run.tests_run, run.tests_passed, run.tests_failed, run.tests_skipped = 33, 19, 13, 1
                run.duration_ms = 240_000
            assets = [
                str(Assets(session).add(tenant, name=f"a{i}", kind="rag", target_config={"kind": "lab"}).id)
                for i in range(POSTS // 6 + 1)
            ]
            session.commit()
    finally:
        ctx.close()
    return token, assets, b""


def main() -> None:
    """Print GET throughput (service / bare ratio) and POST latency percentiles."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        env.update(
            RAGWARD_DATABASE_URL=f"sqlite:///{tmp}/bench.db",
            RAGWARD_QUEUE_NAME=f"bench{uuid.uuid4().hex[:6]}",
            RAGWARD_EMBEDDED_WORKERS="0",
            RAGWARD_SCHEDULER_ENABLED="false",
            RAGWARD_HOME=f"{tmp}/home",
        )
        env.pop("RAGWARD_QUEUE_URL", None)
        token, assets, _ = _seed(env)
        headers = {"Authorization": f"Bearer {token}"}

        proc, url = _start("bench.bench_api:service_app", env, factory=True)
        try:
            body = httpx.get(url + "/api/v2/rag-runs", headers=headers).content
            rows = len(json.loads(body)["data"])
            service_rps = asyncio.run(_throughput(url, "/api/v2/rag-runs", headers))
            latencies = asyncio.run(_post_latencies(url, headers, assets))
        finally:
            _stop(proc)

        body_file = Path(tmp) / "body.json"
        body_file.write_bytes(body)
        bare_env = dict(env, BENCH_BODY_FILE=str(body_file))
        proc, url = _start("bench.bench_api:bare_app", bare_env, factory=False)
        try:
            bare_rps = asyncio.run(_throughput(url, "/api/v2/rag-runs", {}))
        finally:
            _stop(proc)

    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000
    print(f"GET /api/v2/rag-runs ({rows} rows, {len(body)} bytes), {CONCURRENCY} connections, {DURATION_S:.0f} s:")
    print(f"  service {service_rps:,.0f} req/s; bare uvicorn endpoint (same bytes) {bare_rps:,.0f} req/s")
    print(f"  ratio service/bare: {service_rps / bare_rps:.3f}")
    print(f"POST /api/v2/rag-runs ({len(latencies)} requests, {POST_CONCURRENCY} at once, SQLite + SqliteHuey):")
    print(f"  p50 {p50:.1f} ms, p99 {p99:.1f} ms")


if __name__ == "__main__":
    main()
