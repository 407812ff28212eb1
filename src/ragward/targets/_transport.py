"""A lean HTTP/1.1 keep-alive transport for ``httpx.AsyncClient``: asyncio streams + h11.

httpx's default transport (httpcore) scans its whole connection pool, through
anyio socket attribute look-ups, on every request; with 16 connections in
flight that costs several milliseconds of CPU per request, which caps the
speed-up a concurrent scan can get from a slow target. This transport keeps a
plain LIFO stack of idle connections per origin (O(1) checkout), speaks
HTTP/1.1 through ``h11`` (the sans-IO protocol library httpcore itself uses,
RFC 9112 framing, keep-alive and chunked bodies), sets ``TCP_NODELAY`` on every
socket and honours httpx's timeouts. A request that fails on a reused
connection before any reply byte arrived is retried once on a fresh one (the
server closed the idle connection meanwhile). Errors are raised as httpx's
exceptions (``ConnectError``, ``ConnectTimeout``, ``ReadTimeout``,
``WriteError``, ``RemoteProtocolError``…), so callers handle one family.

Not supported (use the ``httpx`` transport for those): proxies, HTTP/2,
client certificates.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator
from typing import Any

import h11
import httpx

__all__ = ["FastTransport"]

_READ = 65536
Origin = tuple[str, str, int]


def _timeouts(request: httpx.Request) -> dict[str, float | None]:
    value = request.extensions.get("timeout")
    return value if isinstance(value, dict) else {}


class _Conn:
    """One TCP (or TLS) connection and its h11 state machine."""

    __slots__ = ("h11", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.CLIENT)

    def usable(self) -> bool:
        return not self.writer.is_closing() and not self.reader.at_eof() and self.h11.our_state is h11.IDLE

    def close(self) -> None:
        if not self.writer.is_closing():
            self.writer.close()


class _Body(httpx.AsyncByteStream):
    """The response body; hands the connection back to the pool when fully read."""

    def __init__(self, transport: FastTransport, origin: Origin, conn: _Conn, read_timeout: float | None) -> None:
        self._transport = transport
        self._origin = origin
        self._conn: _Conn | None = conn
        self._timeout = read_timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            return
        while True:
            event = await self._transport._next_event(conn, self._timeout)
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._release(reuse=True)
                return
            else:
                self._release(reuse=False)
                raise httpx.RemoteProtocolError(f"unexpected HTTP event {type(event).__name__}")

    def _release(self, *, reuse: bool) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._transport._release(self._origin, conn, reuse=reuse)

    async def aclose(self) -> None:
        # an unread body makes the connection unusable for the next request
        self._release(reuse=False)


class FastTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 keep-alive transport; see the module docstring.

    ``verify`` is httpx's: ``True`` (system CAs), ``False`` or an
    :class:`ssl.SSLContext`. ``max_idle`` bounds the idle connections kept per
    origin (the caller bounds the connections in flight).
    """

    def __init__(self, *, verify: bool | ssl.SSLContext = True, max_idle: int = 64) -> None:
        """Create an empty pool."""
        self._verify = verify
        self._ssl: ssl.SSLContext | None = None
        self._idle: dict[Origin, list[_Conn]] = {}
        self._max_idle = max_idle
        self._closed = False

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            if isinstance(self._verify, ssl.SSLContext):
                self._ssl = self._verify
            else:
                ctx = ssl.create_default_context()
                if not self._verify:
                    ctx.check_hostname = False
                    ctx.verify_mode = ssl.CERT_NONE
                ctx.set_alpn_protocols(["http/1.1"])
                self._ssl = ctx
        return self._ssl

    async def _connect(self, origin: Origin, timeout: float | None) -> _Conn:
        scheme, host, port = origin
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=self._ssl_context() if scheme == "https" else None, limit=_READ * 4
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {exc}") from None
        sock = writer.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _Conn(reader, writer)

    def _checkout(self, origin: Origin) -> _Conn | None:
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if conn.usable():
                return conn
            conn.close()
        return None

    def _release(self, origin: Origin, conn: _Conn, *, reuse: bool) -> None:
        if reuse and not self._closed and conn.h11.our_state is h11.DONE and conn.h11.their_state is h11.DONE:
            try:
                conn.h11.start_next_cycle()
            except h11.LocalProtocolError:
                conn.close()
                return
            idle = self._idle.setdefault(origin, [])
            if len(idle) < self._max_idle:
                idle.append(conn)
                return
        conn.close()

    async def _next_event(self, conn: _Conn, timeout: float | None) -> Any:
        while True:
            try:
                event = conn.h11.next_event()
            except h11.RemoteProtocolError as exc:
                conn.close()
                raise httpx.RemoteProtocolError(str(exc)) from None
            if event is not h11.NEED_DATA:
                return event
            try:
                async with asyncio.timeout(timeout):
                    data = await conn.reader.read(_READ)
            except TimeoutError:
                conn.close()
                raise httpx.ReadTimeout("reading the reply timed out") from None
            except OSError as exc:
                conn.close()
                raise httpx.ReadError(str(exc)) from None
            conn.h11.receive_data(data)  # b"" marks the end of the stream

    async def _send(self, conn: _Conn, request: httpx.Request, body: bytes, timeout: float | None) -> None:
        headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"transfer-encoding"]
        if body and not any(k.lower() == b"content-length" for k, _ in headers):
            headers.append((b"content-length", str(len(body)).encode()))
        try:
            out = conn.h11.send(h11.Request(method=request.method, target=request.url.raw_path, headers=headers))
            if body:
                out += conn.h11.send(h11.Data(data=body))
            out += conn.h11.send(h11.EndOfMessage())
        except h11.LocalProtocolError as exc:
            conn.close()
            raise httpx.LocalProtocolError(str(exc)) from None
        try:
            conn.writer.write(out)
            async with asyncio.timeout(timeout):
                await conn.writer.drain()
        except TimeoutError:
            conn.close()
            raise httpx.WriteTimeout("sending the request timed out") from None
        except OSError as exc:
            conn.close()
            raise httpx.WriteError(str(exc)) from None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` on an idle or new connection and return the response (body streamed)."""
        if self._closed:
            raise httpx.ConnectError("transport is closed")
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}")
        origin: Origin = (scheme, url.host, url.port or (443 if scheme == "https" else 80))
        timeouts = _timeouts(request)
        body = b"".join([part async for part in request.stream])  # type: ignore[union-attr]
        for attempt in (0, 1):
            conn = self._checkout(origin) if attempt == 0 else None
            reused = conn is not None
            if conn is None:
                conn = await self._connect(origin, timeouts.get("connect"))
            try:
                await self._send(conn, request, body, timeouts.get("write"))
                event = await self._next_event(conn, timeouts.get("read"))
                while isinstance(event, h11.InformationalResponse):
                    event = await self._next_event(conn, timeouts.get("read"))
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
                conn.close()
                if reused and attempt == 0:
                    continue  # a stale keep-alive connection: once more on a fresh one
                raise
            except BaseException:
                conn.close()
                raise
            if isinstance(event, h11.ConnectionClosed):
                conn.close()
                if reused and attempt == 0:
                    continue
                raise httpx.RemoteProtocolError("server closed the connection without a reply")
            if not isinstance(event, h11.Response):
                conn.close()
                raise httpx.RemoteProtocolError(f"unexpected HTTP event {type(event).__name__}")
            return httpx.Response(
                status_code=event.status_code,
                headers=event.headers.raw_items(),
                stream=_Body(self, origin, conn, timeouts.get("read")),
                extensions={"http_version": b"HTTP/1.1", "reason_phrase": bytes(event.reason)},
            )
        raise httpx.RemoteProtocolError("no reply")  # pragma: no cover - the loop returns or raises

    async def aclose(self) -> None:
        """Close every idle connection; later requests fail."""
        self._closed = True
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
