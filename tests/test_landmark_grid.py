"""The landmark-level grid tool (tests/landmark_grid.py): its cases and its table."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from coach.core.contact import contact_point
from coach.samples.choreography import RestingHand
from coach.samples.synth import Sample
from tests.landmark_grid import CONDITIONS, cases, run_case, table
from tests.landmark_sim import observations, resting


def _result(stroke: str, right: bool, fault: str = "none", **over) -> dict:
    r = {
        "stroke": stroke, "fault": fault, "seed": 0, "human": False, "condition": "clean",
        "right": right, "repetitions": 2, "expected": 2, "flags": [[], []],
        "pace_direction_hints": 0,
    }  # fmt: skip
    r.update(over)
    return r


def test_cases_cover_every_stroke_and_skip_a_resting_hand_for_sun_and_moon():
    all_cases = list(cases(1))
    assert {c[0] for c in all_cases} == {"i-love-you", "sun", "sun-moon", "water-wheel"}
    assert not [c for c in all_cases if c[0] == "sun-moon" and c[4] == "other hand resting"]
    # human timing only for good sessions: 4 faults x 12 conditions + 12 human, per stroke
    assert sum(c[0] == "sun" for c in all_cases) == 4 * 12 + 12


@pytest.mark.parametrize(
    ("seeds", "first_seed", "want"),
    [
        (2, 0, {0, 1}),  # the draws the coach was tuned on
        (2, 2, {2, 3}),  # draws it never saw
        (1, 5, {5}),
    ],
)
def test_cases_draw_the_seeds_asked_for(seeds, first_seed, want):
    assert {c[2] for c in cases(seeds, first_seed)} == want


def test_table_counts_by_stroke_and_sets_before_beside_now():
    before = [_result("sun", False), _result("i-love-you", True)]
    now = [_result("sun", True), _result("i-love-you", False, repetitions=3, flags=[[], [], []])]
    md = table(now, before)
    assert "| **all 2 cases** | 1/2 | 1/2 |" in md
    assert "| stroke: sun | 0/1 | 1/1 |" in md  # wrong before, right now
    assert "Right before and wrong now: 1; wrong before and right now: 1." in md
    assert "Good sessions: 1 of 2 with a wrong repetition count" in md
    assert "| i-love-you none seed 0 planned, clean | 3/2 | -; -; - | 0 |" in md  # still wrong


def test_a_clean_good_sun_is_right():
    r = run_case("sun", "none", 0, False, "clean")
    assert r["right"] and r["repetitions"] == r["expected"] == 2


def test_hands_in_turn_rest_between_their_turns_not_a_third_hand():
    field = CONDITIONS["other hand resting"]
    options, water = resting("water-wheel", field)
    assert options == {"rest": RestingHand(uv=field.rest_uv)}
    assert water == dataclasses.replace(field, rest_uv=None)
    assert resting("sun", field) == ({}, field)  # one hand strokes: a second hand rests
    two_hands = Sample("water-wheel", size=(320, 240), fps=10, **options)
    assert max(len(o.landmarks) for o, _ in observations(two_hands, water) if o) == 2
    with pytest.raises(ValueError, match="two already"):
        observations(two_hands, field)


def test_a_water_wheel_with_its_hands_resting_in_turn_is_right():
    r = run_case("water-wheel", "none", 0, False, "other hand resting")
    assert r["right"] and r["repetitions"] == r["expected"] == 4


@pytest.mark.parametrize(
    "stroke",
    [
        "sun",  # fingertip stroke: the fingertips stay put while the hand turns
        "water-wheel",  # palm stroke: the palm stays put (it used to turn about the fingertips)
    ],
)
def test_a_turning_hand_turns_about_the_strokes_contact_point(stroke):
    sample = Sample(stroke, size=(320, 240), fps=10)
    turning = dataclasses.replace(CONDITIONS["clean"], hand_turn_deg=30.0)
    plain = observations(sample, CONDITIONS["clean"])
    turned = observations(sample, turning)
    moved = []
    for (a, _), (b, _) in zip(plain, turned, strict=True):
        if a is None or b is None:
            continue
        same = contact_point(a.landmarks, sample.stroke.contact)
        assert np.allclose(contact_point(b.landmarks, sample.stroke.contact), same, atol=1e-9)
        moved.append(np.abs(b.landmarks - a.landmarks).max())
    assert max(moved) > 0.01  # the hand did turn (by up to 30 degrees)
