"""Where Stroke Coach keeps its files: the one module that decides (and the one place
that reads the environment for it).

- **Data** (settings, the progress database ``coach.db``, saved references, uploads in
  flight, the page's sample clip): ``$COACH_DATA_DIR``, else ``$XDG_DATA_HOME/stroke-coach``,
  else the platform's user data folder (platformdirs: ``~/.local/share/stroke-coach`` on
  Linux, ``~/Library/Application Support/stroke-coach`` on macOS, ``%LOCALAPPDATA%``
  on Windows).
- **Models** (the hand-landmarker bundles) and **samples** (generated practice clips):
  in a checkout (the ``coach`` package next to the ``Makefile`` and ``pyproject.toml``:
  ``make setup``, ``make test``) the checkout's ``models/`` and ``samples/`` folders, as
  the Makefile expects. In an installed copy (``pip``/``pipx``/``uv tool install``) the
  user's data folder (``<data>/models``) and cache folder (``<cache>/samples``): never
  site-packages. ``$COACH_MODELS_DIR`` and ``$COACH_SAMPLES_DIR`` override both.

Every function takes an optional ``environ`` mapping (default ``os.environ``) so the
rules are testable without touching the process environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import platformdirs

APP_NAME = "stroke-coach"

#: The platform's user data folder when no variable says otherwise.
DEFAULT_DATA_DIR = platformdirs.user_data_path(APP_NAME, appauthor=False)
#: The platform's user cache folder (regenerable files: sample clips).
DEFAULT_CACHE_DIR = platformdirs.user_cache_path(APP_NAME, appauthor=False)

#: Sub-folder of the data folder holding saved references.
REFERENCES = "references"


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def checkout_root() -> Path | None:
    """The source checkout this package runs from (the folder holding ``coach/``, the
    ``Makefile`` and ``pyproject.toml``), or ``None`` for an installed copy."""
    root = Path(__file__).resolve().parents[2]
    if (root / "Makefile").is_file() and (root / "pyproject.toml").is_file():
        return root
    return None


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``COACH_DATA_DIR``, else ``$XDG_DATA_HOME/stroke-coach``, else :data:`DEFAULT_DATA_DIR`."""
    env = _env(environ)
    if env.get("COACH_DATA_DIR"):
        return Path(env["COACH_DATA_DIR"]).expanduser()
    if env.get("XDG_DATA_HOME"):
        return Path(env["XDG_DATA_HOME"]).expanduser() / APP_NAME
    return DEFAULT_DATA_DIR


def references_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where saved references live: ``<data>/references``."""
    return data_dir(environ) / REFERENCES


def models_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``COACH_MODELS_DIR``, else the checkout's ``models/``, else ``<data>/models``."""
    env = _env(environ)
    if env.get("COACH_MODELS_DIR"):
        return Path(env["COACH_MODELS_DIR"]).expanduser()
    root = checkout_root()
    return root / "models" if root is not None else data_dir(env) / "models"


def samples_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``COACH_SAMPLES_DIR``, else the checkout's ``samples/``, else ``<cache>/samples``."""
    env = _env(environ)
    if env.get("COACH_SAMPLES_DIR"):
        return Path(env["COACH_SAMPLES_DIR"]).expanduser()
    root = checkout_root()
    if root is not None:
        return root / "samples"
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]).expanduser() / APP_NAME / "samples"
    return DEFAULT_CACHE_DIR / "samples"
