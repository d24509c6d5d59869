"""``coach app``: the page, served by Streamlit."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from coach.cli.common import EXIT_OK, EXIT_USAGE, CliError
from coach.vision.models import model_file

#: The page's entry script (coach/ui/pages/app.py; the CLI never imports the page).
APP_SCRIPT = Path(__file__).resolve().parents[1] / "ui" / "pages" / "app.py"


def add_parser(sub: argparse._SubParsersAction) -> None:
    app = sub.add_parser("app", help="start the page (Streamlit) in this computer's browser")
    app.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to serve on (default 127.0.0.1: this computer only; 0.0.0.0 lets "
        "other machines in, each visitor then signs in: docs/privacy.md)",
    )
    app.add_argument("--port", type=int, default=8501, help="port to serve on (default 8501)")


def run(args: argparse.Namespace) -> int:
    """Run the page with Streamlit, with the server options of the checkout's
    .streamlit/config.toml on the command line (an installed copy has no such folder)."""
    command = [sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT), *server_options(args)]
    if not model_file().is_file():
        print(
            f"coach: no hand model in {model_file().parent} yet; run `coach models fetch` "
            "once (the page cannot follow a hand without it)",
            file=sys.stderr,
        )
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return EXIT_OK


def server_options(args: argparse.Namespace) -> list[str]:
    """The same server options as `make run` and .streamlit/config.toml."""
    if not 0 < args.port < 65536:
        raise CliError(f"--port: expected 1..65535, found {args.port}", EXIT_USAGE)
    return [
        "--server.headless", "true",
        "--server.address", args.host,
        "--server.port", str(args.port),
        "--server.maxUploadSize", "200",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
