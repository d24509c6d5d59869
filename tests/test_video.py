"""Tests for coach.vision.video: write/read round trips, rotation metadata, error messages."""

from __future__ import annotations

import dataclasses
import os
import wave
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from coach.core.types import Frame
from coach.vision.video import (
    SUPPORTED_SUFFIXES,
    VideoError,
    VideoInfo,
    VideoWriter,
    frame_rate,
    open_video,
    read_info,
)

N_FRAMES = 12


def _image(i: int, width: int, height: int) -> np.ndarray:
    """A smooth gradient with a bright square that moves with the frame index."""
    img = np.zeros((height, width, 3), np.uint8)
    img[..., 0] = np.linspace(0, 255, width, dtype=np.uint8)[None, :]
    img[..., 1] = np.linspace(0, 200, height, dtype=np.uint8)[:, None]
    x0 = 4 + 3 * i
    img[8:24, x0 : x0 + 16] = (255, 255, 64)
    return img


def _write(path: Path, n: int, fps: float, size: tuple[int, int], **kwargs: int) -> list:
    images = [_image(i, *size) for i in range(n)]
    with VideoWriter(path, fps, size, **kwargs) as writer:
        for img in images:
            writer.write(img)
    return images


@pytest.mark.parametrize("suffix", SUPPORTED_SUFFIXES)
@pytest.mark.parametrize(
    "fps",
    [
        25,  # PAL
        30,  # webcam
        29.97,  # NTSC, stored as 30000/1001
    ],
)
@pytest.mark.parametrize(
    "size",
    [
        (96, 64),  # landscape
        (64, 96),  # portrait
    ],
)
def test_round_trip(tmp_path: Path, suffix: str, fps: float, size: tuple[int, int]) -> None:
    path = tmp_path / f"clip{suffix}"
    images = _write(path, N_FRAMES, fps, size)
    with open_video(path) as reader:
        info = reader.info
        frames = list(reader)
    width, height = size
    assert info == VideoInfo(
        path=str(path),
        fps=pytest.approx(fps, rel=1e-3),
        frames=N_FRAMES,
        duration_s=pytest.approx(N_FRAMES / fps, abs=0.05),
        width=width,
        height=height,
    )
    assert len(frames) == N_FRAMES
    for i, (frame, original) in enumerate(zip(frames, images, strict=True)):
        assert isinstance(frame, Frame)
        assert frame.index == i
        assert frame.image.dtype == np.uint8 and frame.image.shape == (height, width, 3)
        assert frame.timestamp_s == pytest.approx(i / fps, abs=1e-3)
        error = np.abs(frame.image.astype(int) - original.astype(int)).mean()
        assert error < 6.0, f"frame {i}: mean abs error {error:.1f}"


