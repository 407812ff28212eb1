"""The failures reported against real services, each fixed for its whole kind.

* a size cap that only read Content-Length (chunked bodies went through);
* a 429 without Retry-After;
* a rate limit keyed on a spoofable X-Forwarded-For;
* scopes matched any-of, so a read-only token could trigger;
* a list route with no scope check;
* a malformed UUID in a path giving a 500;
* a job-status route returning another user's job given its id.
"""

from __future__ import annotations

import socket
import uuid
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from svc_helpers import ALL_SCOPES, Backend, Client, auth

from ragward.service.api.deps import REQUIRED_SCOPES_KEY
from ragward.service.auth import Principal, Scope

pytestmark = pytest.mark.timeout(180)

LIMIT = 1_048_576
TOO_LARGE = b'{"error":"payload_too_large","limit_bytes":1048576}'


def _routes(client: Client) -> list[tuple[str, str, list[Scope]]]:
    """(method, path template, required scopes) of every operation in the OpenAPI document."""
    document = client.http.get("/api/v2/openapi.json").json()
    out = []
    for path, item in document["paths"].items():
        if path == "/api/v2/health":
            continue
        for method, op in item.items():
            out.append((method.upper(), path, [Scope(s) for s in op.get(REQUIRED_SCOPES_KEY, [])]))
    return out


def _fill(path: str, value: str) -> str:
    return (
        path.replace("{run_id}", value)
        .replace("{asset_id}", value)
        .replace("{finding_id}", value)
        .replace("{schedule_id}", value)
    )


# ---- size cap: bytes received, not Content-Length -----------------------------------------------


