"""The core pipeline: records, body frame, strokes, contact, smoothing, matcher, offset,
scoring, hints and the per-frame ``Coach``. numpy and numba only: no SDK, no file, UI or
environment reading."""
