"""Stroke Coach: a practice coach for infant massage."""

__version__ = "0.1.0"
