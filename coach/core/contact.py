"""The point of the hand that touches the baby (strokes.md section 2).

Landmark indices follow MediaPipe's hand model: 0 wrist, 5/9/13/17 the knuckles
(MCP joints) of index/middle/ring/little finger, 8/12/16/20 their fingertips.
"""

from __future__ import annotations

import numpy as np

from coach.core.types import ContactKind

#: MediaPipe landmark indices, written once (strokes.md section 2).
WRIST, INDEX_MCP, MIDDLE_MCP, RING_MCP, PINKY_MCP = 0, 5, 9, 13, 17
FINGERTIP_LANDMARKS = (8, 12, 16, 20)
PALM_LANDMARKS = (WRIST, INDEX_MCP, MIDDLE_MCP, RING_MCP, PINKY_MCP)
#: (MCP, tip) of index .. little finger.
FINGERS = tuple(zip(PALM_LANDMARKS[1:], FINGERTIP_LANDMARKS, strict=True))

#: Landmarks averaged for each contact kind.
CONTACT_LANDMARKS: dict[str, tuple[int, ...]] = {
    "fingertips": FINGERTIP_LANDMARKS,
    "palm": PALM_LANDMARKS,
}


def contact_point(landmarks: np.ndarray, kind: ContactKind) -> np.ndarray:
    """Contact point(s) of hand landmarks.

    ``landmarks`` has shape (..., 21, 3) (or (..., 21, 2)): x, y normalised image
    coordinates (x right, y down) and optionally z. Returns shape (..., 2): the x, y
    mean of the landmarks named for ``kind`` ("fingertips" or "palm").
    """
    if kind not in CONTACT_LANDMARKS:
        raise ValueError(
            f"contact_point: expected kind one of {sorted(CONTACT_LANDMARKS)}, found {kind!r}"
        )
    arr = np.asarray(landmarks, dtype=np.float64)
    if arr.ndim < 2 or arr.shape[-2] != 21 or arr.shape[-1] not in (2, 3):
        raise ValueError(
            f"contact_point: expected landmarks of shape (..., 21, 3), found {arr.shape}"
        )
    return arr[..., CONTACT_LANDMARKS[kind], :2].mean(axis=-2)
