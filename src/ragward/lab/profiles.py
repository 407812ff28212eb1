"""Lab profiles: which named flaws and which guardrails a :class:`~ragward.lab.pipeline.RagLab` runs.

A profile is a frozen set of flags. Each *flaw* flag reproduces one real-world
failure of multi-tenant RAG pipelines (documented, with its precedent, in
``docs/lab.md``); each *guard* flag turns on a guardrail from
:mod:`ragward.guardrails`. ``vulnerable`` enables every flaw but
``output_filter_after_stream`` (which changes how the output filter runs, and
``vulnerable`` has none) and no guard; ``hardened`` the reverse. Tests build custom profiles with
:func:`dataclasses.replace`, e.g. ``replace(HARDENED, hybrid_keyword_unfiltered=True)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from ragward.errors import ConfigError

__all__ = ["FLAWS", "HARDENED", "PROFILES", "VULNERABLE", "LabProfile", "get_profile"]

#: The named flaws, in the order docs/lab.md lists them.
FLAWS: tuple[str, ...] = (
    "hybrid_keyword_unfiltered",
    "mmr_prefetch_unfiltered",
    "shared_response_cache",
    "missing_tenant_unscoped",
    "tenant_filter_injection",
    "stale_index_on_delete",
    "no_ingest_scanning",
    "no_context_sanitising",
    "no_output_filter",
    "output_filter_after_stream",
)

_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,38}[a-z0-9])?$")


@dataclass(frozen=True)
class LabProfile:
    """Flags of one lab profile.

    Flaws (``True`` = the flaw is present):

    - ``hybrid_keyword_unfiltered``: the BM25 leg of hybrid search drops the tenant filter.
    - ``mmr_prefetch_unfiltered``: MMR fetches its ``fetch_k`` candidates without the tenant filter.
    - ``shared_response_cache``: the semantic cache is keyed by the query embedding only.
    - ``missing_tenant_unscoped``: a request whose tenant is ``None``, ``""`` or an empty object
      (``{}``, ``[]``) runs unfiltered, as code guarded by ``if tenant:`` does.
    - ``tenant_filter_injection``: a non-string tenant goes straight into the store's ``where``
      filter (``{"$ne": ""}`` widens it); without the flaw it is coerced to a string.
    - ``stale_index_on_delete``: delete removes the document from Chroma only, not from the BM25
      index nor the response cache.
    - ``no_ingest_scanning``: documents are stored without :class:`~ragward.guardrails.IngestScanner`.
    - ``no_context_sanitising``: retrieved text is pasted into the prompt as-is, undelimited.
    - ``no_output_filter``: answers are returned without :class:`~ragward.guardrails.OutputFilter`.
    - ``output_filter_after_stream``: a streamed answer's pieces go to the client as the model
      produces them and the output filter checks the whole answer only afterwards (post-hoc
      moderation), so its block comes after the bytes were delivered; without the flaw the stream
      runs through :meth:`~ragward.guardrails.OutputFilter.stream` (hold-back). No effect with
      ``no_output_filter`` (there is no filter to run late), so ``vulnerable`` leaves it off.

    Guards:

    - ``tenant_filter``: every request's tenant goes through
      :class:`~ragward.guardrails.TenantFilter` (deny by default: missing, unknown, non-string or
      filter-syntax tenants are blocked) and every result set through its post-retrieval check.

    Tuning: ``response_cache`` turns the semantic cache on; ``cache_threshold`` is the cosine
    similarity (in [0, 1]) at or above which a cached answer is reused.

    Raises :class:`ragward.errors.ConfigError` for an invalid name or threshold.
    """

    name: str
    hybrid_keyword_unfiltered: bool = False
    mmr_prefetch_unfiltered: bool = False
    shared_response_cache: bool = False
    missing_tenant_unscoped: bool = False
    tenant_filter_injection: bool = False
    stale_index_on_delete: bool = False
    no_ingest_scanning: bool = False
    no_context_sanitising: bool = False
    no_output_filter: bool = False
    output_filter_after_stream: bool = False
    tenant_filter: bool = True
    response_cache: bool = True
    cache_threshold: float = 0.92

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ConfigError(
                f"invalid lab profile name {self.name!r}: use 1-40 chars of a-z, 0-9, '_' or '-', "
                "starting and ending with a letter or digit"
            )
        if not 0.0 < self.cache_threshold <= 1.0:
            raise ConfigError(f"cache_threshold must be in (0, 1], got {self.cache_threshold}")
        for f in fields(self):
            if f.type == "bool" and not isinstance(getattr(self, f.name), bool):
                raise ConfigError(f"profile flag {f.name} must be a bool")

    @property
    def flaws(self) -> tuple[str, ...]:
        """The names of the flaws this profile has, in :data:`FLAWS` order."""
        return tuple(flaw for flaw in FLAWS if getattr(self, flaw))


VULNERABLE = LabProfile(
    name="vulnerable",
    hybrid_keyword_unfiltered=True,
    mmr_prefetch_unfiltered=True,
    shared_response_cache=True,
    missing_tenant_unscoped=True,
    tenant_filter_injection=True,
    stale_index_on_delete=True,
    no_ingest_scanning=True,
    no_context_sanitising=True,
    no_output_filter=True,
    tenant_filter=False,
)
HARDENED = LabProfile(name="hardened", tenant_filter=True)

PROFILES: dict[str, LabProfile] = {p.name: p for p in (VULNERABLE, HARDENED)}


def get_profile(profile: str | LabProfile) -> LabProfile:
    """Return ``profile`` itself, or the built-in profile of that name.

    Raises :class:`ragward.errors.ConfigError` naming the known profiles when the name is unknown.
    """
    if isinstance(profile, LabProfile):
        return profile
    if isinstance(profile, str) and profile in PROFILES:
        return PROFILES[profile]
    known = ", ".join(sorted(PROFILES))
    raise ConfigError(f"unknown lab profile {profile!r}; expected one of: {known}")
