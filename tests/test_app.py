"""Page logic with Streamlit's AppTest (no browser, no WebRTC), and the pure UI helpers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from coach.core.bodyframe import BodyFrame
from coach.core.strokes import load_stroke
from coach.core.types import Hint, RepetitionScore
from coach.render import charts as ui_charts
from coach.render import text as ui_text
from coach.render.draw import SKY_BLUE, VERMILLION
from coach.services import events as live_events
from coach.services import offline as ui_offline
from coach.storage import settings as live_settings

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture()
def data_dir(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "data"
    monkeypatch.setenv("COACH_DATA_DIR", str(d))
    return d


def page(**state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["coach_no_webrtc"] = True  # webrtc_streamer cannot run under AppTest
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def returning(data_dir: Path, **changes) -> None:
    live_settings.save_settings(data_dir, live_settings.LiveSettings(safety_seen=True, **changes))


def texts(at: AppTest) -> str:
    parts = (
        [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    )
    parts += (
        [s.value for s in at.subheader]
        + [s.value for s in at.success]
        + [w.value for w in at.warning]
    )
    return "\n".join(parts)


def rep(index=0, score=87, flags=(), direction="ok", pace="ok") -> RepetitionScore:
    return RepetitionScore(index, 1.0, 13.0, 12.0, 11.2, score, direction, pace, 0.93, 0.95, flags,
                           mean_distance_box=0.05)  # fmt: skip


# -- first visit, settings ------------------------------------------------------------------------


def test_first_visit_shows_safety_notes_before_anything_else(data_dir) -> None:
    at = page()
    assert not at.exception
    body = texts(at)
    assert "umbilical cord" in body and "vaccinations" in body
    assert [b.label for b in at.button] == ["I've read this, let's start"]
    assert not at.tabs  # no coaching before the notes
    at.button[0].click().run()
    assert [t.label for t in at.tabs][:1] == ["Live coach"]
    assert live_settings.load_settings(data_dir).safety_seen  # remembered for the next visit


def test_returning_visitor_goes_straight_to_the_coach(data_dir) -> None:
    returning(data_dir)
    at = page()
    assert not at.exception
    assert "I've read this, let's start" not in [b.label for b in at.button]
    assert "Live coach" in [t.label for t in at.tabs]
    assert "Live video is not available here." in texts(at)
    assert "No webcam" in texts(at)  # the way to the sample clip is offered


def test_corrupt_settings_file_still_loads(data_dir) -> None:
    data_dir.mkdir(parents=True)
    live_settings.settings_path(data_dir).write_text("{ broken")
    at = page()
    assert not at.exception and "umbilical cord" in texts(at)


def test_stroke_picker_is_remembered_and_reaches_the_coach(data_dir) -> None:
    returning(data_dir)
    at = page()
    at.selectbox[0].select("sun").run()
    assert not at.exception
    assert live_settings.load_settings(data_dir).stroke_id == "sun"
    assert at.session_state["live_camera"].stroke.id == "sun"
    assert "Sun" in texts(at)


def test_mirror_and_speech_toggles_saved(data_dir) -> None:
    returning(data_dir)
    at = page()
    assert at.session_state["live_camera"].mirror_preview is True  # selfie view by default
    labels = [t.label for t in at.toggle]
    at.toggle[labels.index("Mirror the preview (like a selfie)")].set_value(False).run()
    at.toggle[labels.index("Speak hints aloud")].set_value(True).run()
    saved = live_settings.load_settings(data_dir)
    assert saved.mirror_preview is False and saved.spoken_hints is True
    assert at.session_state["live_camera"].mirror_preview is False


# -- live view ------------------------------------------------------------------------------------


def test_hint_and_score_cards_rendered_from_the_live_view(data_dir) -> None:
    returning(data_dir)
    view = live_events.LiveView(
        hint=Hint(4.2, "too_fast", "Slow down: follow the guide dot."),
        hint_serial=1,
        repetitions=(rep(0, 62, ("too_fast",), pace="too_fast"), rep(1, 91)),
    )
    at = page(view_camera=view)
    assert not at.exception
    body = texts(at)
    assert 'data-coach-hint="too_fast"' in body and "Slow down: follow the guide dot." in body
    assert "Repetition 2 · 91 / 100" in body and "Repetition 1 · 62 / 100" in body
    assert "quicker than the calm pace" in body  # the flag in plain words


def test_a_failed_live_frame_is_said_on_the_page(data_dir) -> None:
    # The coach failed on the video (LiveCoach sent an "error" event): a warning, not a
    # silent frozen page; the error text is shown as text.
    returning(data_dir)
    view = live_events.LiveView(error="The coach could not process the video **now**.")
    at = page(view_camera=view)
    assert not at.exception
    warnings = [w.value for w in at.warning]
    want = "The coach could not process the video \\*\\*now\\*\\*\\."  # Markdown escaped
    assert any(w.startswith(want) for w in warnings), warnings


def test_idle_hint_is_calm_and_has_no_code(data_dir) -> None:
    returning(data_dir)
    at = page()
    assert 'data-coach-hint=""' in texts(at)


def test_summary_shown_when_the_video_stops(data_dir) -> None:
    returning(data_dir)
    at = page()
    at.session_state["playing_camera"] = True  # it was playing; now the stream is gone
    at.run()
    assert not at.exception
    body = texts(at)
    assert "Session summary" in body and "No hand was seen" in body
    assert at.session_state["playing_camera"] is False


def test_drag_a_box_calibrates_and_is_remembered(data_dir) -> None:
    returning(data_dir, mirror_preview=True)
    at = page()
    at.slider(key="box_x").set_value((0.2, 0.5))
    at.slider(key="box_y").set_value((0.3, 0.7))
    at.radio(key="box_head").set_value("left")
    at.run()
    next(b for b in at.button if b.label == "Use this box").click().run()
    assert not at.exception
    saved = live_settings.load_settings(data_dir)
    assert saved.box == (0.2, 0.3, 0.5, 0.7) and saved.head == "left"
    # The preview is mirrored: the box and the head go back to the received frame.
    want = BodyFrame.from_box((0.5, 0.3, 0.8, 0.7), "right", image_size=(640, 480))
    np.testing.assert_allclose(saved.calibration().matrix, want.matrix)
    np.testing.assert_allclose(at.session_state["live_camera"].body_frame.origin_xy, want.origin_xy)


def test_hand_on_tummy_button_starts_calibration(data_dir) -> None:
    returning(data_dir)
    at = page()
    next(b for b in at.button if b.label == "Calibrate with my hand").click().run()
    assert at.session_state["live_camera"].calibrating


def test_two_sessions_get_their_own_coach(data_dir) -> None:
    returning(data_dir)
    a, b = page(), page()
    assert a.session_state["live_camera"] is not b.session_state["live_camera"]


# -- upload mode ----------------------------------------------------------------------------------


@pytest.mark.model
@pytest.mark.slow
def test_score_the_sample_clip_in_the_page(data_dir, model_path) -> None:
    returning(data_dir)
    at = page()
    next(b for b in at.button if b.label == "Score the sample clip").click().run(timeout=600)
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert labels[:3] == ["Overall score", "Repetitions", "Hand seen"]
    assert int(at.metric[1].value) >= 1
    assert "Repetition 1 ·" in texts(at)


# -- pure helpers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flags, score, want_change",
    [
        ((), 95, 0),  # a clean repetition: nothing to change
        (("too_fast",), 70, 1),  # one flag, explained
        (("wrong_direction", "incomplete"), 20, 2),  # two flags, two sentences
    ],
)
def test_score_card(flags, score, want_change) -> None:
    card = ui_text.score_card(rep(2, score, flags))
    assert card.title == f"Repetition 3 · {score} / 100"
    assert len(card.change) == want_change
    assert all(c.startswith("This repetition ") for c in card.change)
    assert "Right direction." in card.good


@pytest.mark.parametrize(
    "flags, coverage_praised",
    [
        ((), True),  # 95% covered, nothing flagged: coverage is praised
        (("incomplete",), False),  # 95% overall but one letter stopped short: no praise
    ],
)
def test_score_card_does_not_praise_coverage_it_also_faults(flags, coverage_praised) -> None:
    card = ui_text.score_card(rep(0, 70, flags))
    assert ("Covered 95% of the path." in card.good) is coverage_praised
    assert any("stopped short" in c for c in card.change) is not coverage_praised
    assert not any("hip" in c for c in card.change)  # no I Love You words on other strokes


def test_card_markdown_is_one_text_with_every_line() -> None:
    card = ui_text.Card("Repetition 1 · 60 / 100", "Good start.", ("Right direction.",),
                        ("This repetition was quicker than the calm pace.",))  # fmt: skip
    assert ui_text.card_markdown(card) == (
        "**Repetition 1 · 60 / 100**  \nGood start.\n\n:green[✓] Right direction.\n\n"
        ":orange[→] This repetition was quicker than the calm pace."
    )


def test_live_cards_keep_a_fixed_layout(data_dir) -> None:
    """Streamlit keeps surplus elements of a longer earlier render on screen while the
    live run goes on: every redraw of the cards has the same number of elements."""
    returning(data_dir)
    counts = []
    flagged = rep(0, 62, ("too_fast", "jerky"), pace="too_fast")
    for reps in ((), (flagged,), (rep(0, 91), rep(1, 90))):  # none, one with flags, two
        at = page(view_camera=live_events.LiveView(repetitions=reps))
        assert not at.exception
        counts.append(len(at.markdown) + len(at.caption) + len(at.get("empty")))
    assert len(set(counts)) == 1, counts


def test_every_flag_has_plain_words() -> None:
    from coach.core.types import FLAG_CODES

    assert set(FLAG_CODES) <= set(ui_text.FLAG_TEXT) and set(FLAG_CODES) <= set(ui_text.FLAG_LABEL)


def test_summary_lines_count_flags() -> None:
    from coach.core.pipeline import SessionResult

    reps = (rep(0, 60, ("too_fast",)), rep(1, 65, ("too_fast",)))
    s = SessionResult("i-love-you", reps, (), (), 100, 90, 62, {"too_fast": 2, "too_slow": 0})
    lines = ui_text.summary_lines(s)
    assert lines[0] == "2 repetitions, overall 62 / 100."
    assert "Too fast: 2 times." in lines


def test_stats_line() -> None:
    stats = live_events.LiveStats(900, 880, 3, 29.7, 17.6, 23.2, 18.0)
    assert ui_text.stats_line(stats) == (
        "frames processed: 880 · 29.7 frames/s · 18 ms per frame (p95 23 ms) · dropped 3"
    )


def test_path_image_shows_reference_and_user_path() -> None:
    stroke = load_stroke("i-love-you")
    uv = np.array(
        [[0.8, 0.1 + 0.05 * i] for i in range(15)] + [[np.nan, np.nan]] + [[0.3, 0.3], [0.3, 0.6]]
    )
    img = ui_charts.path_image(stroke, uv, size_px=400)
    assert img.shape == (400, 400, 3)
    for colour in (SKY_BLUE, VERMILLION):
        assert (np.abs(img.astype(int) - colour).max(axis=2) <= 30).sum() > 50
    lifted = np.r_[np.ones(15, bool), False, False, False]  # the last stretch: between letters
    img2 = ui_charts.path_image(stroke, uv, lifted, size_px=400)
    grey = np.array(ui_charts.LIFTED_PATH)
    assert (np.abs(img2.astype(int) - grey).max(axis=2) <= 20).sum() > (
        np.abs(img.astype(int) - grey).max(axis=2) <= 20
    ).sum()


def test_speed_frame_and_band() -> None:
    stroke = load_stroke("i-love-you")
    t = np.arange(60) / 30
    s = np.where(t < 1.0, 1.0, np.nan)
    df = ui_charts.speed_frame(t, s, window_s=0.2)
    assert df["speed"].iloc[:30].eq(1.0).all() and df["speed"].iloc[30:].isna().all()
    lo, hi = ui_charts.pace_band(stroke)
    assert lo == pytest.approx(1 / 1.8) and hi == pytest.approx(1 / 0.6)
    assert ui_charts.speed_chart(df, stroke).to_dict()  # a valid Altair spec


def test_timeline_frames_from_a_report() -> None:
    report = {
        "repetitions": [
            {"index": 0, "start_s": 0.3, "end_s": 13.1, "score": 87, "flags": ["too_fast"]}
        ],
        "hints": [{"t_s": 4.2, "code": "too_fast", "text": "Slow down: follow the guide dot."}],
    }
    reps, hints = ui_charts.timeline_frames(report)
    assert reps.iloc[0]["flags"] == "too fast" and reps.iloc[0]["repetition"] == "#1"
    assert hints.iloc[0]["t_s"] == 4.2
    assert ui_charts.timeline_chart(report).to_dict()


def test_score_file_with_traces(tmp_path) -> None:
    """Upload scoring on a short rendered sample, landmarks from the sample's truth."""
    from coach.samples.synth import Sample
    from tests.test_live import TruthLandmarker

    path, truth = ui_offline.sample_video(tmp_path, repetitions=1)
    assert ui_offline.sample_video(tmp_path, repetitions=1)[0] == path  # cached
    sample = Sample("i-love-you", repetitions=1)
    seen = []
    res = ui_offline.score_file(
        path,
        sample.stroke,
        lambda size: truth.body_frame(),
        on_progress=seen.append,
        landmarker=TruthLandmarker(sample),
    )
    assert seen[-1] == 1.0
    assert res.report["schema"] == "coach.report/1"
    assert res.report["summary"]["repetitions"] == 1
    assert res.traces.uv.shape == (truth.frames, 2) and len(res.traces.status) == truth.frames
    assert np.isfinite(res.traces.speed_ratio).sum() > 100
    json.dumps(res.report)  # JSON-ready


