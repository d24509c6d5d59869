"""The live page's settings remembered between visits (:class:`LiveSettings`), one
JSON file in a folder the caller names, written atomically."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from coach.core.bodyframe import HEAD_DIRECTIONS, BodyFrame, HeadDirection
from coach.storage.atomic import write_json_atomic

SETTINGS_SCHEMA = "coach.live-settings/1"
SETTINGS_FILE = "live-settings.json"


# =================================================================================================
# Settings remembered between visits
# =================================================================================================


@dataclass(frozen=True)
class LiveSettings:
    stroke_id: str = "i-love-you"
    mirror_preview: bool = True
    camera_mirrored: bool = False
    spoken_hints: bool = False
    safety_seen: bool = False
    body_frame: dict | None = None  # BodyFrame.to_dict() of the last calibration
    box: tuple[float, float, float, float] | None = None  # last dragged box, display coordinates
    head: HeadDirection = "up"  # last head direction, display coordinates

    def calibration(self) -> BodyFrame | None:
        if self.body_frame is None:
            return None
        try:
            return BodyFrame.from_dict(self.body_frame)
        except ValueError:
            return None


def settings_path(data_dir: str | os.PathLike) -> Path:
    return Path(data_dir) / SETTINGS_FILE


def load_settings(data_dir: str | os.PathLike) -> LiveSettings:
    """The saved settings, or defaults when there are none or the file is unreadable."""
    path = settings_path(data_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return LiveSettings()
    if not isinstance(data, dict) or data.get("schema") != SETTINGS_SCHEMA:
        return LiveSettings()
    known = {f for f in LiveSettings.__dataclass_fields__}
    values = {k: v for k, v in data.items() if k in known}
    if values.get("box") is not None:
        values["box"] = tuple(float(v) for v in values["box"])
    if values.get("head") not in HEAD_DIRECTIONS:
        values.pop("head", None)
    try:
        return LiveSettings(**values)
    except TypeError:
        return LiveSettings()


def save_settings(data_dir: str | os.PathLike, settings: LiveSettings) -> Path:
    """Write the settings atomically (a temporary file renamed over the old one)."""
    path = settings_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"schema": SETTINGS_SCHEMA, **asdict(settings)}
    return write_json_atomic(path, data, mode=None, newline=False)  # private: 0600


def with_updates(settings: LiveSettings, **changes) -> LiveSettings:
    """``dataclasses.replace`` for settings (kept here so the page needs one import)."""
    return replace(settings, **changes)
