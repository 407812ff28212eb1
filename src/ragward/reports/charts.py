"""Geometry of the inline SVG charts of the HTML report (no JavaScript, no images).

Pure arithmetic: the template draws the shapes. The donut uses the usual
``stroke-dasharray`` technique on a circle whose circumference is 100 units, so a
segment's dash length is its percentage.
"""

from __future__ import annotations

from dataclasses import dataclass

from ragward.reports._common import Counts

#: Radius giving a circumference of 100 (``100 / (2π)``), so dash lengths are percentages.
DONUT_RADIUS = 15.915494309189533


@dataclass(frozen=True)
class Segment:
    """One outcome's share of a chart.

    ``outcome`` is ``"passed"``, ``"failed"`` or ``"skipped"`` (also the CSS class);
    ``percent`` in [0, 100]; ``start`` is the cumulative percent before it.
    """

    outcome: str
    count: int
    percent: float
    start: float

    @property
    def dasharray(self) -> str:
        """SVG ``stroke-dasharray`` for the donut arc: dash, then gap, both in percent."""
        return f"{self.percent:.3f} {100 - self.percent:.3f}"

    @property
    def dashoffset(self) -> str:
        """SVG ``stroke-dashoffset``: the arc follows the previous ones, clockwise from 12:00."""
        return f"{25 - self.start:.3f}"


def segments(counts: Counts) -> list[Segment]:
    """The non-empty outcome segments of ``counts`` (empty list when no test ran).

    Percentages are of ``passed + failed + skipped`` and sum to 100.
    """
    parts = [("passed", counts.passed), ("failed", counts.failed), ("skipped", counts.skipped)]
    total = sum(n for _, n in parts)
    if total <= 0:
        return []
    result: list[Segment] = []
    start = 0.0
    for outcome, count in parts:
        if count <= 0:
            continue
        percent = 100.0 * count / total
        result.append(Segment(outcome, count, percent, start))
        start += percent
    return result


def pass_rate(counts: Counts) -> int | None:
    """Passed tests in whole percent of the tests with a verdict (not skipped), else ``None``."""
    decided = counts.passed + counts.failed
    return round(100 * counts.passed / decided) if decided else None