def test_saved_reference_can_be_picked_as_the_stroke(data_dir) -> None:
    # An instructor's reference (here: the built-in I Love You at a slower pace) is offered
    # in the stroke list and becomes the stroke practised against.
    from dataclasses import replace

    from coach.core.strokes import load_stroke
    from coach.references.format import Reference
    from coach.references.library import save_reference

    base = load_stroke("i-love-you")
    slow = replace(
        base,
        id="anna-s-slow-i-love-you",
        name="Anna's slow I Love You",
        segments=tuple(replace(s, nominal_s=s.nominal_s * 1.5) for s in base.segments),
    )
    save_reference(Reference(slow, "i-love-you", "2026-11-23T07:00:00Z"), data_dir / "references")
    returning(data_dir)
    at = page()
    assert "Anna's slow I Love You" in at.selectbox[0].options
    at.selectbox[0].select("anna-s-slow-i-love-you").run()
    assert live_settings.load_settings(data_dir).stroke_id == "anna-s-slow-i-love-you"


def test_a_bad_reference_file_is_skipped_with_a_warning(data_dir) -> None:
    # issue 12: a 400-digit number in a saved reference once broke every page load
    refs = data_dir / "references"
    refs.mkdir(parents=True)
    (refs / "big.json").write_text('{"schema": "coach.reference/1", "x": ' + "9" * 400 + "}")
    (refs / "deep.json").write_text("[" * 200_000)
    returning(data_dir)
    at = page()
    assert not at.exception
    warnings = "\n".join(w.value for w in at.warning).replace("\\", "")  # Markdown escapes
    assert "big.json" in warnings and "deep.json" in warnings
    assert "Live coach" in [t.label for t in at.tabs]


