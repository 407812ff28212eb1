"""The three test families. Importing this package registers every test."""

from ragward.engine.suites import canary, injection, isolation

__all__ = ["canary", "injection", "isolation"]
