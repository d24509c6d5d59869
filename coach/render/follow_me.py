"""The class page's "follow me" overlay: the instructor's recent path (a
:class:`~coach.core.types.Guide`) drawn over the parent's doll."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from coach.core.types import Guide
from coach.render import draw as overlay


@dataclass(frozen=True)
class FollowStyle:
    """Looks of the follow-me overlay; sizes are fractions of the image height."""

    colour: overlay.RGB = overlay.BLUISH_GREEN  # not used by the parent's own overlay
    outline: overlay.RGB = overlay.WHITE  # a light outline tells it apart from the own trace
    width: float = 1 / 90
    marker_radius: float = 1 / 28
    window_s: float = 3.0  # instructor seconds of path shown
    gap_s: float = 0.5  # a longer gap between points is a lift: not joined
    hide_after_s: float = 3.0  # instructor silent this long (wall): nothing drawn
    marker_fresh_s: float = 1.0  # the "follow me" marker only while points keep coming


def draw_follow_me(
    image: np.ndarray,
    guide: Guide,
    body_frame,
    mirror: bool = False,
    style: FollowStyle | None = None,
) -> np.ndarray:
    """A new image with the instructor's recent path drawn over the parent's doll.

    ``guide.points`` are in the body frame; ``body_frame`` is the parent's (it maps
    them onto the parent's tummy box); ``mirror`` as in :func:`coach.render.draw.draw`
    (``image`` is already shown mirrored). The input image is not modified.
    """
    style = style or FollowStyle()
    out = image.copy()
    pts = guide.points
    if body_frame is None or len(pts) == 0 or guide.idle_s > style.hide_after_s:
        return out
    pts = pts[pts[:, 0] >= pts[-1, 0] - style.window_s]
    h, w = out.shape[:2]
    proj = overlay.Projector(w, h, mirror)
    px = np.rint(proj.px(body_frame.to_xy(pts[:, 1:3]))).astype(np.int32)
    width = max(2, round(h * style.width))
    breaks = np.flatnonzero(np.diff(pts[:, 0]) > style.gap_s) + 1
    runs = [r.reshape(-1, 1, 2) for r in np.split(px, breaks) if len(r) >= 2]
    if runs:
        cv2.polylines(out, runs, False, style.outline, width + 3, cv2.LINE_AA)
        cv2.polylines(out, runs, False, style.colour, width, cv2.LINE_AA)
    if guide.idle_s <= style.marker_fresh_s:
        c = (int(px[-1][0]), int(px[-1][1]))
        r = max(5, round(h * style.marker_radius))
        cv2.circle(out, c, r + 2, style.outline, -1, cv2.LINE_AA)
        cv2.circle(out, c, r, style.colour, -1, cv2.LINE_AA)
        scale = max(0.4, h / 700)
        org = (c[0] + r + 4, c[1] + r // 2)
        font = cv2.FONT_HERSHEY_SIMPLEX
        cv2.putText(out, "follow", org, font, scale, overlay.BLACK, 4, cv2.LINE_AA)
        cv2.putText(out, "follow", org, font, scale, style.colour, 2, cv2.LINE_AA)
    return out
