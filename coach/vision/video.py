"""Reading and writing video files with PyAV.

Reading: :func:`open_video` returns a :class:`VideoReader` that yields
:class:`coach.core.types.Frame` records (RGB uint8, upright, ``timestamp_s`` in seconds
from the start of the video stream, taken from the container timestamps).

Writing: :class:`VideoWriter` picks codec and container from the file suffix.

Errors: any input that cannot be read as video raises :class:`VideoError` with a
one-line message that names the file and says what is wrong; no other exception
type escapes from opening or decoding.

Truncated or partly corrupt files: the reader yields every frame that decodes and
then stops without an exception; :attr:`VideoReader.error` then holds the reason
decoding stopped early. Only when not a single frame decodes does iteration raise
:class:`VideoError`.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from coach.core.types import Frame, VideoInfo
from coach.vision.closing import Closing

#: Suffixes :class:`VideoWriter` knows how to write, and the ones the reader is tested on.
SUPPORTED_SUFFIXES = (".mp4", ".mov", ".webm", ".avi", ".mkv", ".y4m")

#: fps used when a stream declares no usable frame rate at all.
FALLBACK_FPS = 30.0


class VideoError(Exception):
    """A video file cannot be read or written; the message is one line."""


# --------------------------------------------------------------------------- reading


def _fail(path: str | os.PathLike, reason: str) -> VideoError:
    """Build the one-line error for ``path``."""
    name = os.fspath(path)
    reason = " ".join(str(reason).split())  # force one line
    return VideoError(f"cannot read video '{name}': {reason}")


def _check_file(path: Path) -> None:
    """Raise :class:`VideoError` for problems visible without ffmpeg."""
    if not path.exists():
        raise _fail(path, "file not found")
    if path.is_dir():
        raise _fail(path, "is a directory, expected a video file")
    if not path.is_file():
        raise _fail(path, "is not a regular file")
    if path.stat().st_size == 0:
        raise _fail(path, "file is empty")
    if not os.access(path, os.R_OK):
        raise _fail(path, "permission denied")


def file_url(path: str | os.PathLike) -> str:
    """``path`` as an ffmpeg ``file:`` URL of its absolute path: a file whose name looks
    like another protocol (``concat:a.mp4|b.mp4``, ``http://...``, ``pipe:0``) is still
    read as that one plain file."""
    return "file:" + os.fspath(Path(path).absolute())


def _open_container(path: Path) -> av.container.InputContainer:
    """Open ``path`` for demuxing, turning every ffmpeg failure into :class:`VideoError`.
    Always through :func:`file_url`: ffmpeg never sees a protocol in a file name."""
    try:
        return av.open(file_url(path), mode="r")
    except av.error.InvalidDataError:
        raise _fail(
            path, "not a readable video (unknown format, or a damaged or truncated file)"
        ) from None
    except av.error.FFmpegError as exc:
        raise _fail(
            path, f"damaged, truncated or unsupported file (ffmpeg: {_ffmpeg_reason(exc)})"
        ) from None
    except (OSError, ValueError, UnicodeError) as exc:
        raise _fail(path, str(exc)) from None


def _ffmpeg_reason(exc: BaseException) -> str:
    """The short human part of an ffmpeg error."""
    strerror = getattr(exc, "strerror", None)
    return str(strerror or exc)


def _video_stream(container: av.container.InputContainer, path: Path) -> av.video.VideoStream:
    if not container.streams.video:
        raise _fail(path, "contains no video stream")
    return container.streams.video[0]


def _stream_fps(stream: av.video.VideoStream) -> float:
    """Frames per second the stream declares (average, guessed, then base rate)."""
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and rate > 0:
            value = float(rate)
            if math.isfinite(value) and 0 < value < 1000:
                return value
    return FALLBACK_FPS


def _normalise_rotation(degrees: float) -> int:
    """Round to the nearest multiple of 90 and map into {0, 90, 180, 270}."""
    try:
        return int(round(float(degrees) / 90.0)) % 4 * 90
    except (TypeError, ValueError):
        return 0


def _upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """Rotate a decoded image so it shows as a player would show it.

    ``rotation`` is the display-matrix angle as FFmpeg reports it (counter-clockwise
    degrees, the way ``frame.rotation`` gives it); FFmpeg's players rotate the
    stored picture by that angle counter-clockwise, which is ``np.rot90(k=1)`` per
    90 degrees.
    """
    k = (rotation // 90) % 4
    if k == 0:
        return image
    return np.ascontiguousarray(np.rot90(image, k=k))


def _scan(
    container: av.container.InputContainer, stream: av.video.VideoStream, count: bool
) -> tuple[int, int]:
    """Demux ``stream`` once: (number of video packets or 0, rotation of the first frame).

    Only the first frame is decoded (its display matrix gives the rotation); packets
    are counted only when ``count`` is true, else the scan stops after that frame.
    """
    packets = 0
    rotation: int | None = None
    try:
        for packet in container.demux(stream):
            if packet.size > 0:
                packets += 1
            if rotation is None:
                with contextlib.suppress(av.error.InvalidDataError):
                    for frame in packet.decode():
                        rotation = _normalise_rotation(getattr(frame, "rotation", 0) or 0)
                        break
            if rotation is not None and not count:
                break
    except av.error.FFmpegError:
        pass  # damaged or truncated: keep what was counted
    return packets, rotation or 0


def _probe(path: Path) -> tuple[VideoInfo, int]:
    """Read ``path``'s stream header (and its packets if needed): :class:`VideoInfo`, rotation.

    ``frames`` comes from the container header, or, where the format does not
    store it (webm, mkv, y4m), from counting packets.
    """
    container = _open_container(path)
    try:
        stream = _video_stream(container, path)
        fps = _stream_fps(stream)
        width = int(stream.codec_context.width or 0)
        height = int(stream.codec_context.height or 0)
        if width <= 0 or height <= 0:
            raise _fail(path, f"video stream has no picture size ({width}x{height})")
        frames = int(stream.frames or 0)
        duration_s = float("nan")
        if stream.duration is not None and stream.time_base is not None:
            duration_s = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration_s = container.duration / 1_000_000.0
        packets, rotation = _scan(container, stream, count=frames <= 0)
    finally:
        container.close()
    if frames <= 0:
        frames = packets
    if not math.isfinite(duration_s) or duration_s <= 0:
        duration_s = frames / fps
    if rotation in (90, 270):
        width, height = height, width
    info = VideoInfo(
        path=os.fspath(path),
        fps=fps,
        frames=frames,
        duration_s=duration_s,
        width=width,
        height=height,
    )
    return info, rotation


class VideoReader(Closing):
    """Frames of one video file; re-iterable, each iteration starts from the beginning.

    Use as a context manager or call :meth:`close`. ``info`` describes the file;
    ``error`` is ``None`` or the reason the last iteration stopped before the end
    of the file (a truncated or corrupt file).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        _check_file(self.path)
        self.info, self._rotation = _probe(self.path)
        self.error: str | None = None
        self._container: av.container.InputContainer | None = None

    def __iter__(self) -> Iterator[Frame]:
        self.close()
        self.error = None
        container = _open_container(self.path)
        self._container = container
        count = 0
        try:
            stream = _video_stream(container, self.path)
            stream.thread_type = "AUTO"
            origin = None
            for index, av_frame in enumerate(self._decode(container, stream)):
                timestamp_s, origin = self._timestamp(av_frame, stream, index, origin)
                image = av_frame.to_ndarray(format="rgb24")
                rotation = _normalise_rotation(getattr(av_frame, "rotation", 0) or 0)
                image = _upright(image, rotation)
                count += 1
                yield Frame(image=image, timestamp_s=timestamp_s, index=index)
        finally:
            container.close()
            if self._container is container:
                self._container = None
        if count == 0:
            reason = self.error or "no frame could be decoded"
            raise _fail(self.path, reason)

    def _decode(
        self, container: av.container.InputContainer, stream: av.video.VideoStream
    ) -> Iterator[av.VideoFrame]:
        """Decoded frames; stops (recording :attr:`error`) at the first ffmpeg failure."""
        try:
            for packet in container.demux(stream):
                try:
                    yield from packet.decode()
                except av.error.InvalidDataError as exc:
                    # A damaged packet: skip it, keep going (ffmpeg resyncs at the next keyframe).
                    self.error = f"damaged data skipped ({_ffmpeg_reason(exc)})"
        except av.error.FFmpegError as exc:
            self.error = f"decoding stopped early ({_ffmpeg_reason(exc)})"

    def _timestamp(
        self,
        av_frame: av.VideoFrame,
        stream: av.video.VideoStream,
        index: int,
        origin: float | None,
    ) -> tuple[float, float | None]:
        """Seconds since the stream start; ``index / fps`` when the frame has no pts."""
        time_base = av_frame.time_base or stream.time_base
        if av_frame.pts is None or time_base is None:
            return index / self.info.fps, origin
        if origin is None:
            start = stream.start_time
            origin = float(start * stream.time_base) if start is not None else None
            if origin is None:
                origin = float(av_frame.pts * time_base)
        return float(av_frame.pts * time_base) - origin, origin

    def close(self) -> None:
        """Release the open decoder, if any (iteration in progress is ended)."""
        if self._container is not None:
            self._container.close()
            self._container = None


def open_video(path: str | os.PathLike) -> VideoReader:
    """Open a video file for reading; raises :class:`VideoError` if it is not readable video."""
    return VideoReader(path)


def read_info(path: str | os.PathLike) -> VideoInfo:
    """The :class:`VideoInfo` of ``path`` without decoding frames."""
    with open_video(path) as reader:
        return reader.info


# --------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class _Format:
    """Codec settings for one container suffix."""

    container: str  # ffmpeg muxer name
    codecs: tuple[str, ...]  # first one PyAV's ffmpeg has wins
    pix_fmt: str
    options: dict[str, str]
    even_size: bool = True  # the pixel format needs even width and height
    container_options: dict[str, str] | None = None


_X264 = {"preset": "veryfast", "crf": "18"}
# faststart puts the index first, so a file cut short still decodes up to the cut.
_FASTSTART = {"movflags": "faststart"}
_FORMATS: dict[str, _Format] = {
    ".mp4": _Format("mp4", ("libx264", "mpeg4"), "yuv420p", _X264, True, _FASTSTART),
    ".mov": _Format("mov", ("libx264", "mpeg4"), "yuv420p", _X264, True, _FASTSTART),
    ".mkv": _Format("matroska", ("libx264", "mpeg4"), "yuv420p", _X264),
    ".webm": _Format(
        "webm",
        ("libvpx", "libvpx-vp9"),
        "yuv420p",
        {"crf": "10", "b": "4M", "deadline": "realtime", "cpu-used": "8"},
    ),
    ".avi": _Format("avi", ("mjpeg", "mpeg4"), "yuvj420p", {"q:v": "2"}),
    ".y4m": _Format("yuv4mpegpipe", ("rawvideo",), "yuv420p", {}),
}

#: Fallback options for codecs that do not understand the first choice's options.
_CODEC_OPTIONS = {
    "mpeg4": {"qscale": "3"},
    "mjpeg": {"q:v": "2"},
}


def _codec_available(name: str) -> bool:
    try:
        av.codec.Codec(name, "w")
    except Exception:
        return False
    return True


def frame_rate(fps: float) -> Fraction:
    """``fps`` as an exact rational; 23.976, 29.97 and 59.94 become n*1000/1001."""
    if not (isinstance(fps, int | float) and math.isfinite(fps) and 0 < fps <= 1000):
        raise ValueError(f"fps: expected a number in (0, 1000], found {fps!r}")
    for nominal in (24, 30, 48, 60, 120):
        ntsc = Fraction(nominal * 1000, 1001)
        if abs(fps - float(ntsc)) < 0.006:
            return ntsc
    return Fraction(fps).limit_denominator(1001)


class VideoWriter(Closing):
    """Write RGB uint8 frames to a video file, codec chosen by the suffix.

    ``size`` is ``(width, height)`` in pixels. Frame ``i`` gets timestamp ``i / fps``.

    ===========  =========================================  ============
    suffix       codec                                      pixel format
    ===========  =========================================  ============
    .mp4 .mov    H.264 (libx264), else MPEG-4 part 2        yuv420p
    .mkv         H.264 (libx264), else MPEG-4 part 2        yuv420p
    .webm        VP8 (libvpx), else VP9                     yuv420p
    .avi         Motion JPEG, else MPEG-4 part 2            yuvj420p
    .y4m         raw YUV4MPEG2 (chromium's fake webcam)     yuv420p
    ===========  =========================================  ============

    All formats use 4:2:0 chroma, so width and height must be even.

    ``display_rotation_deg`` (multiple of 90, counter-clockwise, the value
    :attr:`av.VideoFrame.rotation` reads back) stores a display matrix the way a
    phone does for portrait clips; only .mp4, .mov and .mkv keep it.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        fps: float,
        size: tuple[int, int],
        *,
        display_rotation_deg: int = 0,
    ) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in _FORMATS:
            raise ValueError(
                f"VideoWriter: expected a file name ending in one of "
                f"{', '.join(SUPPORTED_SUFFIXES)}, found '{self.path.name}'"
            )
        width, height = (int(v) for v in size)
        if width <= 0 or height <= 0:
            raise ValueError(f"VideoWriter: expected a positive size (width, height), found {size}")
        spec = _FORMATS[suffix]
        if spec.even_size and (width % 2 or height % 2):
            raise ValueError(
                f"VideoWriter: {suffix} uses 4:2:0 chroma and needs an even width and height, "
                f"found {width}x{height}"
            )
        self.fps = float(fps)
        self.size = (width, height)
        self.frames_written = 0
        rate = frame_rate(fps)
        codec = next((c for c in spec.codecs if _codec_available(c)), None)
        if codec is None:
            raise VideoError(
                f"cannot write video '{self.path}': none of the codecs {spec.codecs} is available"
            )
        options = dict(spec.options if codec == spec.codecs[0] else _CODEC_OPTIONS.get(codec, {}))
        try:
            self._container = av.open(
                file_url(self.path),
                mode="w",
                format=spec.container,
                options=dict(spec.container_options or {}),
            )
        except (av.error.FFmpegError, OSError) as exc:
            raise VideoError(f"cannot write video '{self.path}': {_ffmpeg_reason(exc)}") from None
        self._stream = self._container.add_stream(codec, rate=rate, options=options)
        self._stream.width = width
        self._stream.height = height
        self._stream.pix_fmt = spec.pix_fmt
        self._stream.codec_context.time_base = 1 / rate
        self._stream.codec_context.sample_aspect_ratio = Fraction(1, 1)
        if display_rotation_deg % 360:
            if display_rotation_deg % 90:
                raise ValueError(
                    f"VideoWriter: expected display_rotation_deg a multiple of 90, "
                    f"found {display_rotation_deg}"
                )
            self._stream.set_display_rotation(int(display_rotation_deg))
        self._time_base = 1 / rate
        self._closed = False

    def write(self, image: np.ndarray) -> None:
        """Append one RGB uint8 image of shape (height, width, 3)."""
        if self._closed:
            raise ValueError(f"VideoWriter: '{self.path}' is already closed")
        width, height = self.size
        if (
            not isinstance(image, np.ndarray)
            or image.dtype != np.uint8
            or image.shape != (height, width, 3)
        ):
            found = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image)
            raise ValueError(
                f"VideoWriter.write: expected an RGB uint8 array of shape ({height}, {width}, 3), "
                f"found {found}"
            )
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        frame.pts = self.frames_written
        frame.time_base = self._time_base
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames_written += 1

    def close(self) -> None:
        """Flush the encoder and finish the file (safe to call twice)."""
        if self._closed:
            return
        self._closed = True
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
        finally:
            self._container.close()
