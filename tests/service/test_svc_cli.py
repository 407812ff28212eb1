"""``ragward serve | worker | admin``: one-line errors, exit 2 on bad input, tokens shown once."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
import typer
from svc_helpers import HERE
from typer.testing import CliRunner

from ragward.service.auth import hash_token
from ragward.service.cli import register
from ragward.service.db.engine import Database
from ragward.service.db.repositories import Tokens
from ragward.service.settings import ServiceSettings

pytestmark = pytest.mark.timeout(120)

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.setenv("RAGWARD_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    app = typer.Typer(pretty_exceptions_enable=False)
    register(app)
    return app


def _run(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _one_line_error(code: int, out: str, err: str, expected_code: int = 2) -> str:
    assert code == expected_code, (out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_tenant_and_token_lifecycle(cli: typer.Typer, tmp_path: Path) -> None:
    code, out, _ = _run(cli, "admin", "tenant", "create", "acme")
    assert code == 0 and UUID_RE.match(out.strip())
    tenant = out.strip()
    code, out, err = _run(
        cli,
        "admin",
        "token",
        "create",
        "--tenant",
        tenant,
        "--scopes",
        "rag:read,rag:write",
        "--expires-in",
        "90d",
        "--name",
        "ci",
    )
    assert code == 0, err
    token = out.strip()
    assert re.match(r"^rw_[A-Za-z0-9_-]{43}$", token) and "shown only once" in err
    db = Database(ServiceSettings(database_url=f"sqlite:///{tmp_path / 'cli.db'}"))
    with db.read() as session:
        row = Tokens(session).by_hash(hash_token(token))
        assert row is not None and row.scopes == "rag:read rag:write" and row.name == "ci"
        assert row.expires_at is not None and 89 <= (row.expires_at - row.created_at).days <= 90
        assert token not in {row.token_hash, row.name, row.scopes}
    db.dispose()
    code, out, _ = _run(cli, "admin", "token", "list", "--tenant", tenant)
    assert code == 0 and str(row.id) in out and token not in out
    code, out, _ = _run(cli, "admin", "token", "revoke", str(row.id))
    assert code == 0 and "revoked" in out
    line = _one_line_error(*_run(cli, "admin", "token", "revoke", str(row.id)))
    assert "no active token" in line
    code, out, _ = _run(cli, "admin", "tenant", "list")
    assert code == 0 and f"{tenant}\tacme" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["admin", "token", "create", "--tenant", "nope", "--scopes", "rag:read"], "not a tenant id"),
        (["admin", "token", "create", "--tenant", str(uuid.uuid4()), "--scopes", "rag:read"], "no tenant"),
        (["admin", "token", "create", "--tenant", "TENANT", "--scopes", "rag:admin"], "unknown scope"),
        (["admin", "token", "create", "--tenant", "TENANT", "--scopes", ","], "no scopes"),
        (
            ["admin", "token", "create", "--tenant", "TENANT", "--scopes", "rag:read", "--expires-in", "soon"],
            "invalid duration",
        ),
        (
            ["admin", "token", "create", "--tenant", "TENANT", "--scopes", "rag:read", "--expires-in", "0d"],
            "invalid duration",
        ),
        (["admin", "token", "revoke", "123"], "not a token id"),
        (["admin", "tenant", "create", "   "], "tenant name"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli: typer.Typer, args: list[str], needle: str) -> None:
    _code, out, _ = _run(cli, "admin", "tenant", "create", "t")
    args = [out.strip() if a == "TENANT" else a for a in args]
    line = _one_line_error(*_run(cli, *args))
    assert needle in line


def test_bad_setting_is_one_line(cli: typer.Typer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGWARD_DATABASE_URL", "postgresql://ragward:changeme@127.0.0.1/x")
    line = _one_line_error(*_run(cli, "admin", "tenant", "list"))
    assert "RAGWARD_DATABASE_URL" in line and "default password" in line


def test_unreachable_database_is_one_line_exit_1(cli: typer.Typer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGWARD_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/x")
    line = _one_line_error(*_run(cli, "admin", "tenant", "list"), expected_code=1)
    assert "database error" in line


def test_serve_runs_api_worker_and_scheduler(tmp_path: Path) -> None:
    """``ragward serve`` in a real process: migrations, API and an embedded worker that completes a run."""
    import os
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ)
    env.update(
        RAGWARD_TARGET_FACTORY="svc_factories:mock_factory",
        RAGWARD_HOME=str(tmp_path / "home"),
        PYTHONPATH=os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]),
    )
    for key in ("RAGWARD_DATABASE_URL", "RAGWARD_QUEUE_URL"):
        env.pop(key, None)
    admin = [sys.executable, "-m", "ragward.service.cli", "admin"]
    tenant = subprocess.run(
        [*admin, "tenant", "create", "acme"], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    token = subprocess.run(
        [*admin, "token", "create", "--tenant", tenant, "--scopes", "rag:read,rag:write,assets:write"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ragward.service.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v2/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        h = {"Authorization": f"Bearer {token}"}
        asset = httpx.post(
            f"{url}/api/v2/ai-assets", headers=h, json={"name": "a", "kind": "rag", "target": {"kind": "lab"}}
        ).json()["id"]
        run_id = httpx.post(f"{url}/api/v2/rag-runs", headers=h, json={"ai_asset_id": asset}).json()["run_id"]
        while (run := httpx.get(f"{url}/api/v2/rag-runs/{run_id}", headers=h).json())["status"] == "running":
            assert time.monotonic() < deadline + 30
            time.sleep(0.2)
        assert run["status"] == "completed"
        assert (tmp_path / "ragward.db").exists() and (tmp_path / "ragward.db.queue").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    # uvicorn shuts down cleanly, then re-raises SIGTERM so the exit status tells how it ended
    assert proc.returncode in (0, -15)
    logged = (tmp_path / "serve.log").read_text()
    assert "Application shutdown complete" in logged and "Traceback" not in logged
