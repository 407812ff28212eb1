"""The http adapter's cost beside its target, against a local HTTP endpoint.

A stdlib asyncio HTTP/1.1 server (its own process, keep-alive, TCP_NODELAY on
every connection) answers ``POST /d/<ms>`` after ``<ms>`` milliseconds with a
retrieval reply of four chunks. Measured on one event loop:

1. Per-request overhead: the same sequential requests sent by a bare
   ``httpx.AsyncClient`` (``post(json=...)`` then ``.json()``, connections
   reused) and by ``HttpTarget.retrieve`` (templating, identity headers,
   concurrency limit, retries armed, JMESPath mapping to a ``Response``); the
   difference of the median per-request times, at 0 ms and at 20 ms.
   Target: at most 0.5 ms. The adapter runs on its own keep-alive transport
   (:mod:`ragward.targets._transport`); the cost of the adapter's logic alone
   is shown too, measured with ``transport: httpx`` (httpx's own pool).
2. Speed-up from concurrency 1 to 16 at 20 ms: the wall time of the same
   batch of requests through the adapter, ``concurrency: 1`` against
   ``concurrency: 16``. Target: at least 12 times.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

SEQUENTIAL = 400
BLOCKS = 7
BATCH = 320
REPLY = (
    b'{"contexts":['
    + b",".join(
        b'{"id":"doc-%d#0","doc_id":"doc-%d","text":"Renewal memo for account 77%d: renewal price 88k.",'
        b'"tenant":"acme","score":0.8%d,"metadata":{"source":"crm","classification":"internal"}}' % (i, i, i, i)
        for i in range(4)
    )
    + b'],"events":[],"blocked":false,"error":null}'
)


# ----------------------------------------------------------------- the server


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            path = lines[0].split(b" ")[1]
            length = 0
            for line in lines[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            delay_ms = int(path.rsplit(b"/", 1)[1]) if path.startswith(b"/d/") else 0
            if delay_ms:
                await asyncio.sleep(delay_ms / 1000)
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
                b"connection: keep-alive\r\n\r\n%s" % (len(REPLY), REPLY)
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _serve(port: int) -> None:
    server = await asyncio.start_server(_handle, "127.0.0.1", port, backlog=256)
    async with server:
        await server.serve_forever()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_server() -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "serve", str(port)])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, url
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("bench server did not start")


# ----------------------------------------------------------------- the clients


def _target(url: str, concurrency: int, delay_ms: int, transport: str = "fast"):  # type: ignore[no-untyped-def]
    from ragward.targets.config import parse_target_config
    from ragward.targets.http import HttpTarget

    config = parse_target_config(
        {
            "kind": "http",
            "base_url": url,
            "tenants": [{"name": "acme", "headers": {"Authorization": "Bearer ${BENCH_TOKEN}"}}, "globex"],
            "retrieve": {
                "url": f"/d/{delay_ms}",
                "body": {"query": "{query}", "tenant": "{tenant}", "mode": "{mode}", "top_k": "{top_k}"},
            },
            "concurrency": concurrency,
            "transport": transport,
        }
    )
    return HttpTarget(config, environ={"BENCH_TOKEN": "bench-token-0123456789"})  # type: ignore[arg-type]


async def _per_request(url: str, delay_ms: int) -> tuple[float, float, float]:
    """Median per-request seconds: (bare httpx, adapter, adapter on httpx's transport), sequential, interleaved."""
    from ragward.targets.base import Query

    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    bare = httpx.AsyncClient(base_url=url, limits=limits, timeout=30)
    target = _target(url, 16, delay_ms)
    plain = _target(url, 16, delay_ms, "httpx")
    headers = {"Authorization": "Bearer bench-token-0123456789"}
    query = Query("What is the renewal price?", "acme", "vector", 4)
    body = {"query": query.text, "tenant": "acme", "mode": "vector", "top_k": 4}

    async def bare_once() -> None:
        r = await bare.post(f"/d/{delay_ms}", json=body, headers=headers)
        r.json()

    async def adapter_once() -> None:
        await target.retrieve(query)

    async def plain_once() -> None:
        await plain.retrieve(query)

    n = SEQUENTIAL if delay_ms == 0 else SEQUENTIAL // 8
    clients = (bare_once, adapter_once, plain_once)
    times: list[list[float]] = [[], [], []]
    for fn in clients:  # warm up: connections, imports, caches
        for _ in range(50):
            await fn()
    for _ in range(BLOCKS):
        for fn, out in zip(clients, times, strict=True):
            started = time.perf_counter()
            for _ in range(n):
                await fn()
            out.append((time.perf_counter() - started) / n)
    await bare.aclose()
    await target.close()
    await plain.close()
    return statistics.median(times[0]), statistics.median(times[1]), statistics.median(times[2])


async def _batch(url: str, concurrency: int, delay_ms: int) -> float:
    """Wall seconds for ``BATCH`` requests through the adapter at ``concurrency``."""
    from ragward.targets.base import Query

    target = _target(url, concurrency, delay_ms)
    query = Query("What is the renewal price?", "acme", "vector", 4)
    await asyncio.gather(*(target.retrieve(query) for _ in range(concurrency)))  # open the connections
    started = time.perf_counter()
    await asyncio.gather(*(target.retrieve(query) for _ in range(BATCH)))
    wall = time.perf_counter() - started
    await target.close()
    return wall


async def bench(url: str) -> dict[str, float]:
    """Run the measurements; returns them (milliseconds, times)."""
    results: dict[str, float] = {}
    for delay in (0, 20):
        bare, adapter, plain = await _per_request(url, delay)
        results[f"bare_ms_{delay}"] = bare * 1000
        results[f"adapter_ms_{delay}"] = adapter * 1000
        results[f"overhead_ms_{delay}"] = (adapter - bare) * 1000
        results[f"logic_ms_{delay}"] = (plain - bare) * 1000
    one = await _batch(url, 1, 20)
    sixteen = await _batch(url, 16, 20)
    results["wall_s_c1"] = one
    results["wall_s_c16"] = sixteen
    results["speedup"] = one / sixteen
    return results


def main() -> None:
    """Print the adapter's per-request overhead and its concurrency speed-up."""
    proc, url = _start_server()
    try:
        r = asyncio.run(bench(url))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    for delay in (0, 20):
        ok = "ok" if r[f"overhead_ms_{delay}"] <= 0.5 else "OVER BUDGET"
        print(
            f"{delay:>2} ms endpoint: bare httpx {r[f'bare_ms_{delay}']:.3f} ms/request, "
            f"http adapter {r[f'adapter_ms_{delay}']:.3f} ms/request, "
            f"overhead {r[f'overhead_ms_{delay}']:+.3f} ms (budget 0.5 ms: {ok}); "
            f"adapter logic alone (on httpx's transport) {r[f'logic_ms_{delay}']:+.3f} ms"
        )
    ok = "ok" if r["speedup"] >= 12 else "BELOW TARGET"
    print(
        f"20 ms endpoint, {BATCH} requests: concurrency 1 {r['wall_s_c1']:.2f} s, concurrency 16 "
        f"{r['wall_s_c16']:.3f} s, speed-up {r['speedup']:.1f}x (target 12x: {ok})"
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        try:
            import uvloop

            uvloop.run(_serve(int(sys.argv[2])))
        except ImportError:
            asyncio.run(_serve(int(sys.argv[2])))
    else:
        main()
