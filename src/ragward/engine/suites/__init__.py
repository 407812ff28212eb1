"""The test families. Importing this package registers every test (``deep`` holds the payload-family tests)."""

from ragward.engine.suites import canary, deep, injection, isolation

__all__ = ["canary", "deep", "injection", "isolation"]
