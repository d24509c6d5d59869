"""Where the MediaPipe hand model lives, how to check it and how to fetch it.

The model is a "task bundle": a zip with two TFLite files, ``hand_detector.tflite``
(palm detector) and ``hand_landmarks_detector.tflite`` (21-landmark model). Two
variants are kept in ``<repo>/models/`` (not committed):

- ``full`` (``hand_landmarker.task``): MediaPipe's full landmark model. Used to score
  recorded videos, where time is not short.
- ``lite`` (``hand_landmarker_lite.task``): the same palm detector with MediaPipe's
  lite landmark model, about 40% cheaper a frame (9.7 against 16.4 ms here). Used by
  the live page, which has 33 ms a frame on two cores shared with the browser. Its
  landmarks differ from the full model's by a few pixels (median 1.2 px at the index
  fingertip on the synthetic clip, 7 px mean on the real 620x1080 hand video).

(MediaPipe's lite *palm detector* is not usable: it lacks the normalisation metadata
the task API needs.)

:func:`fetch_model` tries two sources in turn:

1. the official bundle from Google's model storage (short timeout);
2. assembling the bundle from the two TFLite files inside the ``mediapipe==0.10.21``
   wheel on PyPI. The wheel is only *downloaded* (``pip download``, never
   installed); the TFLite files are checked against known SHA-256 digests.

:func:`fetch_lite_model` builds the lite bundle from the same wheel (there is no
official lite bundle). The network steps are small functions (:func:`download_official`,
:func:`download_wheel`) that callers and tests can replace.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from coach.storage import paths
from coach.storage.atomic import atomic_path

MODEL_FILENAME = "hand_landmarker.task"
LITE_MODEL_FILENAME = "hand_landmarker_lite.task"

#: Model variant -> bundle file name in the models folder.
VARIANT_FILENAMES = {"full": MODEL_FILENAME, "lite": LITE_MODEL_FILENAME}
VARIANTS = tuple(VARIANT_FILENAMES)

OFFICIAL_URL = (
    "https://storage.googleapis.com/mediapipe-models/hand_landmarker/"
    "hand_landmarker/float16/1/hand_landmarker.task"
)

#: The wheel whose bundled TFLite files make up the fallback bundle. Its TFLite
#: files are platform independent, so one fixed platform is always asked for.
WHEEL_REQUIREMENT = "mediapipe==0.10.21"
WHEEL_PLATFORM = "manylinux_2_28_x86_64"
WHEEL_PYTHON_VERSION = "3.11"
WHEEL_TIMEOUT_S = 900.0

#: Members every bundle must hold.
DETECTOR_MEMBER = "hand_detector.tflite"
LANDMARKS_MEMBER = "hand_landmarks_detector.tflite"
BUNDLE_MEMBERS = (DETECTOR_MEMBER, LANDMARKS_MEMBER)


@dataclass(frozen=True)
class WheelFile:
    """One TFLite file inside the wheel and the bundle member it becomes."""

    wheel_path: str
    bundle_member: str
    sha256: str
    size_bytes: int


WHEEL_FILES = (
    WheelFile(
        "mediapipe/modules/palm_detection/palm_detection_full.tflite",
        DETECTOR_MEMBER,
        "1b14e9422c6ad006cde6581a46c8b90dd573c07ab7f3934b5589e7cea3f89a54",
        2339846,
    ),
    WheelFile(
        "mediapipe/modules/hand_landmark/hand_landmark_full.tflite",
        LANDMARKS_MEMBER,
        "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3",
        5478917,
    ),
)

#: The lite bundle: the full palm detector with the lite landmark model.
LITE_WHEEL_FILES = (
    WHEEL_FILES[0],
    WheelFile(
        "mediapipe/modules/hand_landmark/hand_landmark_lite.tflite",
        LANDMARKS_MEMBER,
        "048edd3645c9bf7397d19a9f6e3a42957d6e414c9bea6598030a2e9b624156e6",
        2071597,
    ),
)

_TFLITE_MAGIC = b"TFL3"  # FlatBuffer file identifier, bytes 4..8 of a .tflite file


class ModelError(Exception):
    """The hand model is missing, invalid or could not be fetched (one-line message)."""


# --------------------------------------------------------------------------- locating


def repo_root() -> Path:
    """The repository root: the parent of the ``coach`` package directory."""
    return Path(__file__).resolve().parents[2]


def default_models_dir() -> Path:
    """Where the bundles live (:func:`coach.storage.paths.models_dir`): the checkout's ``models/``,
    else the user's data folder (never site-packages)."""
    return paths.models_dir()


def check_variant(variant: str) -> str:
    """``variant`` if it names a model variant; ``ValueError`` saying which exist if not."""
    if variant not in VARIANT_FILENAMES:
        raise ValueError(f"model variant: expected one of {', '.join(VARIANTS)}, found {variant!r}")
    return variant


