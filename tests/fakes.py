"""A stand-in hand landmarker for tests (it satisfies coach.core.types.HandLandmarkerLike):
it answers from a script, keyed by frame index, and records what it was asked."""

from __future__ import annotations

from collections.abc import Callable

from coach.core.types import Frame, HandLandmarkerLike, HandObservation


class ScriptedLandmarker:
    """``detect(frame)`` returns ``script(frame)`` (default: no hand); ``seen`` holds the
    indices of the frames it was given, ``resets`` and ``closed`` what else happened."""

    def __init__(self, script: Callable[[Frame], HandObservation | None] | None = None) -> None:
        self.script = script or (lambda frame: None)
        self.seen: list[int] = []
        self.resets = 0
        self.closed = False

    def detect(self, frame: Frame) -> HandObservation | None:
        self.seen.append(frame.index)
        return self.script(frame)

    def reset(self) -> None:
        self.resets += 1

    def close(self) -> None:
        self.closed = True


def _satisfies_the_protocol(lm: ScriptedLandmarker) -> HandLandmarkerLike:
    return lm  # a type checker reports it here if the fake drifts from the protocol
