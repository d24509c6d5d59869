"""Live coach: queue policy, dropped frames, sessions, calibration, settings.

The landmarker is replaced by one that returns the synthetic clip's exact hand
landmarks (no model needed), so the real per-frame pipeline runs on known motion.
"""

from __future__ import annotations

import json
import math
import threading

import numpy as np
import pytest

from coach.core.bodyframe import BodyFrame
from coach.core.contact import PALM_LANDMARKS
from coach.core.types import HandObservation
from coach.samples.scene import hand_landmarks_px
from coach.samples.synth import Sample
from coach.services import calibration, live
from coach.services import events as live_events
from coach.storage import settings as live_settings

W, H = 640, 480


class TruthLandmarker:
    """Stands in for HandLandmarker: the sample's own landmarks for each frame index."""

    def __init__(self, sample: Sample | None = None, script=None):
        self.sample, self.script = sample, script
        self.closed = False
        self.resets = 0
        self.calls = 0

    def detect(self, frame) -> HandObservation | None:
        self.calls += 1
        if self.script is not None:
            return self.script(frame)
        index = int(round(frame.timestamp_s * self.sample.fps)) % self.sample.n_frames
        hands = [h for h in self.sample.hand_landmarks(index) if h is not None]
        if not hands:
            return None
        lm = np.concatenate([np.array(hands), np.zeros((len(hands), 21, 1))], axis=2)
        return HandObservation(
            frame.timestamp_s, lm, np.ones(len(hands)), (frame.width, frame.height)
        )

    def reset(self) -> None:
        self.resets += 1

    def close(self) -> None:
        self.closed = True


@pytest.fixture(scope="module")
def sample() -> Sample:
    return Sample("i-love-you", repetitions=2, size=(W, H))


def blank(value: int = 90) -> np.ndarray:
    return np.full((H, W, 3), value, np.uint8)


def run_clip(coach: live.LiveCoach, sample: Sample, t0: float = 0.0) -> list[live_events.LiveEvent]:
    """Feed the clip's timestamps (blank images: the fake landmarker knows the hand)."""
    events = []
    img = blank()
    for i in range(sample.n_frames):
        out = coach.process(img, t0 + sample.timestamp(i))
        assert out.shape == img.shape
        events += coach.events.drain()
    return events


def make_coach(sample: Sample, **kw) -> live.LiveCoach:
    lm = TruthLandmarker(sample)
    return live.LiveCoach(
        sample.stroke, sample.truth.body_frame(), landmarker_factory=lambda n: lm, **kw
    )


# -- event queue ----------------------------------------------------------------------------------


def test_queue_drops_oldest_when_full() -> None:
    q = live_events.EventQueue(maxsize=3)
    for i in range(5):
        q.put(live_events.LiveEvent("hint", float(i)))
    got = q.drain()
    assert [e.t_s for e in got] == [2.0, 3.0, 4.0]  # the two oldest were dropped
    assert q.dropped == 2
    assert q.drain(timeout_s=0.01) == []


def test_queue_rejects_zero_size() -> None:
    with pytest.raises(ValueError, match="maxsize >= 1"):
        live_events.EventQueue(0)


# -- the live pipeline ----------------------------------------------------------------------------


def test_clip_gives_repetitions_status_and_stats(sample) -> None:
    coach = make_coach(sample, queue_size=1000, stats_every_s=0.0)
    events = run_clip(coach, sample)
    kinds = {e.kind for e in events}
    assert {"status", "stats"} <= kinds
    reps = [e.payload for e in events if e.kind == "repetition"]
    assert len(reps) >= 1  # the first repetition is scored live, when the second starts
    assert reps[0].direction == "ok" and 0 <= reps[0].score <= 100
    summary = coach.finish()
    assert len(summary.repetitions) == 2
    stats = coach.stats()
    assert stats.frames_processed == sample.n_frames == stats.frames_in
    assert stats.frames_dropped == 0
    assert stats.processing_ms_p95 >= stats.processing_ms_p50 > 0


def test_output_is_annotated_and_input_untouched(sample) -> None:
    coach = make_coach(sample)
    img = blank()
    out = coach.process(img, 0.0)
    assert (img == 90).all()
    assert not np.array_equal(out, img)  # status band and box drawn