def test_a_stroke_description_is_shown_as_text(data_dir) -> None:
    # issue 12: descriptions were Markdown, so an image link made the browser fetch it
    from dataclasses import replace

    from coach.references.format import Reference
    from coach.references.library import save_reference

    base = load_stroke("sun")
    ref = replace(base, id="anna-s-sun", name="Anna's sun",
                  description="![x](http://example.invalid/x.png) **bold**")  # fmt: skip
    save_reference(Reference(ref, "sun", "2026-11-23T07:00:00Z"), data_dir / "references")
    returning(data_dir, stroke_id="anna-s-sun")
    at = page()
    assert not at.exception
    shown = [c.value for c in at.sidebar.caption]
    assert r"\!\[x\]\(http\:\/\/example\.invalid\/x\.png\) \*\*bold\*\*" in shown


# -- the frame handed to the VP8 encoder -----------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "fmt"),
    [
        ((480, 640, 3), "yuv420p"),  # a webcam frame: converted here, not by aiortc
        ((481, 640, 3), "rgb24"),  # odd height: no 4:2:0 layout, left to aiortc
        ((480, 641, 3), "rgb24"),  # odd width
    ],
)
def test_encoder_frame_format(shape, fmt) -> None:
    from coach.ui.live import encoder_frame

    frame = encoder_frame(np.zeros(shape, np.uint8))
    assert frame.format.name == fmt
    assert (frame.height, frame.width) == shape[:2]


def test_encoder_frame_keeps_the_colours() -> None:
    """Blocks of the overlay's colours survive RGB -> YUV 4:2:0 -> RGB within 4 levels."""
    from coach.ui.live import encoder_frame

    image = np.zeros((480, 640, 3), np.uint8)
    colours = [SKY_BLUE, VERMILLION, (255, 255, 255), (0, 0, 0), (200, 150, 120)]
    for i, colour in enumerate(colours):
        image[:, i * 128 : (i + 1) * 128] = colour
    back = encoder_frame(image).to_ndarray(format="rgb24")
    inner = np.s_[8:-8]  # away from the block edges, where 4:2:0 chroma is shared
    for i, colour in enumerate(colours):
        block = back[inner, i * 128 + 8 : (i + 1) * 128 - 8].reshape(-1, 3).astype(int)
        assert np.abs(block - np.array(colour)).max() <= 4, (colour, block[0])
