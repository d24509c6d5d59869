"""``coach reference`` (record one from a demonstration) and ``coach references``
(list, export, import)."""

from __future__ import annotations

import argparse
import sys

from coach.cli.common import (
    EXIT_INPUT,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    Parser,
    add_calibration_options,
    add_references_dir_option,
    body_frame,
    references_dir,
)
from coach.core.safetext import one_line
from coach.core.strokes import (
    StrokeError,
    builtin_ids,
    load_stroke,
)
from coach.references.format import name_problem, reference_json, slugify
from coach.references.library import (
    already_saved_error,
    export_reference,
    import_reference,
    load_reference,
    reference_path,
    save_reference,
    scan_references,
)
from coach.services.progress_bar import fraction_bar
from coach.vision.models import ModelError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """``coach reference`` and ``coach references``."""
    add_reference_arguments(
        sub.add_parser("reference", help="record a new reference from a demonstration")
    )
    add_references_arguments(
        sub.add_parser("references", help="saved references: list, export, import")
    )


def add_reference_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``coach reference VIDEO --name NAME [--stroke TYPE] [calibration]``."""
    parser.add_argument("video", help="demonstration video (mp4, mov, webm, avi, mkv)")
    parser.add_argument("--name", required=True, help="name of the new reference")
    parser.add_argument(
        "--stroke",
        metavar="TYPE",
        default=None,
        help="built-in stroke type it demonstrates (default: detected from the video)",
    )
    add_calibration_options(parser)
    add_references_dir_option(parser)
    parser.add_argument(
        "--overwrite", action="store_true", help="replace a saved reference of the same name"
    )


def cmd_reference(args: argparse.Namespace) -> int:
    """``coach reference``: record, save, print a summary. Exit 0 saved, 1 input, 2 usage."""
    # deferred: recording pulls MediaPipe and PyAV; `coach --help` stays fast
    from coach.references.recording import DemonstrationError, record_reference
    from coach.vision.video import VideoError, read_info

    refs_dir = references_dir(args)
    problem = name_problem(args.name)
    if problem is not None:
        raise CliError(f"--name: {problem}", EXIT_USAGE)
    if args.stroke is not None and args.stroke not in builtin_ids():
        raise CliError(
            f"--stroke: expected a built-in stroke type ({', '.join(builtin_ids())}), "
            f"found {args.stroke!r}",
            EXIT_USAGE,
        )
    ref_id = slugify(args.name.strip())
    dest = reference_path(ref_id, refs_dir)
    if dest.exists() and not args.overwrite:
        raise CliError(str(already_saved_error(ref_id, dest)), EXIT_USAGE)
    try:
        read_info(args.video)
        with fraction_bar("tracking the demonstration") as on_progress:
            ref = record_reference(
                args.video,
                args.name,
                lambda size: body_frame(args, size),
                args.stroke,
                on_progress=on_progress,
            )
        path = save_reference(ref, refs_dir, overwrite=args.overwrite)
    except (VideoError, ModelError, DemonstrationError, StrokeError) as exc:
        raise CliError(str(exc), EXIT_INPUT) from None
    base = load_stroke(ref.based_on)
    how = "detected" if ref.demonstration.get("detected") else "given"
    print(f"Reference {ref.id!r} ({ref.name}), based on {base.id} ({how}), saved to {path}")
    print(f"{'segment':<10} {'reps':>4} {'nominal':>8} {'built-in':>8}")
    for seg, bseg, info in zip(
        ref.stroke.segments, base.segments, ref.demonstration["segments"], strict=True
    ):
        print(
            f"{seg.label:<10} {info['repetitions']:>4} {seg.nominal_s:>7.2f}s "
            f"{bseg.nominal_s:>7.2f}s"
        )
    print(f"Practise against it with: coach score VIDEO --stroke {ref.id}")
    return EXIT_OK


def add_references_arguments(parser: argparse.ArgumentParser) -> None:
    """``coach references list | export NAME FILE | import FILE [--overwrite]``."""
    sub = parser.add_subparsers(dest="action", required=True, parser_class=Parser)
    lst = sub.add_parser("list", help="saved references, one a line")
    add_references_dir_option(lst)
    exp = sub.add_parser("export", help="write a saved reference to a file to share")
    exp.add_argument("name", help="reference name or id")
    exp.add_argument("file", help="destination file ('-' = stdout)")
    exp.add_argument("--overwrite", action="store_true", help="replace an existing file")
    add_references_dir_option(exp)
    imp = sub.add_parser("import", help="check a shared reference file and save it")
    imp.add_argument("file", help="a coach.reference/1 JSON file")
    imp.add_argument("--overwrite", action="store_true", help="replace a saved one of that name")
    add_references_dir_option(imp)


def cmd_references(args: argparse.Namespace) -> int:
    refs_dir = references_dir(args)
    try:
        if args.action == "list":
            refs, problems = scan_references(refs_dir)
            for ref in refs:
                print(
                    f"{ref.id}\t{ref.name}\t{ref.based_on}\t{ref.stroke.nominal_s:.1f} s\t"
                    f"{ref.created_at}"
                )
            for p in problems:
                print(f"coach: skipped a broken reference file: {one_line(p)}", file=sys.stderr)
            if not refs:
                print(f"coach: no references saved in {refs_dir}", file=sys.stderr)
        elif args.action == "export":
            if args.file == "-":
                sys.stdout.write(reference_json(load_reference(args.name, refs_dir)))
            else:
                out = export_reference(args.name, refs_dir, args.file, overwrite=args.overwrite)
                print(f"Exported to {out}")
        else:
            ref = import_reference(args.file, refs_dir, overwrite=args.overwrite)
            print(f"Imported {ref.id!r} ({ref.name}, based on {ref.based_on}) to {ref.path}")
    except StrokeError as exc:
        raise CliError(str(exc), EXIT_INPUT) from None
    return EXIT_OK
