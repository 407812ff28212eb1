"""The ragward RAG runs service: API v2, tenants and scoped tokens, queue, scheduler.

::

    settings.py     ServiceSettings (RAGWARD_* environment variables)
    context.py      ServiceContext: settings + database + queue + target factory
    errors.py       ServiceError hierarchy; each error carries its HTTP status and body
    auth.py         tokens (random secrets stored as SHA-256), scopes, expiry, revocation
    db/             SQLAlchemy 2 tables, tenant-scoped repositories, Alembic migrations
    runs.py         accepting a run: asset lock, rate limit, insert, enqueue (one transaction)
    ratelimit.py    rolling-hour trigger cap per asset, checked under the asset lock
    queue.py        huey: SqliteHuey embedded, RedisHuey for scale-out; task run_scan_task
    worker.py       executing a run under a lease with a heartbeat
    lease.py        reaping runs whose worker died, and cleaning up what they planted
    scheduler.py    cron schedules (croniter), claimed with a conditional UPDATE
    api/            FastAPI app factory, routes per resource, dependencies, error mapping
    cli.py          serve, worker, admin (tenants, tokens, migrate)

The contract is ``shared/spec/rag-runs-api.txt``; the service runs the same
engine (:func:`ragward.engine.runner.run_scan`) as the CLI.
"""
