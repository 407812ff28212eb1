"""A small evaluator of Chroma's metadata ``where`` language, for the lab's BM25 index.

The keyword index keeps its own copy of each chunk's metadata (as sparse
indexes such as Elasticsearch or LangChain's ``BM25Retriever`` do) and applies
the same filter the vector store receives, so a filter behaves alike on both
legs of hybrid search. Supported, as in Chroma: ``{"field": value}`` (equality),
``{"field": {"$eq"|"$ne"|"$gt"|"$gte"|"$lt"|"$lte": v}}``, ``{"field": {"$in"|"$nin": [..]}}``,
``{"field": {"$contains"|"$not_contains": v}}`` (membership in a list value),
and ``{"$and"|"$or": [filter, ...]}``. See https://docs.trychroma.com/docs/querying-collections/metadata-filtering.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["FilterError", "matches_where"]

_SCALAR = (str, int, float, bool)


class FilterError(ValueError):
    """The filter is not valid in Chroma's ``where`` language."""


def _compare(op: str, have: Any, want: Any) -> bool:
    if op in ("$in", "$nin"):
        if not isinstance(want, list) or not all(isinstance(v, _SCALAR) for v in want):
            raise FilterError(f"{op} expects a list of scalars, got {want!r}")
        return (have in want) == (op == "$in")
    if not isinstance(want, _SCALAR):
        raise FilterError(f"{op} expects a str, int, float or bool, got {want!r}")
    if op in ("$contains", "$not_contains"):
        found = isinstance(have, list) and want in have
        return found == (op == "$contains")
    if op == "$eq":
        return bool(have == want)
    if op == "$ne":
        return bool(have != want)
    if op in ("$gt", "$gte", "$lt", "$lte"):
        if isinstance(want, str | bool):
            raise FilterError(f"{op} expects a number, got {want!r}")
        if have is None or isinstance(have, str | bool):
            return False
        return bool(
            {
                "$gt": have > want,
                "$gte": have >= want,
                "$lt": have < want,
                "$lte": have <= want,
            }[op]
        )
    raise FilterError(f"unsupported operator {op!r}")


def matches_where(metadata: Mapping[str, Any], where: Mapping[str, Any]) -> bool:
    """True when ``metadata`` satisfies the Chroma ``where`` filter ``where``.

    A missing field never matches ``$eq``, ``$in`` or a comparison; it matches ``$ne`` and ``$nin``.
    Raises :class:`FilterError` for anything Chroma would reject.
    """
    if not isinstance(where, Mapping) or len(where) != 1:
        raise FilterError(f"a where filter must be a mapping with exactly one key, got {where!r}")
    ((key, value),) = where.items()
    if key in ("$and", "$or"):
        if not isinstance(value, list) or len(value) < 2:
            raise FilterError(f"{key} expects a list of at least two filters")
        results = [matches_where(metadata, sub) for sub in value]
        return all(results) if key == "$and" else any(results)
    if not isinstance(key, str) or key.startswith("$"):
        raise FilterError(f"invalid field name {key!r}")
    have = metadata.get(key)
    if isinstance(value, Mapping):
        if len(value) != 1:
            raise FilterError(f"an operator expression needs exactly one operator, got {value!r}")
        ((op, want),) = value.items()
        if not isinstance(op, str):
            raise FilterError(f"invalid operator {op!r}")
        return _compare(op, have, want)
    return _compare("$eq", have, value)