def test_busy_worker_returns_last_frame_without_queueing(sample) -> None:
    gate, entered = threading.Event(), threading.Event()

    def slow(frame):
        if frame.timestamp_s > 0.5:
            entered.set()
            gate.wait(5)
        return None

    lm = TruthLandmarker(script=slow)
    coach = live.LiveCoach(
        sample.stroke, sample.truth.body_frame(), landmarker_factory=lambda n: lm
    )
    first = coach.process(blank(), 0.0)
    worker = threading.Thread(target=coach.process, args=(blank(), 1.0))
    worker.start()
    assert entered.wait(5)
    again = coach.process(blank(50), 1.033)  # arrives while frame 1.0 is processed
    gate.set()
    worker.join(5)
    assert again is first  # the last annotated frame, at once
    assert coach.stats().frames_dropped == 1
    assert lm.calls == 2  # the dropped frame never reached the landmarker


def test_a_frame_the_pipeline_raises_on_goes_back_raw_and_is_said_once(sample) -> None:
    # The landmarker fails on frames at 1.0, 1.033, 1.066 s (e.g. a broken model): each of
    # those frames comes back as it came (the video never freezes), the page hears of it
    # once, and the next good frame is processed again. A new session says it again.
    def script(frame):
        if 1.0 <= frame.timestamp_s < 1.1:
            raise RuntimeError("model gone")
        return None

    coach = live.LiveCoach(
        sample.stroke, sample.truth.body_frame(),
        landmarker_factory=lambda n: TruthLandmarker(script=script), queue_size=100,
    )  # fmt: skip
    coach.process(blank(), 0.0)
    for t in (1.0, 1.033, 1.066):
        img = blank(40)
        assert coach.process(img, t) is img
    after = coach.process(blank(), 1.2)
    assert not np.array_equal(after, blank())  # annotated again
    errors = [e for e in coach.events.drain() if e.kind == "error"]
    assert len(errors) == 1 and errors[0].t_s == 1.0
    assert "could not process the video" in errors[0].payload
    assert coach.frames_failed == 3
    coach.process(blank(), 0.1)  # the stream restarted: a new session
    coach.process(blank(40), 1.0)
    assert [e.kind for e in coach.events.drain() if e.kind in ("session", "error")] == [
        "session", "error",
    ]  # fmt: skip


def test_a_failure_whose_message_changes_every_frame_is_said_once(sample) -> None:
    # "index 1000 is out of bounds", "index 1001 ...": one kind of failure (one type), one
    # event; the queue keeps room for the hints.
    def script(frame):
        raise IndexError(f"index {round(frame.timestamp_s * 1000)} is out of bounds")

    coach = live.LiveCoach(
        sample.stroke, sample.truth.body_frame(),
        landmarker_factory=lambda n: TruthLandmarker(script=script), queue_size=100,
    )  # fmt: skip
    for i in range(30):
        coach.process(blank(), 1.0 + i / 30)
    errors = [e for e in coach.events.drain() if e.kind == "error"]
    assert len(errors) == 1 and "(IndexError)" in errors[0].payload
    assert coach.frames_failed == 30


@pytest.mark.parametrize(
    ("events", "want"),
    [
        (["error"], "E"),  # an error is kept for the page
        (["error", "hint"], "E"),  # a later hint does not hide it
        (["error", "session"], ""),  # a new session starts clean
        (["session", "error"], "E"),  # an error in the new session shows
    ],
)
def test_view_keeps_an_error_until_a_new_session(events, want) -> None:
    payload = {"error": "E", "hint": None, "session": 1}
    evs = [live_events.LiveEvent(k, float(i), payload[k]) for i, k in enumerate(events)]
    assert live_events.apply_events(live_events.LiveView(), evs).error == want


def test_repeated_timestamp_dropped_and_restart_starts_new_session(sample) -> None:
    coach = make_coach(sample, queue_size=1000)
    coach.process(blank(), 5.0)
    coach.process(blank(), 5.0)  # same timestamp: dropped
    assert coach.stats().frames_dropped == 1
    coach.process(blank(), 0.1)  # stream restarted from zero
    events = coach.events.drain()
    assert any(e.kind == "session" for e in events)
    assert coach.sessions == 1


def test_two_sessions_do_not_share_state(sample) -> None:
    a, b = make_coach(sample, queue_size=1000), make_coach(sample, queue_size=1000)
    run_clip(a, sample)
    b.process(blank(), 0.0)
    assert len(a.finish().repetitions) == 2
    assert b.finish().repetitions == ()
    assert a.events is not b.events and a.stats().frames_in != b.stats().frames_in


