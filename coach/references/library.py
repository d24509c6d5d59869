"""The library of saved references: one file ``<id>.json`` each in a folder the caller
chooses (``refs_dir``; :func:`default_references_dir` is the data folder's), saved,
listed, loaded, exported and imported. Writing is atomic (temporary file, then rename),
so a failed import or save leaves the folder as it was. :func:`resolve_stroke` turns a
name (built-in, file or saved reference) into the stroke to score against.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from coach.core.strokes import MAX_FILE_BYTES as STROKE_MAX_FILE_BYTES
from coach.core.strokes import (
    StrokeDefinition,
    StrokeError,
    builtin_ids,
    load_stroke,
    stroke_from_dict,
    stroke_to_dict,
)
from coach.references.format import (
    MAX_FILE_BYTES,
    Reference,
    ReferenceFileError,
    read_reference_file,
    read_reference_json,
    reference_from_dict,
    reference_json,
    slugify,
)
from coach.storage import paths
from coach.storage.atomic import write_text_atomic
from coach.storage.shared_files import read_json_file


def reference_path(ref_id: str, refs_dir: str | os.PathLike) -> Path:
    """Where the reference with id ``ref_id`` is saved in ``refs_dir``."""
    return Path(refs_dir) / f"{ref_id}.json"


def save_reference(ref: Reference, refs_dir: str | os.PathLike, overwrite: bool = False) -> Path:
    """Save ``ref`` as ``<refs_dir>/<id>.json`` (validated first; atomic). Raises
    :class:`ReferenceFileError` when a reference with that id is already saved and
    ``overwrite`` is false, or the folder cannot be written."""
    text = reference_json(ref)  # validates; nothing is touched if this fails
    folder = Path(refs_dir)
    dest = reference_path(ref.id, folder)
    if dest.exists() and not overwrite:
        raise already_saved_error(ref.id, dest)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(text, dest, overwrite, mode=0o644)  # meant to be read and shared
    except FileExistsError:
        raise already_saved_error(ref.id, dest) from None
    except OSError as exc:
        raise ReferenceFileError(
            f"{dest}: cannot save the reference ({exc.strerror or exc})"
        ) from None
    return dest


def already_saved_error(ref_id: str, dest: Path) -> ReferenceFileError:
    return ReferenceFileError(
        f"a reference named {ref_id!r} is already saved ({dest}); "
        "pass overwrite (--overwrite) to replace it, or choose another name"
    )


def _looks_like_path(name_or_path: str | os.PathLike) -> bool:
    if isinstance(name_or_path, os.PathLike):
        return True
    text = str(name_or_path)
    return "/" in text or os.sep in text or text.endswith(".json")


def saved_ids(refs_dir: str | os.PathLike) -> list[str]:
    """Ids of the reference files in ``refs_dir`` (valid or not), sorted."""
    folder = Path(refs_dir)
    if not folder.is_dir():
        return []
    return sorted(
        p.stem for p in folder.glob("*.json") if not p.name.startswith(".") and p.is_file()
    )


def load_reference(name_or_path: str | os.PathLike, refs_dir: str | os.PathLike) -> Reference:
    """A saved reference by name or id (looked up in ``refs_dir``), or a reference file by
    path (anything with a path separator or ending in ``.json``)."""
    if _looks_like_path(name_or_path):
        return read_reference_file(name_or_path)
    ref_id = slugify(str(name_or_path))
    path = reference_path(ref_id, refs_dir) if ref_id else None
    if path is None or not path.is_file():
        saved = ", ".join(saved_ids(refs_dir)) or "none"
        raise ReferenceFileError(
            f"no saved reference named {str(name_or_path)!r} in {refs_dir} (saved: {saved})"
        )
    ref = read_reference_file(path)
    if ref.id != path.stem:
        raise ReferenceFileError(
            f"{path}: stroke.id: expected {path.stem!r} (the file name), found {ref.id!r}"
        )
    return ref


def scan_references(refs_dir: str | os.PathLike) -> tuple[list[Reference], list[str]]:
    """Every valid reference in ``refs_dir`` (sorted by id) and a message per broken file."""
    refs, problems = [], []
    for ref_id in saved_ids(refs_dir):
        try:
            refs.append(load_reference(ref_id, refs_dir))
        except StrokeError as exc:
            problems.append(str(exc))
        except (OSError, ValueError, TypeError, RecursionError) as exc:  # never break a page
            problems.append(f"{reference_path(ref_id, refs_dir)}: cannot read it ({exc})")
    return refs, problems


def list_references(refs_dir: str | os.PathLike) -> list[Reference]:
    """The valid references saved in ``refs_dir``, sorted by id (broken files are skipped)."""
    return scan_references(refs_dir)[0]


def export_reference(
    name: str, refs_dir: str | os.PathLike, dest: str | os.PathLike, overwrite: bool = False
) -> Path:
    """Write the saved reference ``name`` to the file ``dest`` (validated, canonical JSON,
    atomic; an existing ``dest`` is replaced only with ``overwrite``)."""
    ref = load_reference(name, refs_dir)
    text = reference_json(ref)
    out = Path(dest)
    if out.is_dir():
        out = out / f"{ref.id}.json"
    if out.exists() and not overwrite:
        raise ReferenceFileError(
            f"{out}: already exists; pass overwrite (--overwrite) to replace it"
        )
    try:
        write_text_atomic(text, out, overwrite, mode=0o644)
    except FileExistsError:
        raise ReferenceFileError(
            f"{out}: already exists; pass overwrite (--overwrite) to replace it"
        ) from None
    except OSError as exc:
        raise ReferenceFileError(f"{out}: cannot write it ({exc.strerror or exc})") from None
    return out


def import_reference(
    path: str | os.PathLike, refs_dir: str | os.PathLike, overwrite: bool = False
) -> Reference:
    """Validate the reference file ``path`` completely, then save it in ``refs_dir``.

    A bad file raises :class:`ReferenceFileError` and changes nothing; a reference with
    the same id is replaced only with ``overwrite``. Returns the saved reference.
    """
    ref = read_reference_file(path)
    dest = save_reference(ref, refs_dir, overwrite=overwrite)
    return Reference(ref.stroke, ref.based_on, ref.created_at, ref.demonstration, dest)


def resolve_stroke(
    name_or_path: str | os.PathLike, refs_dir: str | os.PathLike | None
) -> StrokeDefinition:
    """The stroke to score against: a built-in id, else a definition or reference file by
    path, else a reference saved in ``refs_dir``. Raises StrokeError naming what was tried."""
    text = os.fspath(name_or_path)
    known = builtin_ids()
    if text in known:
        return load_stroke(text)
    tried = [f"the built-in strokes ({', '.join(known)})"]
    path = Path(text)
    if path.is_file():
        # every file goes through the one safe reader, whatever its size or depth
        data = read_json_file(
            path, STROKE_MAX_FILE_BYTES, StrokeError, "a stroke or reference file"
        )
        if isinstance(data, dict) and str(data.get("schema", "")).startswith("coach.reference/"):
            if path.stat().st_size > MAX_FILE_BYTES:
                read_reference_json(path)  # refuses it with the reference size limit
            return reference_from_dict(data, str(path)).stroke
        return stroke_from_dict(data, str(path))
    tried.append(f"a file {text!r} (no such file)")
    if refs_dir is not None and not _looks_like_path(text):
        if slugify(text) in saved_ids(refs_dir):
            return load_reference(text, refs_dir).stroke
        saved = ", ".join(saved_ids(refs_dir)) or "none saved"
        tried.append(f"the references saved in {refs_dir} ({saved})")
    raise StrokeError(f"unknown stroke {text!r}: tried " + "; ".join(tried))


def default_references_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where saved references live by default (:func:`coach.storage.paths.references_dir`)."""
    return paths.references_dir(environ)


def load_stroke_file(path: str | os.PathLike) -> StrokeDefinition:
    """A stroke definition file (``coach.stroke/1``) by path, through the one safe reader.
    Raises :class:`StrokeError` for a missing, oversized or invalid file."""
    p = Path(path)
    data = read_json_file(p, STROKE_MAX_FILE_BYTES, StrokeError, "a stroke definition file")
    return stroke_from_dict(data, str(p))


def save_stroke(defn: StrokeDefinition, path: str | Path) -> Path:
    """Write ``defn`` as a definition file (validated by loading the dict back first)."""
    data = stroke_to_dict(defn)
    stroke_from_dict(data, str(path))
    return write_text_atomic(json.dumps(data, indent=2) + "\n", path, mode=0o644)
