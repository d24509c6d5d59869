"""Where the files live (coach/storage/paths.py): the one place that reads the environment for it,
and every caller that used to have its own rule goes through it."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach.bench import clips
from coach.references import library
from coach.samples import synth
from coach.storage import paths
from coach.vision import models

HOME = Path.home()
REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, paths.DEFAULT_DATA_DIR),  # nothing set: the platform's user data folder
        ({"COACH_DATA_DIR": "/srv/coach"}, Path("/srv/coach")),  # explicit
        ({"COACH_DATA_DIR": "~/c"}, HOME / "c"),  # ~ is expanded
        ({"XDG_DATA_HOME": "/x"}, Path("/x/stroke-coach")),  # XDG on any platform
        ({"XDG_DATA_HOME": "~/x"}, HOME / "x" / "stroke-coach"),  # ~ here too
        ({"COACH_DATA_DIR": "/a", "XDG_DATA_HOME": "/x"}, Path("/a")),  # ours wins
        ({"COACH_DATA_DIR": ""}, paths.DEFAULT_DATA_DIR),  # empty is unset
    ],
)
def test_data_dir(environ, expected) -> None:
    assert paths.data_dir(environ) == expected
    assert paths.references_dir(environ) == expected / "references"


def test_the_references_folder_is_the_one_of_paths() -> None:
    env = {"COACH_DATA_DIR": "~/d"}
    assert library.default_references_dir(env) == HOME / "d" / "references"


@pytest.mark.parametrize(
    ("environ", "url", "required", "relay", "redis"),
    [
        ({}, None, False, "", None),
        ({"COACH_DATABASE_URL": ""}, None, False, "", None),  # empty is unset
        (
            {
                "COACH_DATABASE_URL": "postgresql+psycopg://u@h/db",
                "COACH_ACCOUNTS": " Required ",
                "COACH_RELAY_URL": "wss://relay.example.org/class",
                "COACH_RELAY_REDIS_URL": "redis://r:6379/0",
            },
            "postgresql+psycopg://u@h/db",
            True,
            "wss://relay.example.org/class",
            "redis://r:6379/0",
        ),
    ],
)
def test_settings_from_the_environment(environ, url, required, relay, redis) -> None:
    assert paths.database_url_override(environ) == url
    assert paths.accounts_required(environ) is required
    assert paths.relay_url(environ) == relay
    assert paths.relay_redis_url(environ) == redis


def test_a_checkout_keeps_its_models_and_samples() -> None:
    assert paths.checkout_root() == REPO
    assert paths.models_dir({}) == REPO / "models"  # the Makefile's model targets
    assert paths.samples_dir({}) == REPO / "samples"
    assert models.default_models_dir() == paths.models_dir()
    assert synth.default_cache_dir() == paths.samples_dir()
    assert clips.default_out_dir() == paths.samples_dir() / "bench"


@pytest.mark.parametrize(
    ("environ", "models_dir", "samples_dir"),
    [
        ({"COACH_MODELS_DIR": "/m"}, Path("/m"), REPO / "samples"),  # models moved
        ({"COACH_SAMPLES_DIR": "~/s"}, REPO / "models", HOME / "s"),  # samples moved
    ],
)
def test_overrides(environ, models_dir, samples_dir) -> None:
    assert paths.models_dir(environ) == models_dir
    assert paths.samples_dir(environ) == samples_dir


def test_an_installed_copy_uses_the_user_folders(monkeypatch) -> None:
    monkeypatch.setattr(paths, "checkout_root", lambda: None)  # as from site-packages
    env = {"COACH_DATA_DIR": "/d", "XDG_CACHE_HOME": "/c"}
    assert paths.models_dir(env) == Path("/d/models")
    assert paths.samples_dir(env) == Path("/c/stroke-coach/samples")
    assert paths.samples_dir({}) == paths.DEFAULT_CACHE_DIR / "samples"


def test_no_other_module_reads_the_data_variables() -> None:
    """COACH_DATA_DIR and XDG_DATA_HOME are read in coach/storage/paths.py only."""
    readers = sorted(
        str(p.relative_to(REPO))
        for p in [REPO / "app.py", *(REPO / "coach").rglob("*.py")]
        if p.name != "paths.py"
        and any(v in p.read_text(encoding="utf-8") for v in ('"COACH_DATA_DIR"', '"XDG_DATA_HOME"'))
    )
    assert readers == []
