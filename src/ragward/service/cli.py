"""The service's commands: ``serve``, ``worker`` and ``admin`` (tenants, tokens, migrations).

``register(app)`` adds them to the main ``ragward`` Typer app; ``python -m
ragward.service.cli`` runs them alone. Bad input prints one line on stderr
and exits 2; other failures (database unreachable) exit 1; never a traceback.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from ragward.errors import ConfigError, RagwardError
from ragward.service.auth import format_scopes, hash_token, new_token, parse_duration, parse_scopes
from ragward.service.db.engine import Database
from ragward.service.db.repositories import Tenants, Tokens
from ragward.service.db.types import utcnow
from ragward.service.settings import ServiceSettings

log = logging.getLogger(__name__)


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def _guard() -> Iterator[None]:
    """Turn expected failures into one line on stderr and an exit code."""
    try:
        yield
    except typer.Exit:
        raise
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "settings"
        message = str(err["msg"]).removeprefix("Value error, ")
        _fail(f"invalid setting RAGWARD_{field.upper()}: {message}")
    except RagwardError as exc:
        _fail(exc.message, exc.exit_code)
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        _fail(f"database error: {detail}", 1)
    except OSError as exc:
        _fail(f"{exc.strerror or exc}", 1)


def _settings() -> ServiceSettings:
    return ServiceSettings()


@contextmanager
def _database() -> Iterator[Database]:
    db = Database(_settings())
    try:
        db.migrate()
        yield db
    finally:
        db.dispose()


def _tenant_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ConfigError(f"--tenant {text!r} is not a tenant id (a UUID)") from None


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


# ---- serve / worker -----------------------------------------------------------------------------


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (RAGWARD_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (RAGWARD_PORT).", min=0, max=65535)] = None,
    workers: Annotated[
        int | None, typer.Option(help="Embedded worker threads; 0 for none (RAGWARD_EMBEDDED_WORKERS).", min=0)
    ] = None,
) -> None:
    """Run the API, an embedded worker and the scheduler in one process (SQLite by default)."""
    import uvicorn

    from ragward.service.api import create_app

    with _guard():
        settings = _settings()
        updates: dict[str, object] = {}
        if host is not None:
            updates["host"] = host
        if port is not None:
            updates["port"] = port
        if workers is not None:
            updates["embedded_workers"] = workers
        settings = settings.model_copy(update=updates)
        _logging()
        app = create_app(settings)
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            proxy_headers=False,
            server_header=False,
            log_level="info",
        )


def worker(
    threads: Annotated[int, typer.Option(help="Worker threads in this process.", min=1, max=64)] = 2,
    scheduler: Annotated[
        bool,
        typer.Option("--scheduler/--no-scheduler", help="Also run the scheduler (the lease reaper always runs)."),
    ] = True,
) -> None:
    """Consume scan jobs from the queue (scale-out: PostgreSQL + Redis, any number of machines)."""
    from ragward.service.context import ServiceContext
    from ragward.service.runtime import attach_worker
    from ragward.service.scheduler import Maintenance

    with _guard():
        settings = _settings()
        _logging()
        ctx = ServiceContext.create(settings)
        try:
            ctx.queue.pending()  # one round trip: an unreachable queue is one clear error, not a retry loop
        except Exception as exc:  # redis or sqlite driver errors, whatever their class
            where = re.sub(r"//[^@/]*@", "//***@", settings.queue_location())  # no password in the message
            raise ConfigError(f"cannot reach the queue at {where}: {exc}") from None
        maintenance = Maintenance(ctx, schedules=scheduler)
        try:
            attach_worker(ctx)
            consumer = ctx.queue.consumer(threads, embedded=False)
            maintenance.start()
            consumer.run()
        finally:
            maintenance.stop()
            if ctx.active.cancel_all():
                log.warning("cancelled running scans; waiting for their teardown")
                import time

                deadline = time.monotonic() + 30
                while len(ctx.active) and time.monotonic() < deadline:
                    time.sleep(0.1)
            ctx.close()


# ---- admin --------------------------------------------------------------------------------------

admin_app = typer.Typer(help="Tenants, tokens and migrations.", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens (stored as SHA-256; shown once).", no_args_is_help=True)
admin_app.add_typer(tenant_app, name="tenant")
admin_app.add_typer(token_app, name="token")


@admin_app.command("migrate")
def migrate() -> None:
    """Upgrade the database schema to the newest migration."""
    with _guard(), _database():
        typer.echo("database is up to date")


@tenant_app.command("create")
def tenant_create(name: Annotated[str, typer.Argument(help="Display name of the tenant.")]) -> None:
    """Create a tenant; prints its id."""
    with _guard():
        name = name.strip()
        if not name or len(name) > 200 or "\x00" in name:
            raise ConfigError("tenant name must be 1 to 200 printable characters")
        with _database() as db, db.write() as session:
            tenant = Tenants(session).create(name)
            session.commit()
            typer.echo(str(tenant.id))


@tenant_app.command("list")
def tenant_list() -> None:
    """List tenants: id and name, one per line."""
    with _guard(), _database() as db, db.read() as session:
        for tenant in Tenants(session).list():
            typer.echo(f"{tenant.id}\t{tenant.name}")


@token_app.command("create")
def token_create(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant id.")],
    scopes: Annotated[str, typer.Option("--scopes", help="Comma-separated, e.g. rag:read,rag:write.")],
    expires_in: Annotated[
        str | None, typer.Option("--expires-in", help="Lifetime, e.g. 90d, 12h (default: no expiry).")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="A label for the token.")] = None,
) -> None:
    """Create a token; prints it (this is the only time it is shown)."""
    with _guard():
        tenant_id = _tenant_id(tenant)
        scope_set = parse_scopes(scopes)
        expires_at = utcnow() + parse_duration(expires_in) if expires_in is not None else None
        if name is not None and (len(name) > 200 or "\x00" in name):
            raise ConfigError("--name must be at most 200 printable characters")
        with _database() as db, db.write() as session:
            if Tenants(session).get(tenant_id) is None:
                raise ConfigError(f"no tenant {tenant_id}")
            token = new_token()
            row = Tokens(session).create(
                tenant_id,
                token_hash=hash_token(token),
                scopes=format_scopes(scope_set),
                name=name,
                expires_at=expires_at,
            )
            session.commit()
            typer.echo(token)
            typer.echo(f"token id {row.id} (the token is shown only once)", err=True)


@token_app.command("list")
def token_list(tenant: Annotated[str, typer.Option("--tenant", help="Tenant id.")]) -> None:
    """List a tenant's tokens: id, name, scopes, expiry, revocation (never the secret)."""
    with _guard():
        tenant_id = _tenant_id(tenant)
        with _database() as db, db.read() as session:
            for row in Tokens(session).list(tenant_id):
                expires = row.expires_at.isoformat() if row.expires_at else "never"
                revoked = f"revoked {row.revoked_at.isoformat()}" if row.revoked_at else "active"
                typer.echo(f"{row.id}\t{row.name or '-'}\t{row.scopes}\texpires {expires}\t{revoked}")


@token_app.command("revoke")
def token_revoke(token_id: Annotated[str, typer.Argument(help="Token id (from token list).")]) -> None:
    """Revoke a token now."""
    with _guard():
        try:
            tid = uuid.UUID(token_id)
        except ValueError:
            raise ConfigError(f"{token_id!r} is not a token id (a UUID)") from None
        with _database() as db, db.write() as session:
            if not Tokens(session).revoke(tid):
                raise ConfigError(f"no active token {tid}")
            session.commit()
            typer.echo(f"revoked {tid}")


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``worker`` and the ``admin`` group to ``app``."""
    app.command("serve")(serve)
    app.command("worker")(worker)
    app.add_typer(admin_app, name="admin")


def main() -> None:
    """Entry point of ``python -m ragward.service.cli``."""
    app = typer.Typer(help="ragward service commands.", no_args_is_help=True, pretty_exceptions_enable=False)
    register(app)
    app()


if __name__ == "__main__":
    main()
