"""Installing Stroke Coach like an app (issue 11, point 5): every direct import is a
declared dependency, the wheel carries the page, and an installed copy (a fresh virtual
environment, no checkout) answers `coach --version`, `coach strokes list` and serves
`coach app` until Streamlit's health endpoint says ok."""

from __future__ import annotations

import ast
import importlib.metadata as md
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import tomllib
import urllib.request
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement ("psycopg[binary]>=3" -> psycopg)."""
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", requirement)[0]).lower()


def top_level_imports(folder: Path) -> set[str]:
    """Top-level names of every absolute import in the .py files under ``folder``."""
    names: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_every_third_party_import_is_a_declared_dependency() -> None:
    declared = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    providers = md.packages_distributions()
    third_party = sorted(
        m for m in top_level_imports(REPO / "coach") if m not in sys.stdlib_module_names
    )
    assert "cv2" in third_party and "streamlit" in third_party  # the scan sees imports
    missing = {
        module: providers.get(module)
        for module in third_party
        if module != "coach" and not declared & {_name(d) for d in providers.get(module, [])}
    }
    assert missing == {}, f"imported but not declared in pyproject (module: providers): {missing}"


@pytest.mark.parametrize(
    ("requirement", "name"),
    [
        ("psycopg[binary]>=3", "psycopg"),  # extras and a version
        ("opencv-contrib-python", "opencv-contrib-python"),  # a bare name
        ("SQLAlchemy>=2", "sqlalchemy"),  # case
        ("ai_edge.litert==2.3.0", "ai-edge-litert"),  # _ and . are -
    ],
)
def test_requirement_names(requirement: str, name: str) -> None:
    assert _name(requirement) == name


def test_postgres_is_an_extra_that_the_tests_install() -> None:
    deps = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert "psycopg" not in deps
    assert {_name(r) for r in extras["postgres"]} == {"psycopg"}
    assert "stroke-coach[postgres]" in extras["test"]


def test_never_the_headless_opencv() -> None:
    every = [*PYPROJECT["project"]["dependencies"]]
    for extra in PYPROJECT["project"]["optional-dependencies"].values():
        every += extra
    assert "opencv-python-headless" not in {_name(r) for r in every}


# -- the wheel ------------------------------------------------------------------------------------


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"on CI the wheel must build and install: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the sources (the checkout stays clean)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "coach", src / "coach", ignore=shutil.ignore_patterns("__pycache__"))
    out = src / "dist"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-w", str(out)],
        cwd=src, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if done.returncode != 0:
        _skip_or_fail(f"pip wheel failed (no network or pip cache?): {done.stderr[-300:]}")
    (found,) = out.glob("stroke_coach-*.whl")
    return found


@pytest.mark.slow
def test_wheel_contains_the_app_and_its_pages(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for member in (
        "coach/ui/pages/app.py",  # the entry script `coach app` runs (st.navigation)
        "coach/ui/pages/practise.py",  # Practise
        "coach/ui/progress.py",  # Progress
        "coach/ui/class_page.py",  # Class
        "coach/core/strokes/sun.json",  # package data
        "coach/storage/paths.py",
    ):
        assert member in names, member
    assert not any(n.startswith(("models/", "samples/", "tests/")) for n in names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "coach = coach.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel installed (``--no-deps``); the
    dependencies come from this environment's site-packages through a .pth file, so
    nothing is downloaded. Returns the venv's ``coach`` command."""
    venv = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    Path(site, "parent-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = subprocess.run(
        [str(py), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if done.returncode != 0:
        _skip_or_fail(f"pip install of the wheel failed: {done.stderr[-300:]}")
    return venv / "bin" / "coach"


def _run(coach: Path, *args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(coach), *args], capture_output=True, text=True, timeout=120, env=env, cwd=env["HOME"]
    )


@pytest.fixture()
def user_env(tmp_path) -> dict:
    """A user with an empty home: no checkout, no data folder yet."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COACH_", "XDG_"))}
    env.update(HOME=str(home), PYTHONNOUSERSITE="1")
    return env


@pytest.mark.slow
def test_installed_copy_runs_from_its_own_folder(installed: Path, user_env: dict) -> None:
    where = subprocess.run(
        [str(installed.parent / "python"), "-c",
         "import coach, coach.storage.paths as p; print(coach.__file__); print(p.checkout_root()); "
         "print(p.models_dir()); print(p.data_dir())"],
        capture_output=True, text=True, env=user_env, cwd=user_env["HOME"], check=True,
    ).stdout.splitlines()  # fmt: skip
    assert where[0].startswith(str(installed.parent.parent)), where  # not the checkout
    assert where[1] == "None"  # no checkout: the per-user folders
    assert where[2] == f"{user_env['HOME']}/.local/share/stroke-coach/models"
    assert where[3] == f"{user_env['HOME']}/.local/share/stroke-coach"


@pytest.mark.slow
def test_installed_coach_version_and_strokes(installed: Path, user_env: dict) -> None:
    version = _run(installed, "--version", env=user_env)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"coach {PYPROJECT['project']['version']}"
    strokes = _run(installed, "strokes", "list", env=user_env)
    assert strokes.returncode == 0, strokes.stderr
    assert "i-love-you" in strokes.stdout and "sun" in strokes.stdout


@pytest.mark.slow
def test_installed_coach_app_serves_the_page(installed: Path, user_env: dict) -> None:
    _serves_the_page(installed, user_env)


def _serves_the_page(coach: Path, user_env: dict) -> None:
    """`coach app` answers Streamlit's health check on loopback and tells a new user to
    fetch the models."""
    port = _free_port()
    log = Path(user_env["HOME"]) / "app.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(coach), "app", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=user_env, cwd=user_env["HOME"],
            start_new_session=True,
        )  # fmt: skip
    try:
        answer, deadline = None, time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                url = f"http://127.0.0.1:{port}/_stcore/health"
                with urllib.request.urlopen(url, timeout=2) as r:
                    answer = r.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        assert answer == "ok", log.read_text()[-2000:]
        assert "run `coach models fetch`" in log.read_text()  # a new user's next step
        assert "127.0.0.1" in log.read_text() or "localhost" in log.read_text()
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


@pytest.mark.slow
def test_pipx_install_gives_a_working_app(wheel: Path, tmp_path: Path, user_env: dict) -> None:
    """`pipx install .` in a copy of the sources, as a user installs an app: pipx builds
    it, makes it its own virtual environment with every dependency resolved from the
    package's metadata, and puts `coach` in the user's bin folder; the page starts."""
    if importlib.util.find_spec("pipx") is None:
        _skip_or_fail("pipx is not installed (it is in the test extra: pip install -e .[test])")
    env = dict(
        user_env,
        PIPX_HOME=str(tmp_path / "pipx"),
        PIPX_BIN_DIR=str(tmp_path / "bin"),
        PIPX_MAN_DIR=str(tmp_path / "man"),
    )
    done = subprocess.run(
        [sys.executable, "-m", "pipx", "install", "--python", sys.executable, "."],
        capture_output=True, text=True, timeout=1200, env=env, cwd=wheel.parent.parent,
    )  # fmt: skip
    if done.returncode != 0 and "No matching distribution" in done.stdout + done.stderr:
        _skip_or_fail(
            f"pipx could not fetch the dependencies: {(done.stdout + done.stderr)[-300:]}"
        )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    venv = tmp_path / "pipx" / "venvs" / "stroke-coach"
    coach = tmp_path / "bin" / "coach"
    version = _run(coach, "--version", env=env)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"coach {PYPROJECT['project']['version']}"
    strokes = _run(coach, "strokes", "list", env=env)
    assert strokes.returncode == 0, strokes.stderr
    assert "water-wheel" in strokes.stdout
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import coach, streamlit, mediapipe, cv2; print(coach.__file__)"],
        capture_output=True, text=True, env=env, cwd=env["HOME"], check=True,
    ).stdout.strip()  # fmt: skip
    assert where.startswith(str(venv))  # the app's own copy, not the checkout
    _serves_the_page(coach, env)


def test_postgres_without_the_extra_says_how_to_get_it(monkeypatch) -> None:
    from coach.storage.store import Store, StoreError

    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the extra were not installed
    with pytest.raises(StoreError) as exc:
        Store.open("postgresql+psycopg://coach@127.0.0.1:9/coach")
    message = str(exc.value)
    assert "\n" not in message
    assert "pip install 'stroke-coach[postgres]'" in message


@pytest.mark.slow
def test_installed_page_renders(installed: Path, user_env: dict) -> None:
    """The installed copy's page runs (Streamlit's AppTest, no browser): served on loopback
    (as `coach app` does) the first visit shows the safety notes on the Practise page."""
    script = (
        "from streamlit import config\n"
        "from streamlit.testing.v1 import AppTest\n"
        "from coach.ui.pages import APP_SCRIPT\n"
        "config.set_option('server.address', '127.0.0.1')  # as `coach app` serves it\n"
        "at = AppTest.from_file(str(APP_SCRIPT), default_timeout=60)\n"
        "at.session_state['coach_no_webrtc'] = True\n"
        "at.run()\n"
        "assert not at.exception, [e.value for e in at.exception]\n"
        "print(APP_SCRIPT)\n"
        "print([s.value for s in at.subheader])\n"
    )
    done = subprocess.run(
        [str(installed.parent / "python"), "-c", script],
        capture_output=True, text=True, timeout=180, env=user_env, cwd=user_env["HOME"],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    app_script, subheaders = done.stdout.splitlines()[-2:]
    assert app_script.startswith(str(installed.parent.parent))  # the installed page
    assert "Before you start" in subheaders