def test_reader_is_re_iterable(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    _write(path, 5, 25, (64, 48))
    with open_video(path) as reader:
        first = [f.timestamp_s for f in reader]
        second = [f.timestamp_s for f in reader]
    assert first == second == pytest.approx([0.0, 0.04, 0.08, 0.12, 0.16])


def test_read_info_and_info_is_frozen(tmp_path: Path) -> None:
    path = tmp_path / "clip.webm"
    _write(path, 4, 30, (64, 48))
    info = read_info(path)
    assert (info.frames, info.width, info.height, info.fps) == (4, 64, 48, 30.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.fps = 25.0  # type: ignore[misc]


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv"])
@pytest.mark.parametrize(
    ("rotation_deg", "k"),
    [
        (-90, -1),  # phone held upright: stored landscape, shown turned clockwise
        (90, 1),  # phone held the other way up
        (180, 2),  # upside down
    ],
)
def test_rotation_metadata_gives_upright_frames(
    tmp_path: Path, suffix: str, rotation_deg: int, k: int
) -> None:
    path = tmp_path / f"phone{suffix}"
    images = _write(path, 3, 30, (96, 64), display_rotation_deg=rotation_deg)
    with open_video(path) as reader:
        frames = list(reader)
        info = reader.info
    expected = np.rot90(images[0], k=k)
    assert (info.width, info.height) == (expected.shape[1], expected.shape[0])
    assert frames[0].image.shape == expected.shape
    assert np.abs(frames[0].image.astype(int) - expected.astype(int)).mean() < 6.0


def test_y4m_header_is_what_chromium_accepts(tmp_path: Path) -> None:
    """Chromium's fake webcam reads W, H, F (integer fps), C in {420, 420jpeg, ...} and FRAME."""
    path = tmp_path / "webcam.y4m"
    _write(path, 3, 30, (96, 64))
    data = path.read_bytes()
    header, _, rest = data.partition(b"\n")
    tokens = header.decode("ascii").split(" ")
    assert tokens[0] == "YUV4MPEG2"
    assert {"W96", "H64", "F30:1"} <= set(tokens)
    chroma = [t for t in tokens if t.startswith("C")]
    assert chroma and chroma[0][1:] in {"420", "420jpeg", "420mpeg2", "420paldv"}
    frame_bytes = 96 * 64 * 3 // 2
    assert rest.startswith(b"FRAME\n")
    assert len(rest) == 3 * (len(b"FRAME\n") + frame_bytes)  # complete frames only


def test_missing_pts_falls_back_to_index_over_fps(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    _write(path, 2, 25, (64, 48))
    with open_video(path) as reader:
        stream = SimpleNamespace(time_base=None, start_time=None)
        av_frame = SimpleNamespace(pts=None, time_base=None)
        timestamp_s, _ = reader._timestamp(av_frame, stream, index=5, origin=None)
    assert timestamp_s == pytest.approx(5 / 25)


@pytest.mark.shared
def test_real_video_info_and_timestamps(shared_hands_dir: Path) -> None:
    path = shared_hands_dir / "asl_hand.25fps.mp4"
    with open_video(path) as reader:
        info = reader.info
        timestamps = [f.timestamp_s for f in reader]
    assert (info.width, info.height, info.fps, info.frames) == (620, 1080, 25.0, 325)
    assert len(timestamps) == 325
    np.testing.assert_allclose(timestamps, np.arange(325) / 25.0, atol=1e-3)


# --------------------------------------------------------------------------- errors


def _make_bad_input(tmp_path: Path, kind: str) -> Path:
    """Create one kind of unreadable input and return its path."""
    path = tmp_path / "input.mp4"
    if kind == "missing":
        return tmp_path / "nothing-here.mp4"
    if kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "random_bytes":
        path.write_bytes(np.random.default_rng(7).integers(0, 256, 5000, np.uint8).tobytes())
    elif kind == "text":
        path.write_text("this is not a video\n" * 50)
    elif kind == "audio_only":
        with wave.open(str(path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(8000)
            wav.writeframes(b"\0\0" * 8000)
    elif kind == "header_only":
        _write(tmp_path / "full.webm", 10, 25, (64, 48))
        path = tmp_path / "input.webm"
        path.write_bytes((tmp_path / "full.webm").read_bytes()[:40])
    else:  # pragma: no cover - table typo
        raise AssertionError(kind)
    return path


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing", "file not found"),  # path does not exist
        ("directory", "is a directory"),  # a folder named like a video
        ("empty", "file is empty"),  # zero bytes
        ("random_bytes", "not a readable video"),  # noise with a .mp4 suffix
        ("text", "not a readable video"),  # a text file renamed .mp4
        ("audio_only", "contains no video stream"),  # a valid media file without video
        ("header_only", "truncated"),  # the first 40 bytes of a webm
    ],
)
def test_unreadable_input_raises_video_error(tmp_path: Path, kind: str, message: str) -> None:
    path = _make_bad_input(tmp_path, kind)
    with pytest.raises(VideoError) as excinfo, open_video(path) as reader:
        list(reader)
    text = str(excinfo.value)
    assert message in text
    assert f"'{path}'" in text
    assert "\n" not in text


@pytest.mark.parametrize("suffix", SUPPORTED_SUFFIXES)
def test_truncated_file_yields_the_frames_that_decode(tmp_path: Path, suffix: str) -> None:
    full = tmp_path / f"full{suffix}"
    rng = np.random.default_rng(1)
    with VideoWriter(full, 25, (64, 48)) as writer:
        for _ in range(40):  # noise: every frame costs about the same number of bytes
            writer.write(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    cut = tmp_path / f"cut{suffix}"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) * 6 // 10])
    with open_video(cut) as reader:
        frames = list(reader)
    assert 0 < len(frames) < 40
    timestamps = [f.timestamp_s for f in frames]
    assert timestamps == sorted(timestamps)


@pytest.mark.parametrize(
    ("name", "fps", "size", "message"),
    [
        ("clip.gif", 25, (64, 48), "expected a file name ending in"),  # unknown suffix
        ("clip.mp4", 25, (65, 48), "even width and height"),  # odd width and 4:2:0 chroma
        ("clip.mp4", 0, (64, 48), "fps"),  # zero fps
        ("clip.mp4", float("nan"), (64, 48), "fps"),  # nan fps
        ("clip.mp4", 25, (0, 48), "positive size"),  # empty picture
    ],
)
def test_writer_rejects_bad_arguments(
    tmp_path: Path, name: str, fps: float, size: tuple[int, int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        VideoWriter(tmp_path / name, fps, size)


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((48, 64, 3), np.float32),  # wrong dtype
        np.zeros((64, 48, 3), np.uint8),  # transposed size
        np.zeros((48, 64), np.uint8),  # grey, no channel axis
    ],
)
def test_writer_rejects_bad_images(tmp_path: Path, image: np.ndarray) -> None:
    with VideoWriter(tmp_path / "clip.mp4", 25, (64, 48)) as writer:
        with pytest.raises(ValueError, match=r"expected an RGB uint8 array of shape \(48, 64, 3\)"):
            writer.write(image)
        writer.write(np.zeros((48, 64, 3), np.uint8))


@pytest.mark.parametrize(
    ("fps", "expected"),
    [
        (25, (25, 1)),  # integer
        (29.97, (30000, 1001)),  # NTSC
        (23.976, (24000, 1001)),  # film NTSC
        (12.5, (25, 2)),  # half PAL
    ],
)
def test_frame_rate_is_exact(fps: float, expected: tuple[int, int]) -> None:
    rate = frame_rate(fps)
    assert (rate.numerator, rate.denominator) == expected


def test_writer_close_is_idempotent_and_counts(tmp_path: Path) -> None:
    writer = VideoWriter(tmp_path / "clip.avi", 25, (64, 48))
    writer.write(_image(0, 64, 48))
    writer.close()
    writer.close()
    assert writer.frames_written == 1
    assert os.path.getsize(tmp_path / "clip.avi") > 0
    with pytest.raises(ValueError, match="already closed"):
        writer.write(_image(0, 64, 48))