def test_not_calibrated_prompts_and_scores_nothing(sample) -> None:
    lm = TruthLandmarker(sample)
    coach = live.LiveCoach(sample.stroke, None, landmarker_factory=lambda n: lm)
    out = coach.process(blank(), 0.0)
    assert not np.array_equal(out, blank())
    assert [e.payload for e in coach.events.drain() if e.kind == "status"] == ["calibrate"]
    assert coach.finish() is None


@pytest.mark.parametrize("start", [320, 380, 400])  # joined in the U, before its last leg
def test_joining_mid_stroke_gives_no_other_way_round_the_card_does_not_give(sample, start) -> None:
    """The coach starts while the U is half done (as when the page opens mid-practice):
    it takes the U's end for the L, and the hand carried back up the I line to the next
    start looked like a backwards stroke. The live hint said "Other way round" while
    every card said "Right direction" (seen in the browser with the sample clip)."""
    coach = make_coach(sample)
    img = blank()
    hints, directions = [], []
    for tick in range(start, start + 700):
        coach.process(img, tick / sample.fps)
        for e in coach.events.drain():
            if e.kind == "hint":
                hints.append(e.payload.code)
            elif e.kind == "repetition":
                directions.append(e.payload.direction)
    assert directions and set(directions) == {"ok"}
    assert "wrong_direction" not in hints


def test_landmarker_created_once_for_two_hands(sample) -> None:
    made = []

    def factory(n):
        made.append(n)
        return TruthLandmarker(sample)

    coach = live.LiveCoach(sample.stroke, sample.truth.body_frame(), landmarker_factory=factory)
    for i in range(3):
        coach.process(blank(), i / 30)
    # I Love You is a one-hand stroke, done while the other hand may rest on the doll: the
    # landmarker looks for both (the tracker searches for a second one only now and then).
    assert made == [2]
    coach.close()


# -- hand-on-tummy calibration --------------------------------------------------------------------


def flat_hand(centre_px, angle_deg: float, length_px: float = 200.0) -> np.ndarray:
    """Normalised (21, 3) landmarks of the synthetic flat hand, palm centre at ``centre_px``."""
    px = hand_landmarks_px(centre_px, angle_deg, length_px, contact="palm")
    return np.concatenate([px / np.array([W, H]), np.zeros((21, 1))], axis=1)


def observe(lm: np.ndarray, t: float) -> HandObservation:
    return HandObservation(t, lm[None], np.ones(1), (W, H))


def hold(cal: calibration.HandOnTummy, lm: np.ndarray, seconds: float, t0: float = 0.0):
    state = None
    for i in range(int(seconds * 30) + 1):
        state = cal.update(observe(lm, t0 + i / 30), t0 + i / 30)
    return state


@pytest.mark.parametrize(
    "angle_deg, head",
    [
        (0.0, (0.0, -1.0)),  # fingers up: head up
        (90.0, (1.0, 0.0)),  # fingers right: head right
        (180.0, (0.0, 1.0)),  # fingers down: head down
        (-90.0, (-1.0, 0.0)),  # fingers left: head left
    ],
)
def test_hand_on_tummy_sets_centre_head_and_scale(angle_deg, head) -> None:
    cal = calibration.HandOnTummy()
    lm = flat_hand((320, 240), angle_deg)
    state = hold(cal, lm, 2.1)
    assert state.done and cal.body_frame is not None
    bf = cal.body_frame
    centre = lm[list(PALM_LANDMARKS), :2].mean(axis=0)
    np.testing.assert_allclose(bf.to_uv(centre), [0.5, 0.5], atol=1e-9)
    hv = bf.head_vector_xy() * np.array([W, H])  # pixel direction
    np.testing.assert_allclose(hv / np.linalg.norm(hv), head, atol=0.1)
    palm_w = np.linalg.norm((lm[5, :2] - lm[17, :2]) * np.array([W, H]))
    per_palm = calibration.CalibrationConfig().box_per_palm_width
    assert bf.box_width_px == pytest.approx(palm_w * per_palm)


def test_hand_on_tummy_mirrored_camera_uses_true_geometry() -> None:
    # The camera flips the picture: fingers point left in the received frame, so in
    # the true picture (and for the baby) the head is to the right.
    lm = flat_hand((320, 240), -90.0)
    cal = calibration.HandOnTummy(camera_mirrored=True)
    hold(cal, lm, 2.1)
    bf = cal.body_frame
    assert bf is not None and bf.mirrored
    towards_fingers = lm[12, :2]  # in the received frame: to the left of the palm
    assert bf.to_uv(towards_fingers)[1] < 0.5  # still towards the head (v decreases)


