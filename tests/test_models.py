"""Tests for coach.vision.models: bundle validation, assembling from a wheel, fallbacks.
No network."""

from __future__ import annotations

import hashlib
import subprocess
import urllib.error
import zipfile
from pathlib import Path

import pytest

from coach.vision import models
from coach.vision.models import (
    LITE_MODEL_FILENAME,
    MODEL_FILENAME,
    ModelError,
    WheelFile,
    bundle_from_wheel,
    bundle_problem,
    fetch_lite_model,
    fetch_model,
    fetch_models,
    find_model,
)

DETECTOR = b"\x1c\x00\x00\x00TFL3" + b"detector" * 10  # fake TFLite: magic at bytes 4..8
LANDMARKS = b"\x1c\x00\x00\x00TFL3" + b"landmarks" * 10
LITE_LANDMARKS = b"\x1c\x00\x00\x00TFL3" + b"lite" * 10


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _good_members() -> dict[str, bytes]:
    return {"hand_detector.tflite": DETECTOR, "hand_landmarks_detector.tflite": LANDMARKS}


def _fake_wheel(path: Path) -> Path:
    return _zip(
        path,
        {
            "mediapipe/modules/palm_detection/palm_detection_full.tflite": DETECTOR,
            "mediapipe/modules/hand_landmark/hand_landmark_full.tflite": LANDMARKS,
            "mediapipe/modules/hand_landmark/hand_landmark_lite.tflite": LITE_LANDMARKS,
            "mediapipe/__init__.py": b"",
        },
    )


