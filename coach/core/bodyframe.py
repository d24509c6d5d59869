"""Body frame: maps normalised image points to tummy-box coordinates ``(u, v)`` and back.

Conventions (strokes.md section 1): ``u`` runs from the baby's right flank (0)
to its left flank (1), ``v`` from the lower rib margin (0) to the hip creases
(1). Seen head-up and not mirrored, ``u`` grows with image x and ``v`` with
image y. The mapping is an affine map: a rotation (head direction), a scale
(box size) and, for a mirrored picture, a reflection. Everything in the body
frame is true geometry, so direction verdicts do not depend on the camera.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

HeadDirection = Literal["up", "down", "left", "right"]
HEAD_DIRECTIONS: tuple[HeadDirection, ...] = ("up", "down", "left", "right")
#: The tummy box assumed when none is given: the middle of the picture (x0, y0, x1, y1).
DEFAULT_TUMMY_BOX: tuple[float, float, float, float] = (0.3, 0.3, 0.7, 0.7)

# Unit vector pointing to the baby's head in true (unmirrored) image coordinates, y down.
_HEAD_VECTORS = {"up": (0.0, -1.0), "down": (0.0, 1.0), "left": (-1.0, 0.0), "right": (1.0, 0.0)}


@dataclass(frozen=True)
class BodyFrame:
    """``uv = matrix @ (xy - origin_xy) + 0.5`` with ``xy`` normalised image coordinates.

    Build it with :meth:`from_box` (command-line calibration) or :meth:`from_pose`
    (hand-on-tummy calibration); do not fill the fields by hand.
    """

    matrix: np.ndarray  # (2, 2)
    origin_xy: np.ndarray  # (2,) the tummy centre in normalised image coordinates
    mirrored: bool = False
    box_width_px: float = float("nan")  # tummy box width (u extent) in pixels, when known

    def __post_init__(self) -> None:
        m = np.array(self.matrix, dtype=np.float64)
        o = np.array(self.origin_xy, dtype=np.float64)
        if m.shape != (2, 2) or o.shape != (2,):
            raise ValueError(
                f"BodyFrame: expected a (2, 2) matrix and (2,) origin, found {m.shape}, {o.shape}"
            )
        det = float(np.linalg.det(m))
        if not np.all(np.isfinite(m)) or abs(det) < 1e-12:
            raise ValueError(
                f"BodyFrame: the mapping must be finite and invertible, found matrix {m.tolist()}"
            )
        inv = np.linalg.inv(m)
        for arr in (m, o, inv):
            arr.setflags(write=False)
        object.__setattr__(self, "matrix", m)
        object.__setattr__(self, "origin_xy", o)
        object.__setattr__(self, "_inverse", inv)

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def from_box(
        cls,
        box: tuple[float, float, float, float],
        head: HeadDirection = "up",
        mirrored: bool = False,
        image_size: tuple[int, int] | None = None,
    ) -> BodyFrame:
        """From an axis-aligned tummy box ``(x0, y0, x1, y1)`` in normalised coordinates
        of the frame as stored, where the head is in that frame, and whether the frame is
        mirrored. ``image_size`` (width, height) only fills ``box_width_px``."""
        x0, y0, x1, y1 = (float(c) for c in box)
        if not all(math.isfinite(c) for c in (x0, y0, x1, y1)):
            raise ValueError(f"tummy box: expected four finite numbers, found {box}")
        if not (x1 > x0 and y1 > y0):
            raise ValueError(f"tummy box: expected x0 < x1 and y0 < y1, found {x0},{y0},{x1},{y1}")
        if head not in _HEAD_VECTORS:
            raise ValueError(f"head: expected one of {', '.join(HEAD_DIRECTIONS)}, found {head!r}")
        if mirrored:
            # Work in the true (unmirrored) picture: flip the box and a sideways head.
            x0, x1 = 1.0 - x1, 1.0 - x0
            head = {"left": "right", "right": "left"}.get(head, head)  # type: ignore[assignment]
        hx, hy = _HEAD_VECTORS[head]
        e_u = np.array([-hy, hx])  # head direction turned 90 degrees clockwise on screen
        e_v = -np.array([hx, hy])  # towards the feet
        width, height = x1 - x0, y1 - y0
        u_extent = width if e_u[0] != 0 else height
        v_extent = width if e_v[0] != 0 else height
        rows = np.stack([e_u / u_extent, e_v / v_extent])
        centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
        box_px = float("nan")
        if image_size is not None:
            box_px = u_extent * (image_size[0] if e_u[0] != 0 else image_size[1])
        return cls._with_mirror(rows, centre, mirrored, box_px)

    @classmethod
    def from_pose(
        cls,
        centre_xy: tuple[float, float],
        head_angle_rad: float,
        width_px: float,
        height_px: float,
        image_size: tuple[int, int],
        mirrored: bool = False,
    ) -> BodyFrame:
        """From a tummy centre (normalised, frame as stored), the head direction as an
        angle in the true picture (0 = head up, positive = turned clockwise on screen),
        and the tummy size in pixels (``width_px`` along u, ``height_px`` along v)."""
        if width_px <= 0 or height_px <= 0:
            raise ValueError(
                f"tummy size: expected positive pixels, found {width_px} x {height_px}"
            )
        w, h = image_size
        cx, cy = float(centre_xy[0]), float(centre_xy[1])
        if mirrored:
            cx = 1.0 - cx
        # Head vector in pixel space, then rows of the map in pixel space.
        head = np.array([math.sin(head_angle_rad), -math.cos(head_angle_rad)])
        e_u = np.array([-head[1], head[0]])
        e_v = -head
        px = np.diag([w, h])  # normalised -> pixels
        rows = np.stack([e_u / width_px, e_v / height_px]) @ px
        return cls._with_mirror(rows, np.array([cx, cy]), mirrored, float(width_px))

    @classmethod
    def _with_mirror(
        cls, rows: np.ndarray, centre_true: np.ndarray, mirrored: bool, box_px: float
    ) -> BodyFrame:
        """Compose the true-picture map with the reflection x -> 1 - x when mirrored."""
        if not mirrored:
            return cls(rows, centre_true, False, box_px)
        flip = np.diag([-1.0, 1.0])
        origin = np.array([1.0 - centre_true[0], centre_true[1]])
        return cls(rows @ flip, origin, True, box_px)

    # -- mapping ----------------------------------------------------------------------------

    def to_uv(self, xy: np.ndarray) -> np.ndarray:
        """Normalised image points (..., 2) -> body frame (..., 2)."""
        p = np.asarray(xy, dtype=np.float64)
        return (p - self.origin_xy) @ self.matrix.T + 0.5

    def to_xy(self, uv: np.ndarray) -> np.ndarray:
        """Body frame points (..., 2) -> normalised image points (..., 2)."""
        q = np.asarray(uv, dtype=np.float64)
        return (q - 0.5) @ self._inverse.T + self.origin_xy  # type: ignore[attr-defined]

    def head_vector_xy(self) -> np.ndarray:
        """Unit vector towards the head in normalised image coordinates (for drawing)."""
        d = self.to_xy(np.array([0.5, 0.0])) - self.to_xy(np.array([0.5, 0.5]))
        return d / float(np.linalg.norm(d))

    def box_corners_xy(self) -> np.ndarray:
        """The tummy box corners (u, v) = (0,0), (1,0), (1,1), (0,1) in the image, shape (4, 2)."""
        return self.to_xy(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]))

    def to_dict(self) -> dict:
        return {
            "matrix": self.matrix.tolist(),
            "origin_xy": self.origin_xy.tolist(),
            "mirrored": self.mirrored,
            "box_width_px": None if math.isnan(self.box_width_px) else self.box_width_px,
        }

    @classmethod
    def from_dict(cls, data: dict) -> BodyFrame:
        try:
            bw = data.get("box_width_px")
            return cls(
                np.array(data["matrix"], dtype=float),
                np.array(data["origin_xy"], dtype=float),
                bool(data.get("mirrored", False)),
                float("nan") if bw is None else float(bw),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"body frame: expected matrix, origin_xy and mirrored, found {data!r}"
            ) from exc


def parse_box(text: str) -> tuple[float, float, float, float]:
    """Parse ``X0,Y0,X1,Y1`` (normalised 0..1) with a message that says what was wrong."""
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 4:
        raise ValueError(f"--tummy: expected four numbers X0,Y0,X1,Y1, found {text!r}")
    try:
        vals = tuple(float(p) for p in parts)
    except ValueError:
        raise ValueError(f"--tummy: expected four numbers X0,Y0,X1,Y1, found {text!r}") from None
    if not all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in vals):
        raise ValueError(f"--tummy: expected numbers between 0 and 1, found {text!r}")
    x0, y0, x1, y1 = vals
    if not (x1 > x0 and y1 > y0):
        raise ValueError(f"--tummy: expected X0 < X1 and Y0 < Y1, found {text!r}")
    return vals  # type: ignore[return-value]
