"""The one NaN-to-None rule (coach/core/numbers.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from coach.core.numbers import finite_or_none


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (1, 1.0),
        (2.5, 2.5),
        (np.float32(0.5), 0.5),
        (np.int64(3), 3.0),
        (None, None),
        (math.nan, None),
        (math.inf, None),
        (-math.inf, None),
        (True, None),  # a flag is not a number
        ("1.5", None),  # nor is text
    ],
)
def test_finite_or_none(x, expected) -> None:
    assert finite_or_none(x) == expected