def model_file(models_dir: str | os.PathLike | None = None, variant: str = "full") -> Path:
    """Where a bundle is expected: ``<models_dir>/hand_landmarker.task`` (``full``) or
    ``<models_dir>/hand_landmarker_lite.task`` (``lite``)."""
    folder = Path(models_dir) if models_dir is not None else default_models_dir()
    return folder / VARIANT_FILENAMES[check_variant(variant)]


def bundle_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` is not a usable hand-landmarker bundle, or ``None`` if it is.

    A bundle is a zip holding ``hand_detector.tflite`` and
    ``hand_landmarks_detector.tflite``, each a TFLite flatbuffer. Other members
    (the official file may carry metadata) are allowed.
    """
    path = Path(path)
    if not path.is_file():
        return "file not found"
    try:
        with zipfile.ZipFile(path) as bundle:
            names = set(bundle.namelist())
            missing = [m for m in BUNDLE_MEMBERS if m not in names]
            if missing:
                found = ", ".join(sorted(names)) or "nothing"
                return f"zip lacks {', '.join(missing)} (found {found})"
            for member in BUNDLE_MEMBERS:
                with bundle.open(member) as handle:
                    head = handle.read(8)
                if head[4:8] != _TFLITE_MAGIC:
                    return f"{member} is not a TFLite model"
    except zipfile.BadZipFile:
        return "not a zip file"
    except (OSError, RuntimeError, ValueError) as exc:
        return f"cannot read it ({exc})"
    return None


def find_model(models_dir: str | os.PathLike | None = None, variant: str = "full") -> Path:
    """Path of a valid hand model bundle; raises :class:`ModelError` saying how to get one."""
    path = model_file(models_dir, variant)
    problem = bundle_problem(path)
    if problem == "file not found":
        raise ModelError(
            f"hand model not found at {path}; run `make setup` or `coach models fetch`"
        )
    if problem is not None:
        raise ModelError(
            f"hand model at {path} is not usable ({problem}); delete it and run "
            "`make setup` or `coach models fetch`"
        )
    return path


# --------------------------------------------------------------------------- fetching


def download_official(url: str, timeout_s: float) -> bytes:
    """The bytes at ``url`` (network: raises ``OSError``/``urllib.error.URLError``)."""
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        return response.read()


def download_wheel(dest_dir: Path) -> Path:
    """``pip download`` the mediapipe wheel (no install, no dependencies) into ``dest_dir``."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--platform",
        WHEEL_PLATFORM,
        "--python-version",
        WHEEL_PYTHON_VERSION,
        WHEEL_REQUIREMENT,
        "-d",
        str(dest_dir),
    ]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=WHEEL_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise ModelError(f"pip download timed out after {WHEEL_TIMEOUT_S:.0f} s") from None
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        raise ModelError(f"pip download failed: {lines[-1] if lines else 'no message'}")
    wheels = sorted(dest_dir.glob("mediapipe-*.whl"))
    if not wheels:
        raise ModelError(f"pip download left no mediapipe wheel in {dest_dir}")
    return wheels[0]


def bundle_from_wheel(
    wheel: str | os.PathLike,
    dest: str | os.PathLike,
    files: tuple[WheelFile, ...] | None = None,
) -> Path:
    """Build a bundle at ``dest`` from the TFLite files inside ``wheel``; checks their digests.

    ``files`` defaults to :data:`WHEEL_FILES` (looked up at call time).
    """
    members: dict[str, bytes] = {}
    try:
        with zipfile.ZipFile(wheel) as archive:
            for item in WHEEL_FILES if files is None else files:
                try:
                    data = archive.read(item.wheel_path)
                except KeyError:
                    raise ModelError(f"wheel lacks {item.wheel_path}") from None
                digest = hashlib.sha256(data).hexdigest()
                if digest != item.sha256 or len(data) != item.size_bytes:
                    raise ModelError(
                        f"{item.wheel_path} in the wheel does not match: expected sha256 "
                        f"{item.sha256} ({item.size_bytes} bytes), found {digest} "
                        f"({len(data)} bytes)"
                    )
                members[item.bundle_member] = data
    except zipfile.BadZipFile:
        raise ModelError(f"{Path(wheel).name} is not a zip file") from None
    return _write_atomically(Path(dest), lambda handle: _write_bundle(handle, members))


#: Member data starts at a multiple of this many bytes, so TFLite can map the
#: models straight from the bundle (an unaligned member makes it copy and warn).
BUNDLE_ALIGNMENT = 64
_PADDING_FIELD_ID = 0xD935  # the zip "extra field" id Android's zipalign uses for padding


def _padding_extra(header_offset: int, name: str) -> bytes:
    """An extra field that makes the member's data start on :data:`BUNDLE_ALIGNMENT`."""
    data_offset = header_offset + 30 + len(name.encode("utf-8"))  # 30: local header size
    pad = -data_offset % BUNDLE_ALIGNMENT
    if pad == 0:
        return b""
    while pad < 4:  # an extra field needs 4 bytes for its id and length
        pad += BUNDLE_ALIGNMENT
    return (
        _PADDING_FIELD_ID.to_bytes(2, "little") + (pad - 4).to_bytes(2, "little") + bytes(pad - 4)
    )


def _write_bundle(handle: BinaryIO, members: dict[str, bytes]) -> None:
    """Write ``members`` as an uncompressed zip with aligned member data."""
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as bundle:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.extra = _padding_extra(handle.tell(), name)
            bundle.writestr(info, data)


def _write_atomically(dest: Path, write: Callable[[BinaryIO], object]) -> Path:
    """Write ``dest`` through a temporary file in the same folder, checked as a bundle,
    then renamed in place."""
    with atomic_path(dest, mode=0o644, suffix=".part") as tmp:  # a model is not a secret
        with open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        problem = bundle_problem(tmp)
        if problem is not None:
            raise ModelError(f"the downloaded bundle is not usable ({problem})")
    return dest


def fetch_official(dest: Path, timeout_s: float) -> Path:
    """Source 1: the official bundle, saved to ``dest`` if it validates."""
    data = download_official(OFFICIAL_URL, timeout_s)
    return _write_atomically(dest, lambda handle: handle.write(data))


class _Wheel:
    """The mediapipe wheel, downloaded on first use into a temporary folder, at most once."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._path: Path | None = None

    def path(self) -> Path:
        if self._path is None:
            tmp = self._stack.enter_context(tempfile.TemporaryDirectory(prefix="coach-wheel-"))
            self._path = download_wheel(Path(tmp))
        return self._path

    def __enter__(self) -> _Wheel:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()


def fetch_from_wheel(
    dest: Path, files: tuple[WheelFile, ...] | None = None, wheel: _Wheel | None = None
) -> Path:
    """Source 2: the bundle assembled from the mediapipe wheel's TFLite files."""
    with contextlib.ExitStack() as stack:
        if wheel is None:
            wheel = stack.enter_context(_Wheel())
        return bundle_from_wheel(wheel.path(), dest, files)


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _usable_as_is(dest: Path, what: str, log: Callable[[str], object]) -> bool:
    """True if ``dest`` is a valid bundle to keep; otherwise logs why an existing file
    is replaced (nothing when there is none) and returns False."""
    problem = bundle_problem(dest)
    if problem is None:
        return True
    if problem != "file not found":
        log(f"existing {what} at {dest} is not usable ({problem}); fetching a new one")
    return False


def fetch_model(
    models_dir: str | os.PathLike | None = None,
    official_timeout_s: float = 5.0,
    log: Callable[[str], object] = print,
    wheel: _Wheel | None = None,
) -> Path:
    """Make sure a valid hand model is in ``models_dir`` (default ``<repo>/models``).

    Returns its path. Keeps a valid existing file; otherwise tries the official
    download, then the wheel. Raises :class:`ModelError` naming both sources and why
    each failed.
    """
    dest = model_file(models_dir)
    if _usable_as_is(dest, "hand model", log):
        return dest
    failures: list[str] = []
    log(f"downloading the hand model from {OFFICIAL_URL}")
    try:
        return fetch_official(dest, official_timeout_s)
    except Exception as exc:  # network and validation failures of any kind
        failures.append(f"official download {OFFICIAL_URL} failed: {_reason(exc)}")
    log(f"official download failed; assembling the model from the {WHEEL_REQUIREMENT} wheel")
    try:
        return fetch_from_wheel(dest, wheel=wheel)
    except Exception as exc:
        failures.append(f"{WHEEL_REQUIREMENT} wheel from PyPI failed: {_reason(exc)}")
    raise ModelError("could not fetch the hand model: " + "; ".join(failures))


def fetch_lite_model(
    models_dir: str | os.PathLike | None = None,
    log: Callable[[str], object] = print,
    wheel: _Wheel | None = None,
) -> Path:
    """Make sure a valid lite bundle is in ``models_dir``; built from the wheel (there is
    no official one). Keeps a valid existing file. Raises :class:`ModelError`."""
    dest = model_file(models_dir, "lite")
    if _usable_as_is(dest, "lite hand model", log):
        return dest
    log(f"assembling the lite hand model from the {WHEEL_REQUIREMENT} wheel")
    try:
        return fetch_from_wheel(dest, LITE_WHEEL_FILES, wheel)
    except Exception as exc:
        raise ModelError(
            f"could not build the lite hand model from the {WHEEL_REQUIREMENT} wheel: "
            f"{_reason(exc)}"
        ) from None


def fetch_models(
    models_dir: str | os.PathLike | None = None,
    official_timeout_s: float = 5.0,
    log: Callable[[str], object] = print,
    on_progress: Callable[[float], None] | None = None,
) -> dict[str, Path]:
    """Both variants (see :func:`fetch_model`, :func:`fetch_lite_model`), downloading the
    wheel at most once. Raises :class:`ModelError` if either cannot be had.
    ``on_progress(fraction)`` after each variant (for a progress bar)."""
    with _Wheel() as wheel:
        full = fetch_model(models_dir, official_timeout_s, log, wheel)
        if on_progress is not None:
            on_progress(0.5)
        lite = fetch_lite_model(models_dir, log, wheel)
        if on_progress is not None:
            on_progress(1.0)
        return {"full": full, "lite": lite}
