"""Shared pytest fixtures: where the repository, the shared test media and the model live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_HANDS_DIR = REPO_ROOT.parent / "shared" / "data" / "real-hands"
MODEL_PATH = REPO_ROOT / "models" / "hand_landmarker.task"
LITE_MODEL_PATH = REPO_ROOT / "models" / "hand_landmarker_lite.task"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (the folder holding ``coach/`` and ``tests/``)."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_hands_dir() -> Path:
    """``<repo>/../shared/data/real-hands``; skips the test when that folder is absent."""
    if not SHARED_HANDS_DIR.is_dir():
        pytest.skip(f"shared real-hand media not found at {SHARED_HANDS_DIR}")
    return SHARED_HANDS_DIR


@pytest.fixture(scope="session")
def model_path() -> Path:
    """``models/hand_landmarker.task``; skips the test when the model is absent."""
    if not MODEL_PATH.is_file():
        pytest.skip(
            f"hand model not found at {MODEL_PATH}; run `make setup` or `coach models fetch`"
        )
    return MODEL_PATH


@pytest.fixture(scope="session")
def lite_model_path() -> Path:
    """``models/hand_landmarker_lite.task`` (the live page's); skips when it is absent."""
    if not LITE_MODEL_PATH.is_file():
        pytest.skip(
            f"lite hand model not found at {LITE_MODEL_PATH}; run `make setup` or "
            "`coach models fetch`"
        )
    return LITE_MODEL_PATH


_NEEDS = ("model", "shared", "browser")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On CI (``CI=true``) the model, the shared media and a browser are all provided, so a
    test that needs them must run: a skip there means a missing install step, and fails."""
    outcome = yield
    report = outcome.get_result()
    if (
        report.skipped
        and not hasattr(report, "wasxfail")  # an expected failure is not a missing install
        and os.environ.get("CI") == "true"
        and any(item.get_closest_marker(m) for m in _NEEDS)
    ):
        report.outcome = "failed"
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped on CI, where all it needs must be installed: {reason}"
