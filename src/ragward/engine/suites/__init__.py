"""The test families. Importing this package registers every test (``deep`` holds the payload-family tests,
``pdf`` the deep profile's PDF files)."""

from ragward.engine.suites import canary, deep, injection, isolation, pdf

__all__ = ["canary", "deep", "injection", "isolation", "pdf"]
