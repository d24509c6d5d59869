"""The evaluation's judge and report (coach/evaluation/judge.py): hand-computable tables."""

from __future__ import annotations

import numpy as np
import pytest

from coach.evaluation.judge import (
    aggregate,
    compare_markdown,
    diagnose,
    extra_flags,
    judge,
    precision_recall,
    to_markdown,
    tracking_stats,
)


def _v(
    fault="none",
    expected=(),
    reps=2,
    got=((), ()),
    hints=(),
    conditions=("baseline",),
    name="clip",
    stroke="sun",
    duration_s=60.0,
):
    return judge(
        name=name,
        stroke=stroke,
        fault=fault,
        conditions=conditions,
        expected_flags=expected,
        expected_reps=reps,
        rep_flags=got,
        hints=hints,
        duration_s=duration_s,
    )


@pytest.mark.parametrize(
    ("fault", "expected", "reps", "got", "ok"),
    [
        # a good session, two clean repetitions: right
        ("none", (), 2, ((), ()), True),
        # a good session with one too_fast repetition: a pace flag on a good session
        ("none", (), 2, (("too_fast",), ()), False),
        # a good session with an off_path flag: not a pace/direction flag, still right
        ("none", (), 2, (("off_path",), ()), True),
        # a good session split into three repetitions: the count is wrong
        ("none", (), 2, ((), (), ()), False),
        # a good session where the coach scored nothing (followed the resting hand)
        ("none", (), 2, (), False),
        # reversed, flagged on both: right
        ("reversed", ("wrong_direction",), 2, (("wrong_direction",), ("wrong_direction",)), True),
        # reversed, flagged on one of two: not a majority
        ("reversed", ("wrong_direction",), 2, (("wrong_direction",), ()), False),
        # fast, three truth repetitions, flagged on two: a majority
        ("fast", ("too_fast",), 3, (("too_fast",), ("too_fast",), ()), True),
        # slow, one repetition, flagged with something else too: the fault is found, right
        ("slow", ("too_slow",), 1, (("too_slow", "incomplete"),), True),
        # slow, one repetition split into two each flagged: the count is wrong
        ("slow", ("too_slow",), 1, (("too_slow",), ("too_slow",)), False),
    ],
)
def test_verdict(fault, expected, reps, got, ok):
    v = _v(fault, expected, reps, got)
    assert v.ok is ok
    assert (v.problems == ()) is ok


def test_false_alarm_hints_only_count_pace_and_direction_in_good_sessions():
    hints = ((3.0, "too_fast"), (9.0, "good"), (12.0, "wrong_direction"), (20.0, "off_path"))
    assert _v(hints=hints).false_alarm_hints == 2  # too_fast and wrong_direction
    assert _v("fast", ("too_fast",), 2, (("too_fast",),) * 2, hints).false_alarm_hints == 0


def test_extra_flags():
    v = _v("fast", ("too_fast",), 2, (("too_fast", "incomplete"), ("too_fast",)))
    assert extra_flags(v) == ["incomplete"]


def test_precision_recall_by_hand():
    vs = [
        _v("fast", ("too_fast",), 2, (("too_fast",), ("too_fast",))),  # TP
        _v("fast", ("too_fast",), 2, (("too_fast",), ())),  # FN: one of two is no majority
        _v("none", (), 2, (("too_fast",), ())),  # FP: raised once where not expected
        _v("none", (), 2, ((), ())),  # TN
        _v("slow", ("too_slow",), 1, (("too_slow",),)),  # TN for too_fast
    ]
    pr = precision_recall(vs, "too_fast")
    assert (pr["tp"], pr["fp"], pr["fn"]) == (1, 1, 1)
    assert pr["precision"] == pytest.approx(0.5) and pr["recall"] == pytest.approx(0.5)
    none = precision_recall(vs[3:4], "too_fast")
    assert none["precision"] is None and none["recall"] is None  # nothing to measure


