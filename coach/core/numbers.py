"""Unknown numbers: JSON, the store and the reports have no NaN, so they become None."""

from __future__ import annotations

import math
from numbers import Real


def finite_or_none(x: object) -> float | None:
    """``x`` as a finite float; None for None, NaN, infinities, booleans and non-numbers."""
    if isinstance(x, bool) or not isinstance(x, Real):
        return None
    f = float(x)
    return f if math.isfinite(f) else None