@pytest.fixture
def fake_wheel_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the expected wheel digests those of the fake TFLite files."""

    def faked(files: tuple[WheelFile, ...], contents: tuple[bytes, ...]) -> tuple[WheelFile, ...]:
        return tuple(
            WheelFile(f.wheel_path, f.bundle_member, hashlib.sha256(data).hexdigest(), len(data))
            for f, data in zip(files, contents, strict=True)
        )

    monkeypatch.setattr(models, "WHEEL_FILES", faked(models.WHEEL_FILES, (DETECTOR, LANDMARKS)))
    monkeypatch.setattr(
        models, "LITE_WHEEL_FILES", faked(models.LITE_WHEEL_FILES, (DETECTOR, LITE_LANDMARKS))
    )


def _no_official(url: str, timeout_s: float) -> bytes:
    raise urllib.error.URLError("Temporary failure in name resolution")


def _no_wheel(dest_dir: Path) -> Path:
    raise ModelError("pip download failed: No matching distribution found for mediapipe")


def _forbidden(*args: object) -> object:
    raise AssertionError("this source must not be tried")


# --------------------------------------------------------------------------- validation


def _make(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / "bundle.task"
    if kind == "good":
        _zip(path, _good_members())
    elif kind == "good_with_extra":
        _zip(path, {**_good_members(), "metadata.json": b"{}"})
    elif kind == "missing_landmarks":
        _zip(path, {"hand_detector.tflite": DETECTOR})
    elif kind == "empty_zip":
        _zip(path, {})
    elif kind == "not_tflite":
        _zip(path, {**_good_members(), "hand_detector.tflite": b"<html>oops</html>"})
    elif kind == "html":
        path.write_text("<html>403 Forbidden</html>")
    elif kind == "absent":
        pass
    return path


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("good", None),  # the two members, TFLite magic present
        ("good_with_extra", None),  # official bundles may carry more members
        ("missing_landmarks", "zip lacks hand_landmarks_detector.tflite"),  # half a bundle
        ("empty_zip", "found nothing"),  # a zip with no members
        ("not_tflite", "hand_detector.tflite is not a TFLite model"),  # wrong member content
        ("html", "not a zip file"),  # an error page saved as the model
        ("absent", "file not found"),  # nothing there
    ],
)
def test_bundle_problem(tmp_path: Path, kind: str, problem: str | None) -> None:
    found = bundle_problem(_make(tmp_path, kind))
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_default_models_dir_is_repo_models(repo_root: Path) -> None:
    assert models.default_models_dir() == repo_root / "models"
    assert models.model_file() == repo_root / "models" / MODEL_FILENAME


@pytest.mark.parametrize(
    ("variant", "filename"),
    [
        ("full", MODEL_FILENAME),  # scoring recorded videos
        ("lite", LITE_MODEL_FILENAME),  # the live page
    ],
)
def test_model_file_per_variant(tmp_path: Path, variant: str, filename: str) -> None:
    assert models.model_file(tmp_path, variant) == tmp_path / filename


def test_unknown_variant_is_named() -> None:
    with pytest.raises(ValueError, match=r"expected one of full, lite, found 'tiny'"):
        models.model_file(None, "tiny")


def test_find_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"hand model not found at .*; run `make setup`"):
        find_model(tmp_path)
    (tmp_path / MODEL_FILENAME).write_text("junk")
    with pytest.raises(ModelError, match="not usable \\(not a zip file\\)"):
        find_model(tmp_path)
    _zip(tmp_path / MODEL_FILENAME, _good_members())
    assert find_model(tmp_path) == tmp_path / MODEL_FILENAME


# --------------------------------------------------------------------------- wheel


def test_bundle_from_wheel(tmp_path: Path, fake_wheel_files: None) -> None:
    wheel = _fake_wheel(tmp_path / "mediapipe-0.10.21-py3-none-any.whl")
    dest = bundle_from_wheel(wheel, tmp_path / "out" / MODEL_FILENAME)
    with zipfile.ZipFile(dest) as bundle:
        assert sorted(bundle.namelist()) == sorted(_good_members())
        assert bundle.read("hand_detector.tflite") == DETECTOR
        assert bundle.read("hand_landmarks_detector.tflite") == LANDMARKS
        for info in bundle.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
            data_offset = info.header_offset + 30 + len(info.filename) + len(info.extra)
            assert data_offset % models.BUNDLE_ALIGNMENT == 0  # TFLite can map it in place
    assert [p.name for p in dest.parent.iterdir()] == [MODEL_FILENAME]  # no temp left over


def test_bundle_from_wheel_rejects_wrong_digest(tmp_path: Path) -> None:
    """With the real digests, the fake TFLite files do not match."""
    wheel = _fake_wheel(tmp_path / "mediapipe.whl")
    dest = tmp_path / MODEL_FILENAME
    with pytest.raises(ModelError, match="does not match: expected sha256 1b14e942"):
        bundle_from_wheel(wheel, dest)
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == [wheel]


def test_bundle_from_wheel_missing_member(tmp_path: Path, fake_wheel_files: None) -> None:
    wheel = _zip(tmp_path / "mediapipe.whl", {"mediapipe/__init__.py": b""})
    with pytest.raises(ModelError, match="wheel lacks mediapipe/modules/palm_detection"):
        bundle_from_wheel(wheel, tmp_path / MODEL_FILENAME)


def test_download_wheel_only_downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def fake_run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess:
        seen.append(command)
        return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution\n")

    monkeypatch.setattr(models.subprocess, "run", fake_run)
    with pytest.raises(ModelError, match="pip download failed: ERROR: No matching distribution"):
        models.download_wheel(tmp_path)
    command = seen[0]
    assert command[1:4] == ["-m", "pip", "download"]
    assert "install" not in command
    for flag in ("--no-deps", "--only-binary=:all:", "manylinux_2_28_x86_64", "mediapipe==0.10.21"):
        assert flag in command


# --------------------------------------------------------------------------- fetch_model


def test_fetch_keeps_a_valid_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _zip(tmp_path / MODEL_FILENAME, _good_members())
    monkeypatch.setattr(models, "download_official", _forbidden)
    monkeypatch.setattr(models, "download_wheel", _forbidden)
    assert fetch_model(tmp_path, log=lambda _: None) == tmp_path / MODEL_FILENAME


def test_fetch_official(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    official = _zip(tmp_path / "official.task", _good_members()).read_bytes()
    timeouts: list[float] = []

    def fake_official(url: str, timeout_s: float) -> bytes:
        assert url == models.OFFICIAL_URL
        timeouts.append(timeout_s)
        return official

    monkeypatch.setattr(models, "download_official", fake_official)
    monkeypatch.setattr(models, "download_wheel", _forbidden)
    dest = fetch_model(tmp_path / "models", official_timeout_s=1.5, log=lambda _: None)
    assert dest.read_bytes() == official
    assert timeouts == [1.5]


@pytest.mark.parametrize(
    "official",
    [
        _no_official,  # network unreachable
        lambda url, timeout_s: b"<html>captive portal</html>",  # something that is not a bundle
    ],
)
def test_fetch_falls_back_to_the_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_wheel_files: None, official: object
) -> None:
    monkeypatch.setattr(models, "download_official", official)
    monkeypatch.setattr(models, "download_wheel", lambda d: _fake_wheel(d / "mediapipe.whl"))
    messages: list[str] = []
    dest = fetch_model(tmp_path, log=messages.append)
    assert dest == tmp_path / MODEL_FILENAME
    assert bundle_problem(dest) is None
    assert any("wheel" in m for m in messages)


def test_fetch_replaces_an_invalid_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_wheel_files: None
) -> None:
    (tmp_path / MODEL_FILENAME).write_text("half a download")
    monkeypatch.setattr(models, "download_official", _no_official)
    monkeypatch.setattr(models, "download_wheel", lambda d: _fake_wheel(d / "mediapipe.whl"))
    messages: list[str] = []
    fetch_model(tmp_path, log=messages.append)
    assert bundle_problem(tmp_path / MODEL_FILENAME) is None
    assert "not usable" in messages[0]


def test_fetch_names_both_failures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "download_official", _no_official)
    monkeypatch.setattr(models, "download_wheel", _no_wheel)
    with pytest.raises(ModelError) as excinfo:
        fetch_model(tmp_path, log=lambda _: None)
    text = str(excinfo.value)
    assert models.OFFICIAL_URL in text
    assert "Temporary failure in name resolution" in text
    assert "mediapipe==0.10.21 wheel" in text
    assert "No matching distribution found" in text
    assert "\n" not in text
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_fetch_reports_a_digest_mismatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "download_official", _no_official)
    monkeypatch.setattr(models, "download_wheel", lambda d: _fake_wheel(d / "mediapipe.whl"))
    with pytest.raises(ModelError, match="wheel from PyPI failed: .* does not match"):
        fetch_model(tmp_path, log=lambda _: None)


# --------------------------------------------------------------------------- lite model


def test_fetch_lite_builds_it_from_the_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_wheel_files: None
) -> None:
    monkeypatch.setattr(models, "download_official", _forbidden)  # no official lite bundle
    monkeypatch.setattr(models, "download_wheel", lambda d: _fake_wheel(d / "mediapipe.whl"))
    dest = fetch_lite_model(tmp_path, log=lambda _: None)
    assert dest == tmp_path / LITE_MODEL_FILENAME
    with zipfile.ZipFile(dest) as bundle:
        assert bundle.read("hand_detector.tflite") == DETECTOR  # the full palm detector
        assert bundle.read("hand_landmarks_detector.tflite") == LITE_LANDMARKS


def test_fetch_lite_keeps_a_valid_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _zip(tmp_path / LITE_MODEL_FILENAME, _good_members())
    monkeypatch.setattr(models, "download_wheel", _forbidden)
    assert fetch_lite_model(tmp_path, log=lambda _: None) == tmp_path / LITE_MODEL_FILENAME


def test_fetch_lite_says_why_it_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "download_wheel", _no_wheel)
    with pytest.raises(ModelError, match="lite hand model .* No matching distribution found"):
        fetch_lite_model(tmp_path, log=lambda _: None)
    assert list(tmp_path.iterdir()) == []


def test_fetch_models_downloads_the_wheel_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_wheel_files: None
) -> None:
    downloads: list[Path] = []

    def fake_wheel(dest_dir: Path) -> Path:
        downloads.append(dest_dir)
        return _fake_wheel(dest_dir / "mediapipe.whl")

    monkeypatch.setattr(models, "download_official", _no_official)
    monkeypatch.setattr(models, "download_wheel", fake_wheel)
    paths = fetch_models(tmp_path, log=lambda _: None)
    assert paths == {"full": tmp_path / MODEL_FILENAME, "lite": tmp_path / LITE_MODEL_FILENAME}
    assert all(bundle_problem(p) is None for p in paths.values())
    assert len(downloads) == 1  # one wheel for both bundles
    assert not downloads[0].exists()  # and its temporary folder is gone


@pytest.mark.model
def test_real_lite_model_validates(lite_model_path: Path) -> None:
    assert bundle_problem(lite_model_path) is None
    assert find_model(lite_model_path.parent, "lite") == lite_model_path


@pytest.mark.model
def test_real_model_validates(model_path: Path) -> None:
    assert bundle_problem(model_path) is None
    assert find_model(model_path.parent) == model_path
