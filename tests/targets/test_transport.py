"""FastTransport against real sockets: keep-alive reuse, stale connections, chunked bodies, timeouts."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import httpx
import pytest

from ragward.targets._transport import FastTransport

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, list[int]], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    body = await reader.readexactly(length) if length else b""
    return head + body


async def with_server(handler: Handler, client: Callable[[str, list[int]], Awaitable[None]]) -> list[int]:
    connections: list[int] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            await handler(reader, writer, connections)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        await client(f"http://127.0.0.1:{port}", connections)
    return connections


async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: list[int]) -> None:
    while True:
        request = await read_request(reader)
        body = b'{"echo": %d}' % len(request)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()


def test_connections_are_reused() -> None:
    async def client(url: str, connections: list[int]) -> None:
        async with httpx.AsyncClient(transport=FastTransport()) as c:
            for i in range(20):
                r = await c.post(url + "/x", json={"i": i})
                assert r.status_code == 200 and r.json()["echo"] > 0
            await asyncio.gather(*(c.get(url + "/y") for _ in range(5)))
        assert len(connections) <= 5

    assert len(asyncio.run(with_server(keep_alive, client))) >= 1


def test_stale_keep_alive_connection_is_retried_on_a_fresh_one() -> None:
    async def drop_second(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conns: list[int]) -> None:
        first_connection = len(conns) == 1
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        if first_connection:
            await read_request(reader)  # the reused connection: dropped without a reply

    async def client(url: str, connections: list[int]) -> None:
        async with httpx.AsyncClient(transport=FastTransport()) as c:
            assert (await c.get(url)).text == "ok"
            assert (await c.get(url)).text == "ok"
        assert len(connections) == 2

    asyncio.run(with_server(drop_second, client))


def test_chunked_streaming_and_connection_close() -> None:
    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: list[int]) -> None:
        await read_request(reader)
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n"
            b"connection: close\r\n\r\n"
        )
        for piece in (b"data: a\n\n", b"data: b\n\n"):
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
            await asyncio.sleep(0.01)
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    async def client(url: str, connections: list[int]) -> None:
        async with httpx.AsyncClient(transport=FastTransport()) as c:
            async with c.stream("GET", url) as r:
                lines = [line async for line in r.aiter_lines()]
            assert [line for line in lines if line] == ["data: a", "data: b"]
            async with c.stream("GET", url) as r:
                assert (await r.aread()).count(b"data:") == 2
        assert len(connections) == 2  # "connection: close" is honoured

    asyncio.run(with_server(chunked, client))


def test_read_timeout_and_connect_error() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: list[int]) -> None:
        await read_request(reader)
        await asyncio.sleep(2)

    async def client(url: str, connections: list[int]) -> None:
        async with httpx.AsyncClient(transport=FastTransport(), timeout=httpx.Timeout(0.2)) as c:
            with pytest.raises(httpx.ReadTimeout):
                await c.get(url)

    asyncio.run(with_server(silent, client))

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def refused() -> None:
        async with httpx.AsyncClient(transport=FastTransport()) as c:
            with pytest.raises(httpx.ConnectError):
                await c.get(f"http://127.0.0.1:{port}/")

    asyncio.run(refused())


def test_garbage_reply_is_a_protocol_error_and_closed_transport_refuses() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: list[int]) -> None:
        await read_request(reader)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()

    async def client(url: str, connections: list[int]) -> None:
        transport = FastTransport()
        async with httpx.AsyncClient(transport=transport) as c:
            with pytest.raises(httpx.RemoteProtocolError):
                await c.get(url)
        with pytest.raises(httpx.ConnectError, match="closed"):
            await transport.handle_async_request(httpx.Request("GET", url))

    asyncio.run(with_server(garbage, client))


def test_unsupported_scheme() -> None:
    async def go() -> None:
        with pytest.raises(httpx.UnsupportedProtocol):
            await FastTransport().handle_async_request(httpx.Request("GET", "ftp://example.invalid/"))

    asyncio.run(go())
