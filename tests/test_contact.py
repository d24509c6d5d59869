"""Tests for coach.core.contact: hand-computable contact points."""

from __future__ import annotations

import numpy as np
import pytest

from coach.core.contact import CONTACT_LANDMARKS, contact_point


def _hand(values: dict[int, tuple[float, float]], rest: float = 0.0) -> np.ndarray:
    """21 landmarks at (rest, rest, 0.5) except the given indices."""
    hand = np.full((21, 3), rest)
    hand[:, 2] = 0.5
    for index, (x, y) in values.items():
        hand[index, :2] = (x, y)
    return hand


@pytest.mark.parametrize(
    ("kind", "points", "expected"),
    [
        # the four fingertips at the corners of a unit square: the centre
        ("fingertips", {8: (0, 0), 12: (1, 0), 16: (1, 1), 20: (0, 1)}, (0.5, 0.5)),
        # fingertips in a row: mean of 0.1, 0.2, 0.3, 0.4 is 0.25
        (
            "fingertips",
            {8: (0.1, 0.8), 12: (0.2, 0.8), 16: (0.3, 0.8), 20: (0.4, 0.8)},
            (0.25, 0.8),
        ),
        # palm: wrist at (0, 0) and four knuckles at (1, 1): (4/5, 4/5)
        ("palm", {0: (0, 0), 5: (1, 1), 9: (1, 1), 13: (1, 1), 17: (1, 1)}, (0.8, 0.8)),
    ],
)
def test_contact_point_is_the_mean(kind: str, points: dict, expected: tuple) -> None:
    hand = _hand(points, rest=9.0)  # other landmarks far away: they must not count
    np.testing.assert_allclose(contact_point(hand, kind), expected)


def test_swapping_index_and_little_finger_does_not_move_the_fingertips() -> None:
    """A mirrored-looking hand (index <-> little finger) has the same contact point."""
    rng = np.random.default_rng(3)
    hand = rng.random((21, 3))
    swapped = hand.copy()
    swapped[[8, 20]] = hand[[20, 8]]
    np.testing.assert_allclose(
        contact_point(hand, "fingertips"), contact_point(swapped, "fingertips")
    )


def test_batched_shapes() -> None:
    hands = np.zeros((4, 2, 21, 3))
    hands[..., 8, 0] = 4.0  # one fingertip at x=4 -> mean x = 1
    out = contact_point(hands, "fingertips")
    assert out.shape == (4, 2, 2)
    np.testing.assert_allclose(out, np.broadcast_to([1.0, 0.0], (4, 2, 2)))
    assert contact_point(hands[0, 0], "palm").shape == (2,)


def test_landmark_tables_follow_the_spec() -> None:
    assert CONTACT_LANDMARKS == {"fingertips": (8, 12, 16, 20), "palm": (0, 5, 9, 13, 17)}


@pytest.mark.parametrize(
    ("landmarks", "kind", "message"),
    [
        (np.zeros((21, 3)), "thumb", "expected kind one of"),  # unknown contact kind
        (np.zeros((20, 3)), "palm", r"expected landmarks of shape \(\.\.\., 21, 3\)"),  # 20 points
        (np.zeros((21, 4)), "palm", "found \\(21, 4\\)"),  # 4 coordinates
        (np.zeros(21), "palm", "found \\(21,\\)"),  # flat vector
    ],
)
def test_bad_input(landmarks: np.ndarray, kind: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        contact_point(landmarks, kind)  # type: ignore[arg-type]
