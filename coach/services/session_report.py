"""A stored session as the one-file HTML report: the stroke it was scored against (its
custom reference when there is one), rendered by :mod:`coach.render.html_report`, and
written atomically for the instructor (``coach sessions export``, the Progress page)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from coach.core.strokes import StrokeDefinition, StrokeError, builtin_ids, load_stroke
from coach.references.library import load_reference
from coach.render.html_report import DEFAULT_TITLE, report_file_name, session_html
from coach.storage.atomic import write_text_atomic
from coach.storage.store import Store


def stroke_for_report(
    report: Mapping[str, Any], refs_dir: str | os.PathLike | None = None
) -> StrokeDefinition:
    """The stroke a stored session was scored against: its custom reference when one is
    named and saved in ``refs_dir``, else the built-in stroke. Raises StrokeError."""
    stroke_id = str(report.get("stroke"))
    reference = (report.get("session") or {}).get("reference")
    names = [n for n in (reference, stroke_id) if isinstance(n, str) and n]
    if refs_dir is not None:
        for name in names:
            if name in builtin_ids() or "/" in name or "\\" in name or name.endswith(".json"):
                continue  # built-in, or would be read as a file path
            try:
                return load_reference(name, refs_dir).stroke
            except StrokeError:
                continue
    if stroke_id in builtin_ids():
        return load_stroke(stroke_id)
    where = f" or a reference saved in {refs_dir}" if refs_dir is not None else ""
    raise StrokeError(
        f"session stroke {stroke_id!r} (reference {reference!r}): expected a built-in "
        f"stroke ({', '.join(builtin_ids())}){where}, found neither"
    )


def session_report_html(
    store: Store,
    session_id: int,
    *,
    stroke: StrokeDefinition | None = None,
    refs_dir: str | os.PathLike | None = None,
    title: str = DEFAULT_TITLE,
) -> tuple[str, str]:
    """(HTML, suggested file name) of a stored session. Raises StoreError / StrokeError."""
    report = store.session_report(session_id)
    html_text = session_html(report, stroke or stroke_for_report(report, refs_dir), title=title)
    return html_text, report_file_name(report)


def export_session_html(
    store: Store,
    session_id: int,
    dest_path: str | os.PathLike,
    *,
    stroke: StrokeDefinition | None = None,
    refs_dir: str | os.PathLike | None = None,
    title: str = DEFAULT_TITLE,
    overwrite: bool = False,
) -> Path:
    """Write a stored session's report to ``dest_path`` (a file, or a folder to put
    :func:`report_file_name` in), atomically. An existing file is replaced only with
    ``overwrite`` (else ``FileExistsError``). Returns the path written."""
    text, name = session_report_html(
        store, session_id, stroke=stroke, refs_dir=refs_dir, title=title
    )
    dest = Path(dest_path)
    if dest.is_dir():
        dest = dest / name
    return write_text_atomic(text, dest, overwrite=overwrite)
