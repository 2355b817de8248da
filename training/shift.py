"""The shift guard: how far the customers at the scoring date lie outside the rows the trees saw.

Trees cannot extrapolate: past the largest tenure in the training rows every customer gets the score
of the oldest leaf. The measure is simple and reads plainly: per feature, the share of the scoring
population whose value is outside the training rows' [min, max]. A feature above
`SHIFT_MAX_OUTSIDE` is left out of the trees (it stays in the matrix where the BG/NBD prior reads
it, and its scale-free companions in the catalogue carry the same information); `score` and `daily`
warn when the population they score crosses the same threshold on a feature the trees use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

SHIFT_MAX_OUTSIDE = 0.10  # documented in the README ("How good is my model?")


def feature_ranges(rows: pd.DataFrame, names: Sequence[str]) -> dict[str, tuple[float, float]]:
    """[min, max] of each feature over the training rows (NaN-only columns are left out)."""
    values = rows[list(names)].astype("float64")
    low, high = values.min(skipna=True), values.max(skipna=True)
    return {n: (float(low[n]), float(high[n])) for n in names if np.isfinite(low[n])}


def share_outside(ranges: Mapping[str, Sequence[float]], scoring: pd.DataFrame) -> dict[str, float]:
    """Per feature, the share of scoring rows with a value outside the training range (NaN is in)."""
    out = {}
    for name, (low, high) in ranges.items():
        if name not in scoring.columns or len(scoring) == 0:
            continue
        values = scoring[name].to_numpy(np.float64)
        outside = (values < low) | (values > high)  # NaN compares False: not outside
        out[name] = float(outside.mean())
    return out


def left_out(shift: Mapping[str, float], threshold: float = SHIFT_MAX_OUTSIDE) -> list[str]:
    """The features the trees must not split on: too much of the scoring population is past them."""
    return sorted(name for name, share in shift.items() if share > threshold)


def shift_warning(
    shift: Mapping[str, float], used: Sequence[str], threshold: float = SHIFT_MAX_OUTSIDE
) -> str | None:
    """One line naming the features the trees use that the scored customers have moved past."""
    crossed = {n: s for n, s in shift.items() if n in used and s > threshold}
    if not crossed:
        return None
    worst = sorted(crossed.items(), key=lambda item: -item[1])[:3]
    listed = ", ".join(f"{name} {share:.0%}" for name, share in worst)
    return (
        f"the scored customers lie outside the model's training rows on {len(crossed)} feature(s) "
        f"({listed} outside the training range; threshold {threshold:.0%}): retrain on newer data "
        "(`churnguard train`)"
    )


def scoring_shift_warning(metadata: Mapping[str, object], scoring: pd.DataFrame) -> str | None:
    """The warning for a population about to be scored by a model with `training_ranges`."""
    ranges = metadata.get("training_ranges") or {}
    if not isinstance(ranges, Mapping) or not ranges:
        return None
    return shift_warning(share_outside(ranges, scoring), list(ranges))
