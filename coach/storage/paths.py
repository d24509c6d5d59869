"""Where Stroke Coach keeps its files, and its configuration: the one module that reads
the environment (every other module asks here).

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

- **Settings** from the environment: ``$COACH_DATABASE_URL`` (a shared store),
  ``$COACH_ACCOUNTS`` (sign-in even on loopback), ``$COACH_RELAY_URL`` (the class
  page's relay), ``$COACH_RELAY_REDIS_URL`` (``coach relay``'s Redis), the upload limits
  (:meth:`coach.services.offline.UploadLimits.from_env` reads :func:`environment`).

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


def environment(environ: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """``environ``, or the process environment when None: the one read of it."""
    return os.environ if environ is None else environ


def database_url_override(environ: Mapping[str, str] | None = None) -> str | None:
    """``$COACH_DATABASE_URL`` (a shared store), or None when unset or empty."""
    return environment(environ).get("COACH_DATABASE_URL") or None


def accounts_required(environ: Mapping[str, str] | None = None) -> bool:
    """``$COACH_ACCOUNTS`` asks every visitor to sign in, even on loopback."""
    value = environment(environ).get("COACH_ACCOUNTS", "").strip().lower()
    return value in ("required", "on", "1", "yes", "true")


def relay_url(environ: Mapping[str, str] | None = None) -> str:
    """``$COACH_RELAY_URL``: the class relay the Class page suggests ("" when unset)."""
    return environment(environ).get("COACH_RELAY_URL", "")


def relay_redis_url(environ: Mapping[str, str] | None = None) -> str | None:
    """``$COACH_RELAY_REDIS_URL``: the Redis server ``coach relay`` keeps classes in."""
    return environment(environ).get("COACH_RELAY_REDIS_URL")


def checkout_root() -> Path | None:
    """The source checkout this package runs from (the folder holding ``coach/``, the
    ``Makefile`` and ``pyproject.toml``), or ``None`` for an installed copy."""
    root = Path(__file__).resolve().parents[2]
    if (root / "Makefile").is_file() and (root / "pyproject.toml").is_file():
        return root
    return None


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``COACH_DATA_DIR``, else ``$XDG_DATA_HOME/stroke-coach``, else :data:`DEFAULT_DATA_DIR`."""
    env = environment(environ)
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
    env = environment(environ)
    if env.get("COACH_MODELS_DIR"):
        return Path(env["COACH_MODELS_DIR"]).expanduser()
    root = checkout_root()
    return root / "models" if root is not None else data_dir(env) / "models"


def samples_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``COACH_SAMPLES_DIR``, else the checkout's ``samples/``, else ``<cache>/samples``."""
    env = environment(environ)
    if env.get("COACH_SAMPLES_DIR"):
        return Path(env["COACH_SAMPLES_DIR"]).expanduser()
    root = checkout_root()
    if root is not None:
        return root / "samples"
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]).expanduser() / APP_NAME / "samples"
    return DEFAULT_CACHE_DIR / "samples"
