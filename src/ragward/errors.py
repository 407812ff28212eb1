"""The one exception hierarchy of ragward.

::

    RagwardError                    base; ``exit_code`` for the CLI
    ├── ConfigError                 bad target file, profile or option (CLI exit 2)
    ├── TargetError                 the target failed (transport, crash, bad reply)
    │   └── CleanupError            planted documents could not be removed
    └── ScanError                   the engine could not run the scan

The service maps these (and its own ``ApiError`` subclasses) to HTTP in one
place, ``ragward.service.api.errors``.
"""

from __future__ import annotations


class RagwardError(Exception):
    """Base of every error ragward raises on purpose."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(RagwardError):
    """A configuration, option or input file is invalid."""


class TargetError(RagwardError):
    """The target failed or answered something unusable."""

    exit_code = 3


class CleanupError(TargetError):
    """Planted documents could not be removed or their removal not verified."""


class ScanError(RagwardError):
    """The engine could not run the scan."""

    exit_code = 3
