"""Secrets in target configurations: ``${ENV_VAR}`` references, resolved at build time.

A target file never holds a secret, only a reference such as
``Authorization: "Bearer ${ACME_TOKEN}"``. The reference is resolved from the
environment when the adapter is built (:func:`ragward.targets.config.build_target`),
never when the file is parsed, so the service can store and show a target
configuration without ever seeing the value. Every resolved value is recorded
in a :class:`SecretStore` so that adapters can scrub it from error messages
(which end up in reports and logs).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from ragward.errors import ConfigError

__all__ = ["ENV_REF", "MASK", "SecretStore", "has_env_ref", "is_env_ref_only"]

#: ``${NAME}``: an environment variable reference (POSIX variable names).
ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MASK = "***"


def has_env_ref(value: str) -> bool:
    """True when ``value`` contains at least one ``${VAR}`` reference."""
    return ENV_REF.search(value) is not None


def is_env_ref_only(value: str) -> bool:
    """True when ``value`` is exactly one ``${VAR}`` reference."""
    return ENV_REF.fullmatch(value) is not None


#: Secrets shorter than this are scrubbed only where they stand as a whole token.
SHORT_SECRET = 6


class SecretStore:
    """Resolves ``${VAR}`` references and remembers the values, to scrub them from text.

    ``environ`` defaults to :data:`os.environ` (read at resolve time).
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        """Create an empty store reading ``environ`` (default: the process environment)."""
        self._environ = environ
        self._values: set[str] = set()

    def resolve(self, text: str, where: str) -> str:
        """``text`` with every ``${VAR}`` replaced by its value.

        ``where`` names the config field for the error message. Raises
        :class:`ConfigError` when a variable is unset or empty.
        """
        environ = self._environ if self._environ is not None else os.environ

        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            value = environ.get(name)
            if not value:
                raise ConfigError(f"{where}: environment variable {name} is not set")
            self._values.add(value)
            return value

        return ENV_REF.sub(sub, text)

    @property
    def values(self) -> frozenset[str]:
        """The secret values resolved so far."""
        return frozenset(self._values)

    def scrub(self, text: str) -> str:
        """``text`` with every resolved secret replaced by ``***`` (longest first)."""
        for value in sorted(self._values, key=len, reverse=True):
            if not value or value not in text:
                continue
            if len(value) >= SHORT_SECRET:
                text = text.replace(value, MASK)
            else:  # a short value would mask letters inside ordinary words: whole tokens only
                text = re.sub(rf"(?<![\w-]){re.escape(value)}(?![\w-])", MASK, text)
        return text

    def __repr__(self) -> str:
        return f"SecretStore({len(self._values)} value(s))"