def _raw_chunked_post(url: str, path: str, token: str, total: int) -> tuple[int, dict[str, str], bytes]:
    """POST ``total`` body bytes chunked (no Content-Length, no final chunk) on a raw socket."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=15)
    try:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {parts.hostname}\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        sock.sendall(head.encode())
        sent = 0
        try:
            while sent < total:
                size = min(65536, total - sent)
                sock.sendall(f"{size:x}\r\n".encode() + b" " * size + b"\r\n")
                sent += size
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may stop reading once it has answered
        # The terminating 0-chunk is never sent: a server that waits for the end of the body
        # before enforcing the cap would hang here until the socket timeout.
        data = b""
        while b"\r\n\r\n" not in data:
            piece = sock.recv(65536)
            if not piece:
                break
            data += piece
        header_blob, _, body = data.partition(b"\r\n\r\n")
        lines = header_blob.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            piece = sock.recv(65536)
            if not piece:
                break
            body += piece
        return status, headers, body
    finally:
        sock.close()


@pytest.mark.parametrize("path", ["/api/v2/rag-runs", "/api/v2/ai-assets", "/api/v2/rag-schedules"])
def test_chunked_body_without_content_length_is_cut_at_the_cap(live: Backend, path: str) -> None:
    _, token = live.harness.tenant_token()
    status, headers, body = _raw_chunked_post(live.url, path, token, LIMIT + 1)
    assert status == 413
    assert body == TOO_LARGE
    assert headers["content-type"] == "application/json"


def test_declared_length_over_cap_refused_before_reading(svc: Client) -> None:
    _, token = svc.harness.tenant_token()
    response = svc.http.post(
        "/api/v2/ai-assets", content=b"x" * (LIMIT + 10), headers={**auth(token), "Content-Type": "application/json"}
    )
    assert (response.status_code, response.content) == (413, TOO_LARGE)


# ---- 429 carries Retry-After; the limit is keyed by asset, never by address ----------------------


def test_rate_limit_ignores_forwarded_headers_and_is_keyed_by_asset(backend: Backend) -> None:
    c = backend.client()
    tenant, token = c.harness.tenant_token()
    second_token = c.harness.token(tenant)
    asset = c.asset(token)
    statuses = []
    for i in range(8):
        spoof = {
            "X-Forwarded-For": f"203.0.113.{i}, 10.0.0.{i}",
            "X-Real-IP": f"198.51.100.{i}",
            "Forwarded": f"for=192.0.2.{i}",
            "True-Client-IP": f"192.0.2.{i + 50}",
        }
        tok = token if i % 2 else second_token
        r = c.http.post("/api/v2/rag-runs", json={"ai_asset_id": asset}, headers={**auth(tok), **spoof})
        statuses.append(r.status_code)
        if r.status_code == 429:
            assert r.headers["Retry-After"] == str(r.json()["retry_after_seconds"])
            assert int(r.headers["Retry-After"]) >= 1
    assert statuses == [202] * 6 + [429, 429]
    # same client address, another asset: accepted (the key is the asset)
    assert c.trigger(token, c.asset(token, name="second")).status_code == 202


# ---- scopes: all-of, on every route, list routes included ---------------------------------------


def test_read_only_token_cannot_trigger(svc: Client) -> None:
    tenant, _ = svc.harness.tenant_token()
    writer = svc.harness.token(tenant, [Scope.ASSETS_WRITE])
    asset = svc.asset(writer)
    for scopes in ([Scope.RAG_READ], [s for s in ALL_SCOPES if s is not Scope.RAG_WRITE]):
        token = svc.harness.token(tenant, scopes)
        response = svc.trigger(token, asset)
        assert response.status_code == 403
        assert response.content == b'{"error":"missing_scope","required_scope":"rag:write"}'
    assert svc.http.get("/api/v2/rag-runs", headers=auth(writer)).status_code == 403


def test_principal_scopes_are_all_of() -> None:
    p = Principal(tenant_id=uuid.uuid4(), token_id=uuid.uuid4(), scopes=frozenset({Scope.RAG_READ}))
    assert p.missing([Scope.RAG_READ]) is None
    assert p.missing([Scope.RAG_READ, Scope.RAG_WRITE]) is Scope.RAG_WRITE
    assert p.missing([Scope.RAG_WRITE, Scope.RAG_READ]) is Scope.RAG_WRITE


def test_every_route_checks_all_of_its_scopes(svc: Client) -> None:
    """Generated from the route table, so a new route without a scope check fails here."""
    tenant, _ = svc.harness.tenant_token()
    routes = _routes(svc)
    assert len(routes) >= 14
    list_routes = [p for m, p, _ in routes if m == "GET" and "{" not in p]
    assert set(list_routes) == {"/api/v2/rag-runs", "/api/v2/ai-assets", "/api/v2/findings", "/api/v2/rag-schedules"}
    for method, path, required in routes:
        assert required, f"{method} {path} declares no scope"
        url = _fill(path, str(uuid.uuid4()))
        kwargs = {"json": {}} if method in ("POST", "PATCH") else {}
        anonymous = svc.http.request(method, url, **kwargs)
        assert (anonymous.status_code, anonymous.json()) == (401, {"error": "missing_token"}), (method, path)
        nothing = svc.http.request(method, url, headers=auth(svc.harness.token(tenant, [])), **kwargs)
        assert nothing.status_code == 403, (method, path)
        for scope in required:
            others = [s for s in ALL_SCOPES if s is not scope]
            token = svc.harness.token(tenant, others)
            response = svc.http.request(method, url, headers=auth(token), **kwargs)
            assert response.status_code == 403, (method, path, scope)
            assert response.json() == {"error": "missing_scope", "required_scope": scope.value}
        exact = svc.http.request(method, url, headers=auth(svc.harness.token(tenant, required)), **kwargs)
        assert exact.status_code not in (401, 403), (method, path, exact.text)


def test_token_errors(svc: Client) -> None:
    from datetime import timedelta

    from ragward.service.db.repositories import Tokens
    from ragward.service.db.types import utcnow

    tenant, token = svc.harness.tenant_token()
    cases = {
        None: "missing_token",
        "": "missing_token",
        "Bearer": "invalid_token",
        "Basic dXNlcjpwYXNz": "invalid_token",
        f"Token {token}": "invalid_token",
        "Bearer rw_" + "A" * 43: "invalid_token",
        f"Bearer {token}x": "invalid_token",
    }
    for header, code in cases.items():
        headers = {} if header is None else {"Authorization": header}
        r = svc.http.get("/api/v2/rag-runs", headers=headers)
        assert (r.status_code, r.json()) == (401, {"error": code}), header
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert svc.http.get("/api/v2/rag-runs", headers={"Authorization": f"bearer  {token} "}).status_code == 200
    expired = svc.harness.token(tenant, expires_at=utcnow() - timedelta(seconds=1))
    r = svc.http.get("/api/v2/rag-runs", headers=auth(expired))
    assert (r.status_code, r.json()) == (401, {"error": "expired_token"})
    from ragward.service.auth import hash_token

    with svc.harness.ctx.db.write() as session:
        row = Tokens(session).by_hash(hash_token(token))
        assert row is not None and row.token_hash != token  # only the hash is stored
        assert Tokens(session).revoke(row.id)
        session.commit()
    r = svc.http.get("/api/v2/rag-runs", headers=auth(token))
    assert (r.status_code, r.json()) == (401, {"error": "invalid_token"})


# ---- malformed ids in paths: 400/404 JSON, never 500 ---------------------------------------------

_INVALID_CODE = {
    "{run_id}": "invalid_run_id",
    "{asset_id}": "invalid_ai_asset_id",
    "{finding_id}": "invalid_finding_id",
    "{schedule_id}": "invalid_schedule_id",
}
_NOT_FOUND_CODE = {
    "/api/v2/rag-runs/{run_id}": "rag_run_not_found",
    "/api/v2/rag-runs/{run_id}/tests": "rag_run_not_found",
    "/api/v2/rag-runs/{run_id}/findings": "rag_run_not_found",
    "/api/v2/ai-assets/{asset_id}": "ai_asset_not_found",
    "/api/v2/findings/{finding_id}": "finding_not_found",
    "/api/v2/rag-schedules/{schedule_id}": "schedule_not_found",
}
NASTY = [
    "0",
    "null",
    "%00",
    "%",
    "%zz",
    "'; DROP TABLE rag_runs; --",
    "8c6f1f0e7d0c4f439a430c3f6b1f2d11",
    "{8c6f1f0e-7d0c-4f43-9a43-0c3f6b1f2d11}",
    "8c6f1f0e-7d0c-4f43-9a43-0c3f6b1f2d1g",
    "8c6f1f0e-7d0c-4f43-9a43-0c3f6b1f2d11 ",
    "ffffffff-ffff-ffff-ffff-ffffffffffffffffffff",
    "𝔘𝔘𝔌𝔇",
    "x" * 5000,
]


def _check_path_value(svc: Client, token: str, raw: str) -> None:
    encoded = quote(raw, safe="")
    for method, path, _route in _routes(svc):
        if "{" not in path:
            continue
        placeholder = next(k for k in _INVALID_CODE if k in path)
        kwargs = {"json": {"status": "fixed"}} if method == "PATCH" else {}
        r = svc.http.request(method, _fill(path, encoded), headers=auth(token), **kwargs)
        assert r.status_code in (400, 404), (method, path, raw, r.status_code, r.text)
        assert r.headers["content-type"] == "application/json"
        body = r.json()
        try:
            canonical = str(uuid.UUID(raw)) == raw.lower() and len(raw) == 36
        except ValueError:
            canonical = False
        if canonical:
            assert body == {"error": _NOT_FOUND_CODE[path]}
        elif r.status_code == 400:
            assert body == {"error": _INVALID_CODE[placeholder]}, (method, path, raw)
        else:  # the value changed the path itself (e.g. an encoded slash): no such route
            assert body == {"error": "not_found"}, (method, path, raw)


def test_malformed_ids_in_paths_listed(svc: Client) -> None:
    _, token = svc.harness.tenant_token()
    for raw in [*NASTY, str(uuid.uuid4()), str(uuid.uuid4()).upper()]:
        _check_path_value(svc, token, raw)


@pytest.fixture
def svc_token(svc: Client) -> tuple[Client, str]:
    _, token = svc.harness.tenant_token()
    return svc, token


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.text(min_size=1, max_size=60))
def test_malformed_ids_in_paths_generated(svc_token: tuple[Client, str], raw: str) -> None:
    svc, token = svc_token
    if raw in (".", ".."):
        return  # path normalisation, not an id
    _check_path_value(svc, token, raw)


# ---- another tenant's object: the same 404, byte for byte ---------------------------------------


def _significant(response) -> tuple[int, bytes, list[tuple[str, str]]]:  # type: ignore[no-untyped-def]
    headers = sorted((k.lower(), v) for k, v in response.headers.items() if k.lower() != "date")
    return response.status_code, response.content, headers


def test_other_tenants_objects_are_indistinguishable_from_missing(backend: Backend) -> None:
    c = backend.client()
    _, owner = c.harness.tenant_token()
    _, intruder = c.harness.tenant_token()
    asset = c.asset(owner)
    run_id = c.trigger(owner, asset).json()["run_id"]
    c.wait_run(owner, run_id)
    finding = c.http.get(f"/api/v2/rag-runs/{run_id}/findings", headers=auth(owner)).json()["data"][0]["id"]
    schedule = c.http.post(
        "/api/v2/rag-schedules", json={"ai_asset_id": asset, "cron": "0 3 * * *"}, headers=auth(owner)
    ).json()["id"]

    probes = [
        ("GET", "/api/v2/rag-runs/{}", run_id, None),
        ("GET", "/api/v2/rag-runs/{}/tests", run_id, None),
        ("GET", "/api/v2/rag-runs/{}/findings", run_id, None),
        ("GET", "/api/v2/findings/{}", finding, None),
        ("PATCH", "/api/v2/findings/{}", finding, {"status": "fixed"}),
        ("GET", "/api/v2/ai-assets/{}", asset, None),
        ("DELETE", "/api/v2/ai-assets/{}", asset, None),
        ("GET", "/api/v2/rag-schedules/{}", schedule, None),
        ("DELETE", "/api/v2/rag-schedules/{}", schedule, None),
        ("POST", "/api/v2/rag-runs", asset, {"ai_asset_id": "{}"}),
        ("POST", "/api/v2/rag-schedules", asset, {"ai_asset_id": "{}", "cron": "0 3 * * *"}),
    ]
    for method, template, real_id, body in probes:
        answers = []
        for object_id in (real_id, str(uuid.uuid4())):
            path = template.format(object_id) if "{}" in template else template
            json_body = None
            if body is not None:
                json_body = {k: (object_id if v == "{}" else v) for k, v in body.items()}
            answers.append(_significant(c.http.request(method, path, json=json_body, headers=auth(intruder))))
        assert answers[0] == answers[1], (method, template)
        assert answers[0][0] == 404

    # the owner's objects are untouched, and the intruder's lists are empty
    assert c.http.get(f"/api/v2/ai-assets/{asset}", headers=auth(owner)).status_code == 200
    assert c.http.get(f"/api/v2/rag-schedules/{schedule}", headers=auth(owner)).status_code == 200
    assert c.http.get(f"/api/v2/findings/{finding}", headers=auth(owner)).json()["status"] == "open"
    for path in ("/api/v2/rag-runs", "/api/v2/findings", "/api/v2/ai-assets", "/api/v2/rag-schedules"):
        assert c.http.get(path, headers=auth(intruder)).json() == {"data": []}
    filtered = c.http.get("/api/v2/rag-runs", params={"ai_asset_id": asset}, headers=auth(intruder))
    assert filtered.json() == {"data": []}
