"""Alembic migrations of the service's schema (package data, run by ``Database.migrate``)."""
