"""Persistence: SQLAlchemy 2 tables, tenant-scoped repositories, Alembic migrations.

``tables`` declares the schema, ``migrations/`` creates it (Alembic, shipped as
package data and run programmatically by :func:`ragward.service.db.engine.migrate`),
``repositories`` is the only code that queries it: every method takes the
tenant as its first argument, so no route can forget the tenant filter.
"""
