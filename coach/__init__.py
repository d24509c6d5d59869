"""Stroke Coach: a practice coach for infant massage."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("stroke-coach")  # written once, in pyproject.toml
except PackageNotFoundError:  # sources on sys.path without an install
    __version__ = "unknown (not installed: pip install -e .)"
