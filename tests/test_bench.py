"""Tests for coach.bench: the measurement helpers, clip caching, and a smoke run.

No timing thresholds are asserted anywhere: the benchmark's numbers depend on the
machine. The smoke test only checks that every row is there and the numbers are sane.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from coach.bench import bench, clips, measure, passes
from coach.core.types import HandObservation
from coach.samples import synth


@pytest.mark.parametrize(
    ("samples_s", "p50_ms", "max_ms"),
    [
        ([0.001] * 10, 1.0, 1.0),  # constant 1 ms
        ([0.001, 0.002, 0.003], 2.0, 3.0),  # odd count: the middle one
        ([0.001, float("nan"), 0.003], 2.0, 3.0),  # NaN (unused slot) ignored
    ],
)
def test_percentiles_ms(samples_s, p50_ms, max_ms):
    got = measure.percentiles_ms(np.array(samples_s))
    assert got["p50"] == pytest.approx(p50_ms)
    assert got["max"] == pytest.approx(max_ms)
    assert got["p50"] <= got["p99"] <= got["max"]


def test_percentiles_of_nothing_are_nan():
    assert all(math.isnan(v) for v in measure.percentiles_ms(np.array([])).values())


def test_window_growth_compares_first_and_last_window():
    # 10 minutes sampled every second: 100 MB for the first 5 minutes, then 103 MB.
    t = np.arange(600.0)
    v = np.where(t < 300, 100.0, 103.0)
    g = measure.window_growth(t, v, 600.0)
    assert (g["window_s"], g["first"], g["last"], g["growth"]) == (60.0, 100.0, 103.0, 3.0)
    assert g["slope_per_min"] == pytest.approx(0.0, abs=1e-9)  # flat over the second half


def test_window_growth_trend_is_per_minute_over_the_second_half():
    # Warm-up: +50 in the first minute, then a leak of 2 per minute.
    t = np.arange(0.0, 600.0, 5.0)
    v = np.minimum(t, 60.0) * 50.0 / 60.0 + np.maximum(t - 60.0, 0.0) * 2.0 / 60.0
    g = measure.window_growth(t, v, 600.0)
    assert g["slope_per_min"] == pytest.approx(2.0)


def test_window_growth_short_clip_uses_quarter_windows():
    g = measure.window_growth([0.0, 1.0, 2.0, 3.0], [5.0, 6.0, 7.0, 8.0], 4.0)
    assert g["window_s"] == 1.0
    assert (g["first"], g["last"]) == (5.5, 7.5)  # medians of {5, 6} and {7, 8}


def test_paired_ratio_is_median_of_chunk_ratios():
    a = [(60, 2.0), (60, 2.0), (60, 6.0), (0, 0.0)]  # 30, 30, 10 fps; an empty last chunk
    b = [(60, 2.5), (60, 2.0), (60, 6.0), (0, 0.01)]  # 24, 30, 10 fps
    assert passes.paired_ratio(a, b) == pytest.approx(1.0)  # median of 0.8, 1.0, 1.0


def test_observation_log_round_trip():
    log = measure.ObservationLog(3)
    lm = np.random.default_rng(0).random((2, 21, 3))
    obs = HandObservation(timestamp_s=0.5, landmarks=lm, scores=[0.9, 0.8], image_size=(640, 480))
    log.add(0.0, None)
    log.add(0.5, obs)
    assert len(log) == 2
    assert log.observation(0) is None
    back = log.observation(1)
    assert back is not None and back.timestamp_s == 0.5 and back.image_size == (640, 480)
    np.testing.assert_array_equal(back.landmarks, lm)
    np.testing.assert_array_equal(back.scores, [0.9, 0.8])


def test_observation_log_refuses_more_frames_than_announced():
    log = measure.ObservationLog(16)
    for i in range(16):
        log.add(i / 30, None)
    with pytest.raises(ValueError, match="more than the 16 frames"):
        log.add(1.0, None)


class _FakeTracker:
    def update(self, obs, t):
        return None


class _FakeCoach:
    def __init__(self):
        self.tracker = _FakeTracker()

    def update(self, obs, t):
        return self.tracker.update(obs, t)


def test_stage_timer_splits_tracker_from_the_rest():
    coach = _FakeCoach()
    timer = measure.StageTimer(coach, 4)
    for i in range(5):  # one more than the capacity: the series grows
        coach.update(None, i / 30)
    s = timer.summary()
    assert timer.update_s.n == timer.tracker_s.n == 5
    assert np.all(timer.update_s.values() >= timer.tracker_s.values())
    assert s["stages_ms"]["p50"] >= 0.0 and s["tracker_ms"]["p50"] >= 0.0


def test_json_safe_turns_nan_into_null():
    data = bench._json_safe({"a": math.nan, "b": (1, np.float64(2.5)), "c": np.int64(3)})
    assert json.dumps(data, allow_nan=False) == '{"a": null, "b": [1, 2.5], "c": 3}'


def test_bad_durations_exit_2(capsys):
    assert bench.run_bench(long_s=-1.0, short_s=3.0) == 2
    assert bench.run_bench(long_s=0.0, short_s=0.0) == 2
    assert "expected durations" in capsys.readouterr().err


def test_clip_is_cached_until_the_generator_changes(tmp_path, monkeypatch):
    notes: list[str] = []
    clip = clips.ensure_clip(tmp_path, 0.5, log=notes.append)
    assert clip.path.is_file() and clip.frames == 15 and clip.size == (640, 480)
    assert clip.body_frame() is not None
    assert any("rendering" in n for n in notes)

    notes.clear()
    again = clips.ensure_clip(tmp_path, 0.5, log=notes.append)
    assert again == clip and any("reusing" in n for n in notes)

    notes.clear()
    monkeypatch.setattr(synth, "GENERATOR_VERSION", synth.GENERATOR_VERSION + 1)
    clips.ensure_clip(tmp_path, 0.5, log=notes.append)
    assert any("rendering" in n for n in notes)


@pytest.mark.model
@pytest.mark.slow
def test_bench_smoke_run(model_path, tmp_path, capsys):
    out_json = tmp_path / "bench.json"
    status = bench.run_bench(long_s=0, short_s=3.0, out_dir=tmp_path, json_path=out_json)
    assert status == 0
    text = capsys.readouterr().out
    for row in (
        "MediaPipe alone (decode + detect), frames/s",
        "full coach score pipeline, frames/s",
        "ratio full / MediaPipe",
        "matcher+scoring+hints p50 / p99",
        "peak RSS during the run (MB)",
        "RSS first -> last window (MB)",
        "Python heap of pipeline, peak MB",
        "memory flat",
        "trend over 2nd half",
        "cores",
        "load average",
    ):
        assert row in text, row

    data = json.loads(out_json.read_text())
    assert data["schema"] == "coach.bench/1"
    assert data["machine"]["cores"] >= 1
    (r,) = data["clips"]
    assert r["frames"] == {"mediapipe": 90, "full": 90}
    assert r["fps"]["mediapipe"] > 0 and r["fps"]["full"] > 0
    assert r["ratio"] == pytest.approx(r["fps"]["full"] / r["fps"]["mediapipe"])
    for key in ("stages_ms", "tracker_ms", "stages_replay_ms"):
        assert 0 <= r[key]["p50"] <= r[key]["p99"] <= r[key]["max"], key
    assert r["detection_rate"]["full"] > 0.5  # the rendered hand is found
    assert r["replay_matches"] is True
    mem = r["memory"]
    assert mem["max_rss_mb"] > 10 and mem["heap_peak_mb"] > 0
    assert mem["rss"]["first"] > 10 and mem["rss"]["last"] > 10
