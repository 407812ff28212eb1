"""Alembic revision files (one per schema change, never edited once released)."""
