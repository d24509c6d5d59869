"""The Progress page (pages/2_Progress.py, coach/ui/progress.py) against a temporary store.

The page runs under Streamlit's AppTest (no browser); the data shaping, the charts and
the session recorder the main page uses are tested directly.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from coach.core.pipeline import SessionResult
from coach.core.types import FLAG_CODES, Hint, RepetitionScore
from coach.render.text import FLAG_LABEL
from coach.services import recorder
from coach.storage import paths
from coach.storage.store import ProgressPoint, Store, database_url, default_database_url
from coach.ui import progress as ui_progress

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "2_Progress.py")
T0 = datetime(2025, 5, 1, 10, 0, tzinfo=UTC)


def rep(index, score, speed_ratio=1.0, flags=(), pace="ok", direction="ok") -> RepetitionScore:
    start = 1.0 + 15.0 * index
    return RepetitionScore(index, start, start + 12.0, 12.0, 11.2, score, direction, pace,
                           speed_ratio, 0.95, tuple(flags))  # fmt: skip


def result(stroke_id: str, reps, hints=()) -> SessionResult:
    flags = {code: 0 for code in FLAG_CODES}
    for r in reps:
        for f in r.flags:
            flags[f] += 1
    score = round(sum(r.score for r in reps) / len(reps)) if reps else 0
    return SessionResult(stroke_id, tuple(reps), tuple(hints), (), 600, 590, score, flags)


SESSIONS = [
    # (stroke, when, repetitions): two of the I Love You, one of the Sun
    ("i-love-you", T0, [rep(0, 60, 1.7, ("too_fast",), "too_fast"), rep(1, 70, 1.4)]),
    ("sun", T0 + timedelta(days=1), [rep(0, 95, 1.0)]),
    ("i-love-you", T0 + timedelta(days=2),
     [rep(0, 88, 1.05), rep(1, 80, 0.9, ("off_path",)), rep(2, 40, 1.0, ("wrong_direction",),
                                                          direction="wrong")]),
]  # fmt: skip


@pytest.fixture()
def data_dir(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "data"
    monkeypatch.setenv("COACH_DATA_DIR", str(d))
    monkeypatch.delenv("COACH_DATABASE_URL", raising=False)
    return d


@pytest.fixture()
def filled(data_dir) -> Path:
    with Store.open(default_database_url(data_dir)) as store:
        for stroke_id, when, reps in SESSIONS:
            store.save_session("Anna", result(stroke_id, reps), "upload", stroke_id,
                               started_at=when, ended_at=when + timedelta(minutes=2))  # fmt: skip
        store.profile("Ben")  # a profile without sessions
    return data_dir


def run_page(**state) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def charts(at: AppTest) -> list:
    return at.get("vega_lite_chart") + at.get("arrow_vega_lite_chart")


# -- the page -------------------------------------------------------------------------------------


def test_an_empty_store_shows_a_friendly_message(data_dir) -> None:
    at = run_page()
    assert not at.exception
    assert [i.value for i in at.info] == [ui_progress.NO_SESSIONS]
    assert charts(at) == [] and len(at.dataframe) == 0
    assert (data_dir / "coach.db").is_file()  # made on first use


def test_the_profiles_sessions_charts_and_table_are_shown(filled) -> None:
    at = run_page()
    assert not at.exception
    profile, stroke = at.selectbox(key="progress_profile"), at.selectbox(key="progress_stroke")
    assert profile.options == ["Anna", "Ben"] and profile.value == "Anna"
    assert stroke.value == "i-love-you"  # practised last
    assert stroke.options == ["I Love You", "Sun"]  # shown by name, most recent first
    assert len(charts(at)) == 3  # score, pace, flags
    assert [m.value for m in at.metric] == ["2", "5", "69 / 100"]
    table = at.dataframe[0].value
    assert list(table["Score"]) == [69, 65]  # newest first
    assert list(table["Repetitions"]) == [3, 2]
    assert set(table["Stroke"]) == {"I Love You"} and set(table["Status"]) == {"finished"}
    assert at.button(key="export_make") is not None


def test_switching_stroke_shows_that_strokes_sessions(filled) -> None:
    at = run_page()
    at.selectbox(key="progress_stroke").set_value("sun").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["Stroke"]) == ["Sun"] and list(table["Score"]) == [95]
    assert len(charts(at)) == 2  # no flags: a kind word instead of an empty chart
    assert any("No flags" in s.value for s in at.success)


def test_a_profile_without_sessions_says_so(filled) -> None:
    at = run_page()
    at.selectbox(key="progress_profile").set_value("Ben").run()
    assert not at.exception
    assert any(i.value.startswith("No sessions yet for Ben.") for i in at.info)
    assert charts(at) == []


def test_the_report_is_made_on_request_and_offered_for_download(filled) -> None:
    at = run_page()
    assert at.get("download_button") == []  # nothing drawn until asked
    at.button(key="export_make").click().run()
    assert not at.exception
    buttons = at.get("download_button")
    assert len(buttons) == 1 and "HTML" in buttons[0].label


# -- data shaping and charts ----------------------------------------------------------------------


def point(session_id, day, score, ratio, reps, flags) -> ProgressPoint:
    counts = {code: 0 for code in FLAG_CODES} | flags
    return ProgressPoint(session_id, T0 + timedelta(days=day), "sun", "live", "closed", reps,
                         score, ratio, {"ok": reps}, counts)  # fmt: skip


POINTS = [
    point(1, 0, 60.0, 1.7, 2, {"too_fast": 2}),
    point(2, 1, 90.0, math.nan, 4, {"too_fast": 1, "jerky": 1}),
]


def test_progress_frame_has_one_row_per_session_with_unknowns_as_none() -> None:
    df = ui_progress.progress_frame(POINTS)
    assert list(df["session"]) == [1, 2]
    assert list(df["mean_score"]) == [60.0, 90.0]
    assert df["mean_speed_ratio"].iloc[0] == 1.7 and math.isnan(df["mean_speed_ratio"].iloc[1])
    assert list(df["source"]) == ["live", "live"]


def test_flag_frame_counts_only_flags_that_came_up() -> None:
    fdf = ui_progress.flag_frame(POINTS)
    assert sorted(set(fdf["code"])) == ["jerky", "too_fast"]
    got = {(r.session, r.code): (r["count"], r.share) for _, r in fdf.iterrows()}
    assert got[(1, "too_fast")] == (2, 1.0)  # both repetitions
    assert got[(2, "too_fast")] == (1, 0.25)
    assert got[(1, "jerky")] == (0, 0.0)
    assert set(fdf["flag"]) == {FLAG_LABEL["jerky"], FLAG_LABEL["too_fast"]}
    assert ui_progress.flag_frame([]).empty


def test_the_charts_are_valid_vega_lite() -> None:
    df = ui_progress.progress_frame(POINTS)
    for chart in (
        ui_progress.score_chart(df),
        ui_progress.pace_chart(df, (0.56, 1.67)),
        ui_progress.flags_chart(ui_progress.flag_frame(POINTS)),
    ):
        spec = chart.to_dict()  # validates against the Vega-Lite schema
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"COACH_DATA_DIR": "/d"}, Path("/d")),  # explicit
        ({"XDG_DATA_HOME": "/x"}, Path("/x/stroke-coach")),  # XDG
        ({"COACH_DATA_DIR": "/d", "XDG_DATA_HOME": "/x"}, Path("/d")),  # explicit wins
        ({}, ui_progress.DEFAULT_DATA_DIR),  # nothing set
    ],
)
def test_where_the_data_lives(env, expected) -> None:
    assert paths.data_dir(env) == expected
    assert database_url(env) == default_database_url(expected)
    url = "postgresql+psycopg://u@h/db"
    assert database_url({**env, "COACH_DATABASE_URL": url}) == url


# -- saving live sessions -------------------------------------------------------------------------


@pytest.fixture()
def store(tmp_path):
    with Store.open(tmp_path / "coach.db") as s:
        yield s


def test_a_live_session_is_written_as_it_goes_and_closed_with_its_summary(store) -> None:
    rec = recorder.SessionRecorder(store, "Anna", "sun", "sun", started_at=T0)
    assert rec.add([]) == 0 and rec.session_id is None  # nothing scored, nothing stored
    assert rec.add([rep(0, 90)]) == 1
    sid = rec.session_id
    assert store.session(sid).status == "open" and store.session(sid).repetition_count == 1
    assert rec.add([rep(0, 90), rep(1, 80)]) == 1  # the first is not written twice
    final = result("sun", [rep(0, 90), rep(1, 80), rep(2, 70, flags=("jerky",))],
                   hints=(Hint(5.0, "too_fast", "Slow down."),))  # fmt: skip
    assert rec.finish(final) == sid
    row = store.session(sid)
    assert row.status == "closed" and row.repetition_count == 3 and row.started_at == T0
    assert row.summary["score"] == 80 and row.summary["flags"]["jerky"] == 1
    assert [h.text for h in store.hints(sid)] == ["Slow down."]
    assert store.session_report(sid)["tracking"]["frames_with_hand"] == 590
    assert rec.finish(final) == sid and rec.add([rep(3, 50)]) == 0  # finished: no more writes


def test_a_session_with_nothing_scored_leaves_no_trace(store) -> None:
    rec = recorder.SessionRecorder(store, "Anna", "sun", "sun")
    assert rec.finish(result("sun", [])) is None
    assert store.sessions() == []


def test_a_store_error_is_kept_not_raised(store) -> None:
    rec = recorder.SessionRecorder(store, "<bad name>", "sun", "sun")
    assert rec.add([rep(0, 90)]) == 0
    assert rec.error is not None and "profile name" in rec.error
    assert rec.finish(result("sun", [rep(0, 90)])) is None
    assert store.sessions() == []


def test_an_upload_is_saved_in_one_go(store) -> None:
    sid, error = recorder.save_upload(store, "Anna", result("sun", [rep(0, 90)]), "sun")
    assert error is None and store.session(sid).source == "upload"
    assert recorder.save_upload(store, "", result("sun", []), "sun")[0] is None


# -- the profile chooser the main page uses -------------------------------------------------------


def picker_script():
    import streamlit as st

    from coach.ui import progress as ui_progress

    name = ui_progress.profile_picker(ui_progress.store())
    st.markdown(f"profile={name}")


def picked(at: AppTest) -> str:
    return [m.value for m in at.markdown if m.value.startswith("profile=")][0]


def test_the_first_profile_is_offered_so_sessions_are_kept_from_the_start(data_dir) -> None:
    at = AppTest.from_function(picker_script, default_timeout=60).run()
    assert not at.exception
    assert at.selectbox[0].options == [ui_progress.NEW_PROFILE]
    assert picked(at) == f"profile={ui_progress.DEFAULT_PROFILE}"


def test_a_saved_profile_is_chosen_or_a_new_valid_one_typed(filled) -> None:
    at = AppTest.from_function(picker_script, default_timeout=60).run()
    assert at.selectbox[0].options == ["Anna", "Ben", ui_progress.NEW_PROFILE]
    assert picked(at) == "profile=Anna"
    at.selectbox[0].set_value(ui_progress.NEW_PROFILE).run()
    at.text_input[0].set_value("<Sam>").run()
    assert picked(at) == "profile=None" and "profile name" in at.warning[0].value
    at.text_input[0].set_value("Sam").run()
    assert picked(at) == "profile=Sam" and at.session_state["profile"] == "Sam"