def test_aggregate_and_markdown():
    vs = [
        _v(name="a", conditions=("baseline",), duration_s=120.0, hints=((5.0, "too_slow"),)),
        _v(
            "reversed",
            ("wrong_direction",),
            2,
            (("wrong_direction",),) * 2,
            name="b",
            conditions=("rest:doll", "motion:real"),
            stroke="i-love-you",
        ),
        _v(got=((), (), ()), name="c", conditions=("rest:doll",), duration_s=60.0),
    ]
    rep = aggregate(vs)
    assert rep["overall"] == {"clips": 3, "right": 2, "accuracy": pytest.approx(2 / 3)}
    assert rep["per_stroke"]["sun"]["right"] == 1 and rep["per_stroke"]["i-love-you"]["right"] == 1
    assert rep["per_condition"]["rest:doll"]["clips"] == 2
    assert rep["per_condition"]["rest:doll"]["right"] == 1
    # one false-alarm hint in 3 minutes of good practice (a: 2 min, c: 1 min)
    assert rep["false_alarm_hints"]["count"] == 1
    assert rep["false_alarm_hints"]["per_min"] == pytest.approx(1 / 3)
    assert [w["name"] for w in rep["worst"]] == ["c"]
    assert "split or spurious" in rep["worst"][0]["problems"][0]
    md = to_markdown(rep, "T")
    assert md.startswith("# T") and "| c |" in md and "2/3 verdicts right" in md


def test_tracking_stats_by_hand():
    # 10 frames, two hands: hand 0 strokes in frames 0-7, hand 1 rests at (0.2, 0.8)
    truth = np.zeros((10, 2, 2))
    truth[:, 0] = np.stack([np.linspace(0.1, 0.9, 10), np.full(10, 0.5)], axis=1)
    truth[:, 1] = (0.2, 0.8)
    stroker = np.array([0] * 8 + [-1, -1])
    track = truth[:, 0] + (0.0, 0.1)  # the stroking hand, 0.1 box low
    track[5:7] = (0.21, 0.79)  # two frames on the resting hand
    track[7] = np.nan  # one frame lost
    s = tracking_stats(track, truth, stroker)
    assert s["stroking_frames"] == 8
    assert s["followed_stroker"] == pytest.approx(5 / 8)
    assert s["followed_other_hand"] == pytest.approx(2 / 8)
    assert s["lost"] == pytest.approx(1 / 8)
    assert s["bias_box"] == pytest.approx(0.1)  # a constant offset: bias, no spread
    assert s["jitter_box"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    ("fault", "got", "counts", "tracking", "says"),
    [
        # the resting hand followed half the time, one repetition missed
        (
            "none",
            1,
            {},
            {"followed_other_hand": 0.5},
            ["followed the other hand 50%", "repetition(s) missed"],
        ),
        # a good stroke split in three, flagged too fast
        ("none", 3, {"too_fast": 1}, {}, ["split or spurious", "pace or direction flag"]),
        # the hand lost most of the time, fingertips 0.2 box off
        ("fast", 2, {}, {"lost": 0.6, "bias_box": 0.2}, ["no hand tracked 60%", "off by 0.20 box"]),
        # nothing stands out
        ("none", 2, {}, {"followed_stroker": 1.0}, []),
    ],
)
def test_diagnose(fault, got, counts, tracking, says):
    out = diagnose(fault, 2, got, counts, tracking)
    assert len(out) == len(says)
    for text, want in zip(out, says, strict=True):
        assert want in text


def test_compare_lists_the_verdicts_that_changed():
    before = aggregate([_v(name="a"), _v(got=((),), name="b")])  # b: a repetition missed
    after = aggregate([_v(name="a"), _v(name="b")])  # b fixed
    md = compare_markdown(before, after, "T")
    assert "| all clips | 1/2 (50%) | 2/2 (100%) |" in md
    assert "| b | 1 repetitions, expected 2 (missed) | right |" in md
    assert "| a |" not in md  # unchanged verdicts are not listed