def test_hand_on_tummy_needs_stillness_and_a_flat_hand() -> None:
    cal = calibration.HandOnTummy()
    lm = flat_hand((320, 240), 0.0)
    state = hold(cal, lm, 1.0)
    assert not state.done and state.fraction == pytest.approx(0.5, abs=0.05)
    moved = flat_hand((420, 240), 0.0)  # jumps half a hand: the hold starts again
    state = cal.update(observe(moved, 1.1), 1.1)
    assert state.fraction == 0.0
    fist = lm.copy()
    fist[[8, 12, 16, 20]] = lm[[5, 9, 13, 17]]  # fingertips folded onto the knuckles
    state = cal.update(observe(fist, 1.2), 1.2)
    assert state.fraction == 0.0 and "flat" in state.message
    assert cal.update(None, 1.3).fraction == 0.0 and cal.body_frame is None


def test_live_calibration_sets_body_frame_and_starts_coaching(sample) -> None:
    lm_flat = flat_hand((300, 260), 0.0)
    fake = TruthLandmarker(script=lambda frame: observe(lm_flat, frame.timestamp_s))
    coach = live.LiveCoach(sample.stroke, None, landmarker_factory=lambda n: fake, queue_size=1000)
    coach.start_calibration()
    for i in range(70):
        coach.process(blank(), i / 30)
    events = coach.events.drain()
    assert any(e.kind == "calibration" and e.payload.fraction > 0.5 for e in events)
    calibrated = [e.payload for e in events if e.kind == "calibrated"]
    assert len(calibrated) == 1 and not coach.calibrating
    assert coach.body_frame is calibrated[0]
    assert coach.session() is not None  # coaching is on


# -- drag a box, mirroring ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "box, head, mirror, want_box, want_head",
    [
        ((0.1, 0.2, 0.5, 0.6), "up", False, (0.1, 0.2, 0.5, 0.6), "up"),  # plain preview
        ((0.1, 0.2, 0.5, 0.6), "up", True, (0.5, 0.2, 0.9, 0.6), "up"),  # selfie: x flips
        ((0.1, 0.2, 0.5, 0.6), "left", True, (0.5, 0.2, 0.9, 0.6), "right"),  # and left/right
        ((0.1, 0.2, 0.5, 0.6), "down", True, (0.5, 0.2, 0.9, 0.6), "down"),  # up/down stay
    ],
)
def test_display_box_to_received_frame(box, head, mirror, want_box, want_head) -> None:
    got = calibration.box_from_display(box, mirror)
    np.testing.assert_allclose(got, want_box)
    assert calibration.head_from_display(head, mirror) == want_head


def test_mirrored_preview_gives_the_same_verdict_geometry() -> None:
    # The same doll seen in a plain and in a mirrored preview: the user drags the box
    # where they see it; the body frame in received coordinates must be identical.
    from_display = calibration.body_frame_from_display_box
    plain = from_display((0.2, 0.3, 0.5, 0.7), "left", mirror_preview=False)
    mirrored = from_display((0.5, 0.3, 0.8, 0.7), "right", mirror_preview=True)
    p = np.array([[0.25, 0.4], [0.45, 0.65]])
    np.testing.assert_allclose(plain.to_uv(p), mirrored.to_uv(p), atol=1e-12)


def test_bad_head_direction_rejected() -> None:
    with pytest.raises(ValueError, match="head: expected one of"):
        calibration.head_from_display("north", False)  # type: ignore[arg-type]


# -- settings -------------------------------------------------------------------------------------


def test_settings_round_trip(tmp_path) -> None:
    bf = BodyFrame.from_box((0.3, 0.3, 0.7, 0.7), "left", image_size=(W, H))
    s = live_settings.LiveSettings(
        stroke_id="sun",
        mirror_preview=False,
        spoken_hints=True,
        safety_seen=True,
        body_frame=bf.to_dict(),
        box=(0.3, 0.3, 0.7, 0.7),
        head="left",
    )
    live_settings.save_settings(tmp_path, s)
    back = live_settings.load_settings(tmp_path)
    assert back == s
    np.testing.assert_allclose(back.calibration().matrix, bf.matrix)


