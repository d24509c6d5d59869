"""The command line as a user meets it: `coach --version`, help on every option, an
example with every command, `coach app`'s server options and the progress bars."""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from coach import cli
from coach.cli import app as cli_app
from coach.cli.common import EXIT_USAGE
from coach.services import progress_bar

REPO = Path(__file__).resolve().parents[1]
COMMANDS = [path for path, _ in cli.subparsers(cli.build_parser())]


def test_version_is_the_one_in_pyproject() -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    done = subprocess.run(
        [sys.executable, "-m", "coach", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == f"coach {version}"


def test_every_command_is_listed() -> None:
    assert {"app", "score", "models fetch", "samples make", "strokes list"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_an_example_and_every_option_help(command: str) -> None:
    parser = dict(cli.subparsers(cli.build_parser()))[command]
    assert parser.epilog and f"coach {command.split()[0]}" in parser.epilog
    undocumented = [
        a.option_strings or a.dest
        for a in parser._actions
        if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction) and not a.help
    ]
    assert undocumented == []
    assert "example:" in parser.format_help()


@pytest.mark.parametrize(
    ("argv", "address", "port"),
    [
        (["app"], "127.0.0.1", "8501"),  # loopback by default, like `make run`
        (["app", "--host", "0.0.0.0"], "0.0.0.0", "8501"),  # like `make run HOST=0.0.0.0`
        (["app", "--port", "9000"], "127.0.0.1", "9000"),
    ],
)
def test_app_server_options_mirror_make_run(argv, address, port) -> None:
    options = cli_app.server_options(cli.build_parser().parse_args(argv))
    pairs = dict(zip(options[::2], options[1::2], strict=True))
    assert pairs["--server.address"] == address
    assert pairs["--server.port"] == port
    assert pairs["--server.headless"] == "true"
    assert pairs["--browser.gatherUsageStats"] == "false"
    config = (REPO / ".streamlit" / "config.toml").read_text()
    assert f"maxUploadSize = {pairs['--server.maxUploadSize']}" in config  # same limit


def test_app_refuses_a_bad_port(capsys) -> None:
    assert cli.main(["app", "--port", "70000"]) == EXIT_USAGE
    assert "--port: expected 1..65535, found 70000" in capsys.readouterr().err


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stream", "asked", "shown"),
    [
        (io.StringIO(), False, False),  # a pipe or a file: quiet
        (io.StringIO(), True, True),  # --progress
        (_Tty(), False, True),  # a terminal
    ],
)
def test_progress_bar_only_on_a_terminal_or_when_asked(stream, asked, shown) -> None:
    with progress_bar.fraction_bar("scoring", asked, stream) as on_progress:
        assert (on_progress is not None) == shown
        if on_progress is not None:
            on_progress(0.5)
            on_progress(1.0)
    assert ("scoring" in stream.getvalue()) == shown


@pytest.mark.slow
def test_samples_make_progress_on_stderr_paths_on_stdout(tmp_path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "coach", "samples", "make", "--out", str(tmp_path),
         "--size", "64x64", "--fps", "10", "--progress"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [str(p) for p in sorted(tmp_path.glob("*.mp4"))]
    assert "rendering samples" in done.stderr


@pytest.mark.model
def test_models_fetch_progress_keeps_stdout_the_path(tmp_path, model_path, lite_model_path):
    for bundle in (model_path, lite_model_path):  # valid bundles already there: no download
        (tmp_path / bundle.name).write_bytes(bundle.read_bytes())
    done = subprocess.run(
        [sys.executable, "-m", "coach", "models", "fetch", "--progress"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "COACH_MODELS_DIR": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{tmp_path / model_path.name}\n"  # contract: the path, alone
    assert "hand models" in done.stderr


@pytest.mark.model
@pytest.mark.slow
def test_score_progress_keeps_stdout_the_report(tmp_path, model_path) -> None:
    from coach.samples.synth import ensure_sample

    clip = ensure_sample("sun", tmp_path, size=(160, 120), fps=10.0)
    done = subprocess.run(
        [sys.executable, "-m", "coach", "score", str(clip), "--stroke", "sun", "--json", "-",
         "--progress"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["schema"].startswith("coach.report")
    assert f"scoring {clip.name}" in done.stderr


def test_the_version_is_written_once() -> None:
    """Only pyproject.toml holds the version; the package reads it from the install."""
    import coach

    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert coach.__version__ == cli.version() == version
    holders = [p for p in (REPO / "coach").rglob("*.py") if f'"{version}"' in p.read_text()]
    assert holders == []


def test_coach_app_starts_the_page_script() -> None:
    from coach.ui.pages import APP_SCRIPT

    assert cli_app.APP_SCRIPT == APP_SCRIPT and APP_SCRIPT.is_file()
