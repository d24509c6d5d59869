"""MediaPipe's hand-landmark network run directly with LiteRT (the only module that
imports ai_edge_litert).

:class:`LandmarkModel` takes an RGB frame and a :class:`coach.vision.hand_roi.Roi`, crops
and rotates the box to the network's square input, runs the network on the
calling thread and returns the 21 landmarks in image pixels with the hand's
presence and handedness scores. It reads the network from a hand-landmarker
bundle (``hand_landmarks_detector.tflite`` inside the ``.task`` zip), so it needs
no file of its own.

Why: MediaPipe's task hands each frame to its own graph threads and waits for
them several times a frame; with a browser on the same two cores every hand-off
can wait for a core. This runs the same network without hand-offs.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from ai_edge_litert.interpreter import Interpreter

from coach.vision.hand_roi import Roi, crop_matrix, landmarks_to_image
from coach.vision.models import LANDMARKS_MEMBER, ModelError
from coach.vision.quiet import quiet_native_stderr

N_LANDMARKS = 21
#: MediaPipe divides the network's depth by this as well as by the input size.
DEPTH_SCALE = 0.4


@dataclass(frozen=True)
class LandmarkResult:
    """One hand from the landmark network.

    ``points_px`` (21, 3): x, y in image pixels, z relative depth in pixels (as
    MediaPipe's, smaller is nearer the camera). ``presence``: probability that
    the box holds a hand. ``right_hand``: probability that it is a right hand
    (as MediaPipe labels hands: for a selfie view it is the person's left).
    """

    points_px: np.ndarray
    presence: float
    right_hand: float


def read_landmark_network(bundle_path: str | os.PathLike) -> bytes:
    """The landmark network's bytes from a hand-landmarker ``.task`` bundle."""
    path = Path(bundle_path)
    try:
        with zipfile.ZipFile(path) as bundle:
            return bundle.read(LANDMARKS_MEMBER)
    except FileNotFoundError:
        raise ModelError(f"hand model {path} not found") from None
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise ModelError(
            f"hand model {path}: expected a .task bundle holding {LANDMARKS_MEMBER}, "
            f"found {type(exc).__name__}: {exc}"
        ) from None


class LandmarkModel:
    """The hand-landmark network on one thread of the caller (not thread-safe)."""

    def __init__(self, bundle_path: str | os.PathLike, num_threads: int = 1) -> None:
        if not isinstance(num_threads, int) or num_threads < 1:
            raise ValueError(f"num_threads: expected an integer >= 1, found {num_threads!r}")
        content = read_landmark_network(bundle_path)
        try:
            with quiet_native_stderr():  # LiteRT announces its XNNPACK delegate on fd 2
                self._net = Interpreter(model_content=content, num_threads=num_threads)
                self._net.allocate_tensors()
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"cannot load the landmark network of {bundle_path}: {exc}") from None
        inp = self._net.get_input_details()
        if len(inp) != 1 or tuple(inp[0]["shape"][[0, 3]]) != (1, 3):
            raise ModelError(
                f"landmark network of {bundle_path}: expected one (1, N, N, 3) input, "
                f"found {[tuple(i['shape']) for i in inp]}"
            )
        self.input_size_px = int(inp[0]["shape"][1])
        self._input_index = inp[0]["index"]
        # Outputs in name order (Identity, Identity_1, ...): 63 screen landmarks,
        # presence, handedness, 63 world landmarks.
        outs = sorted(self._net.get_output_details(), key=lambda o: o["name"])
        big = [o["index"] for o in outs if int(np.prod(o["shape"])) == 3 * N_LANDMARKS]
        small = [o["index"] for o in outs if int(np.prod(o["shape"])) == 1]
        if len(big) != 2 or len(small) != 2:
            raise ModelError(
                f"landmark network of {bundle_path}: expected outputs of 63, 1, 1 and 63 "
                f"values, found {[int(np.prod(o['shape'])) for o in outs]}"
            )
        self._landmarks_index, self._presence_index, self._handedness_index = (
            big[0],
            small[0],
            small[1],
        )
        self._input = np.zeros((1, self.input_size_px, self.input_size_px, 3), np.float32)

    def run(self, image: np.ndarray, roi: Roi) -> LandmarkResult:
        """The landmarks of the hand in ``roi`` of the RGB uint8 ``image``."""
        n = self.input_size_px
        crop = cv2.warpAffine(
            image, crop_matrix(roi, n), (n, n), flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0),
        )  # fmt: skip
        np.multiply(crop, np.float32(1.0 / 255.0), out=self._input[0], casting="unsafe")
        self._net.set_tensor(self._input_index, self._input)
        self._net.invoke()
        raw = self._net.get_tensor(self._landmarks_index).reshape(N_LANDMARKS, 3)
        presence = float(self._net.get_tensor(self._presence_index).reshape(-1)[0])
        right = float(self._net.get_tensor(self._handedness_index).reshape(-1)[0])
        points = landmarks_to_image(raw, roi, n)
        points[:, 2] /= DEPTH_SCALE
        return LandmarkResult(points, presence, right)