@pytest.mark.parametrize(
    "content",
    [
        "{ not json",  # corrupt file
        json.dumps({"schema": "something-else/9", "stroke_id": "sun"}),  # another file's schema
        json.dumps(
            {"schema": live_settings.SETTINGS_SCHEMA, "surprise": 1, "stroke_id": "sun"}
        ),  # unknown key
        json.dumps([1, 2, 3]),  # not an object
    ],
)
def test_settings_tolerate_bad_files(tmp_path, content) -> None:
    live_settings.settings_path(tmp_path).write_text(content)
    s = live_settings.load_settings(tmp_path)
    assert isinstance(s, live_settings.LiveSettings)
    assert s.stroke_id in ("i-love-you", "sun")


def test_settings_missing_file_gives_defaults(tmp_path) -> None:
    assert live_settings.load_settings(tmp_path / "nowhere") == live_settings.LiveSettings()


def test_percentile_of_nothing_is_nan() -> None:
    assert math.isnan(live_events.percentile([], 95))
    assert live_events.percentile([1, 2, 3, 4, 5], 50) == 3


# -- with the real hand model ---------------------------------------------------------------------


@pytest.mark.model
@pytest.mark.parametrize("angle_deg", [0.0, 90.0])  # head up; head to the right
def test_hand_on_tummy_with_the_real_landmarker(lite_model_path, angle_deg) -> None:
    """A rendered flat hand held still on the doll's tummy calibrates the body frame."""
    from coach.samples import synth

    s = synth.Sample("i-love-you", repetitions=1)
    img = s.scene.background()
    x0, y0, x1, y1 = s.truth.tummy_box
    centre_px = ((x0 + x1) / 2 * W, (y0 + y1) / 2 * H)
    lm_px = synth.hand_landmarks_px(centre_px, angle_deg, synth.HAND_LENGTH_BOX * s.scene.box_px,
                                    "right", "palm")  # fmt: skip
    synth.draw_hand(img, lm_px, synth.SKIN_TONES["light"])
    coach = live.LiveCoach(s.stroke, None, queue_size=1000)
    try:
        coach.start_calibration()
        for i in range(90):  # 3 s of the same picture
            coach.process(img, i / 30)
    finally:
        coach.close()
    bf = coach.body_frame
    assert bf is not None, [e.payload for e in coach.events.drain() if e.kind == "calibration"][-1:]
    palm_centre = lm_px[list(PALM_LANDMARKS)].mean(axis=0) / np.array([W, H])
    np.testing.assert_allclose(bf.to_uv(palm_centre), [0.5, 0.5], atol=0.15)
    a = math.radians(angle_deg)
    head = bf.head_vector_xy() * np.array([W, H])
    cos = float(np.dot(head / np.linalg.norm(head), [math.sin(a), -math.cos(a)]))
    assert cos > math.cos(math.radians(15))


@pytest.mark.model
@pytest.mark.slow
def test_live_coach_scores_the_sample_with_the_real_landmarker(lite_model_path, sample) -> None:
    """The live page's own landmarker (the lite model; MediaPipe finds the hand, the
    network alone follows it) tracks and scores the sample."""
    made = []

    def factory(num_hands):
        made.append(live.default_landmarker_factory(num_hands))
        return made[-1]

    coach = live.LiveCoach(
        sample.stroke, sample.truth.body_frame(), landmarker_factory=factory, queue_size=1000
    )
    try:
        for img, t in sample.frames():
            coach.process(img, t)
    finally:
        coach.close()
    assert [lm.variant for lm in made] == ["lite"]
    assert made[0].frames_followed > 0.9 * sample.n_frames
    summary = coach.finish()
    assert len(summary.repetitions) == 2
    assert all(r.direction == "ok" and r.pace == "ok" for r in summary.repetitions)
    assert coach.stats().frames_processed == sample.n_frames


@pytest.mark.model
def test_live_falls_back_to_the_full_model(model_path, tmp_path, monkeypatch, caplog) -> None:
    """A clone set up before the lite model existed: the live page still runs, on the full
    model, and the log says how to get the lite one."""
    from coach.vision import models

    (tmp_path / models.MODEL_FILENAME).symlink_to(model_path)
    monkeypatch.setattr(models, "default_models_dir", lambda: tmp_path)
    with caplog.at_level("WARNING", logger="coach.services.live"):
        lm = live.default_landmarker_factory(1)
    try:
        assert (lm.variant, lm.model_path) == ("full", tmp_path / models.MODEL_FILENAME)
    finally:
        lm.close()
    assert "hand_landmarker_lite.task; run `make setup`" in caplog.text
