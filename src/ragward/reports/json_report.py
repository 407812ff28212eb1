"""The ``json`` report: every run as the service contract's JSON, in one document.

Shape::

    {"ragward_version": "0.1.0", "runs": [<RunSummary.model_dump(mode="json")>, ...]}

Keys keep :class:`ragward.model.RunSummary`'s field order, so two renders of the
same runs are byte-identical; each run carries its ``profile``. A run loads
back with ``RunSummary.model_validate(doc["runs"][i])``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO

from ragward.model import RunSummary
from ragward.reports._common import ragward_version


def to_document(runs: Sequence[RunSummary]) -> dict[str, Any]:
    """The report as a JSON-ready dict (``ragward_version`` and ``runs``)."""
    return {
        "ragward_version": ragward_version(),
        "runs": [run.model_dump(mode="json") for run in runs],
    }


def render(runs: Sequence[RunSummary], stream: TextIO) -> None:
    """Write the JSON report of ``runs`` to ``stream`` (2-space indent, final newline)."""
    json.dump(to_document(runs), stream, indent=2, ensure_ascii=False)
    stream.write("\n")
