"""Keeping practice sessions: a live session written as it happens
(:class:`SessionRecorder`), a scored video in one go (:func:`save_upload`). Store
errors never break the page: they come back as one sentence to show."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from coach.core.types import RepetitionScore
from coach.render.report import session_summary
from coach.storage.store import Store, StoreError, session_detail


class SessionRecorder:
    """Saves one live session as it happens.

    The stored session is opened on the first scored repetition (a start and stop with
    nothing scored leaves no trace), each repetition is written as soon as it is scored
    (committed at once: a crash loses at most the repetition in progress) and
    :meth:`finish` closes it with the summary, hints and tracking figures. Store errors
    never break the page: the first is kept in :attr:`error` and recording stops.
    """

    def __init__(
        self,
        store: Store,
        profile: str,
        stroke_id: str,
        reference: str,
        source: str = "live",
        started_at: datetime | None = None,
    ) -> None:
        self.store = store
        self.profile = profile
        self.stroke_id = stroke_id
        self.reference = reference
        self.source = source
        self.started_at = started_at or datetime.now(UTC)
        self.session_id: int | None = None
        self.error: str | None = None
        self.finished = False
        self._written: set[int] = set()

    def add(self, repetitions: Iterable[RepetitionScore]) -> int:
        """Write the repetitions not written yet (by index); returns how many were written."""
        new = [r for r in repetitions if r.index not in self._written]
        if not new or self.error is not None or self.finished:
            return 0
        try:
            if self.session_id is None:
                self.session_id = self.store.start_session(
                    self.profile, self.stroke_id, self.reference, self.source, self.started_at
                )
            for rep in new:
                self.store.add_repetition(self.session_id, rep)
                self._written.add(rep.index)
        except (StoreError, ValueError) as exc:
            self.error = f"The session could not be saved: {exc}"
            return 0
        return len(new)

    def finish(self, session: Any = None) -> int | None:
        """Close the stored session with the final :class:`coach.core.pipeline.SessionResult`
        (its late repetitions and hints are written first). Returns the session id, or
        None when nothing was scored or saving failed."""
        if self.finished:
            return self.session_id
        if session is not None:
            self.add(session.repetitions)
        self.finished = True
        if self.session_id is None or self.error is not None:
            return None
        try:
            summary = None
            detail = None
            if session is not None:
                for hint in session.hints:
                    self.store.add_hint(self.session_id, hint)
                summary = session_summary(session)
                detail = session_detail(session)
            self.store.finish_session(self.session_id, summary, detail=detail)
        except (StoreError, ValueError) as exc:
            self.error = f"The session could not be closed: {exc}"
            return None
        return self.session_id


def save_upload(
    store: Store, profile: str, session: Any, reference: str
) -> tuple[int | None, str | None]:
    """Save a scored video in one transaction: (session id, None) or (None, error text)."""
    try:
        return store.save_session(profile, session, "upload", reference), None
    except (StoreError, ValueError) as exc:
        return None, f"The session could not be saved: {exc}"
