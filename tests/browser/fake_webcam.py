"""Fake-webcam clips for Chromium (``--use-file-for-fake-video-capture``).

Chromium loops a ``.y4m`` file (4:2:0) at the rate in its header. Every frame
carries a barcode in its bottom-left corner: ``BARCODE_BITS`` black/white blocks,
most significant bit first, encoding the frame index. The end-to-end latency
probe reads the barcode on the page, both from the raw camera and from the
annotated frame the server sends back.

Run as a script: ``python tests/browser/fake_webcam.py OUT.y4m [--kind synth|plain]``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

BARCODE_BITS = 12
BLOCK_PX = 16  # block side, pixels; large enough to survive VP8 at low bitrate
BARCODE_MARGIN_PX = 4


def stamp_barcode(image_rgb: np.ndarray, index: int) -> np.ndarray:
    """Return a copy of ``image_rgb`` with ``index`` (mod 2**BARCODE_BITS) as a barcode.

    The strip is a white frame around the blocks so the first/last bit edges stay crisp.
    """
    out = image_rgb.copy()
    h = out.shape[0]
    y1 = h - BARCODE_MARGIN_PX
    y0 = y1 - BLOCK_PX
    x0 = BARCODE_MARGIN_PX
    out[y0 - 2 : y1 + 2, x0 - 2 : x0 + BARCODE_BITS * BLOCK_PX + 2] = 128
    value = index % (1 << BARCODE_BITS)
    for bit in range(BARCODE_BITS):
        on = (value >> (BARCODE_BITS - 1 - bit)) & 1
        xa = x0 + bit * BLOCK_PX
        out[y0:y1, xa : xa + BLOCK_PX] = 255 if on else 0
    return out


def read_barcode(image_rgb: np.ndarray) -> int:
    """Inverse of :func:`stamp_barcode` (block centres thresholded at mid grey)."""
    h = image_rgb.shape[0]
    yc = h - BARCODE_MARGIN_PX - BLOCK_PX // 2
    value = 0
    for bit in range(BARCODE_BITS):
        xc = BARCODE_MARGIN_PX + bit * BLOCK_PX + BLOCK_PX // 2
        lum = float(np.mean(image_rgb[yc - 3 : yc + 4, xc - 3 : xc + 4]))
        value = (value << 1) | int(lum > 128)
    return value


def write_y4m(path: Path, frames: Iterable[np.ndarray], fps: int) -> int:
    """Write RGB uint8 frames (all the same even size) as a 4:2:0 ``.y4m``; return the count."""
    n = 0
    with open(path, "wb") as fh:
        for rgb in frames:
            h, w = rgb.shape[:2]
            if n == 0:
                if w % 2 or h % 2:
                    raise ValueError(f"y4m 4:2:0 needs an even frame size, found {w}x{h}")
                fh.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
            fh.write(b"FRAME\n")
            fh.write(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YUV_I420).tobytes())
            n += 1
    if n == 0:
        raise ValueError("write_y4m: expected at least one frame, found none")
    return n


def plain_frames(n: int, size: tuple[int, int] = (640, 480)) -> Iterator[np.ndarray]:
    """A grey scene with a moving orange disc: enough to prove frames flow."""
    w, h = size
    for i in range(n):
        img = np.full((h, w, 3), 90, np.uint8)
        t = i / max(n - 1, 1)
        cx = int(w * (0.2 + 0.6 * t))
        cv2.circle(img, (cx, h // 2), 40, (230, 140, 40), -1)
        yield img


def make_clip(
    path: Path, kind: str = "synth", fps: int = 30, size=(640, 480), repetitions: int = 2
):
    """Write the fake-webcam clip with barcodes.

    ``kind="plain"``: a moving disc, returns None. ``kind="synth"``: the synthetic hand
    doing I Love You (``coach.samples.synth``), returns its :class:`coach.samples.synth.SampleTruth`
    (where the tummy box is, what a correct session looks like).
    """
    if kind == "plain":
        write_y4m(
            path, (stamp_barcode(f, i) for i, f in enumerate(plain_frames(fps * 4, size))), fps
        )
        return None
    from coach.samples.synth import Sample

    sample = Sample("i-love-you", repetitions=repetitions, size=size, fps=float(fps))
    frames = (stamp_barcode(img, i) for i, (img, _t) in enumerate(sample.frames()))
    write_y4m(path, frames, fps)
    return sample.truth


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--kind", choices=("synth", "plain"), default="synth")
    ap.add_argument("--fps", type=int, default=30)
    args = ap.parse_args(argv)
    truth = make_clip(args.out, args.kind, args.fps)
    print(f"{args.out}: written" + (f", tummy box {truth.tummy_box}" if truth else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
