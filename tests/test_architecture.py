"""The architecture, checked from the sources with ``ast`` (developers' brief, issue 11):

- layers: which package may import which (:data:`ALLOWED`), imports running one way;
- no import cycle between modules (imports inside functions count too);
- an import inside a function only where it defers a heavy SDK, with a comment saying so;
- the core pipeline imports numpy and numba only, and never reads the environment;
- one owner per third-party SDK.

Every failure names the offending import on one line: ``path:line: what``.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = sorted([REPO / "app.py", *(REPO / "coach").rglob("*.py"), *(REPO / "pages").glob("*.py")])

# --------------------------------------------------------------------------- layers

#: Layer of a module: the longest matching prefix wins.
LAYER_OF = {
    "coach": "root",  # __version__ only
    "coach.core": "core",
    "coach.render": "render",
    "coach.storage": "storage",
    "coach.vision": "vision",
    "coach.references": "references",
    "coach.samples": "samples",
    "coach.relay": "relay",
    "coach.services": "services",
    "coach.bench": "tools",
    "coach.evaluation": "tools",
    "coach.relay.bench": "tools",  # measures a relay with simulated class members
    "coach.cli": "cli",
    "coach.relay.cli": "cli",
    "coach.relay.__main__": "cli",
    "coach.__main__": "cli",
    "coach.ui": "ui",
    "app": "ui",
    "pages": "ui",
}

#: Which layers a layer may import (itself included). Nothing imports cli or ui.
ALLOWED = {
    "root": {"root"},
    "core": {"root", "core"},
    "render": {"root", "core", "render"},
    "storage": {"root", "core", "render", "storage"},  # the report JSON of a stored session
    "vision": {"root", "core", "storage", "vision"},  # model files: where they live, atomic writes
    "references": {"root", "core", "storage", "vision", "references"},
    "samples": {"root", "core", "storage", "vision", "samples"},
    "relay": {"root", "relay"},
    "services": {
        "root",
        "core",
        "render",
        "storage",
        "vision",
        "references",
        "samples",
        "relay",
        "services",
    },  # fmt: skip
    "tools": {
        "root",
        "core",
        "render",
        "storage",
        "vision",
        "references",
        "samples",
        "relay",
        "services",
        "tools",
    },  # fmt: skip
    "cli": {
        "root",
        "core",
        "render",
        "storage",
        "vision",
        "references",
        "samples",
        "relay",
        "services",
        "tools",
        "cli",
    },  # fmt: skip
    "ui": {
        "root",
        "core",
        "render",
        "storage",
        "vision",
        "references",
        "samples",
        "relay",
        "services",
        "ui",
    },  # fmt: skip
}

#: Third-party SDKs heavy enough to defer: an import inside a function must lead to one.
HEAVY_SDKS = {
    "cv2", "mediapipe", "ai_edge_litert", "av", "numba", "matplotlib", "sqlalchemy",
    "streamlit", "streamlit_webrtc", "aiortc", "altair", "pandas", "redis", "starlette",
    "uvicorn", "websockets", "psycopg",
}  # fmt: skip


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in SOURCES}


def layer(module: str) -> str:
    best = max((k for k in LAYER_OF if module == k or module.startswith(k + ".")), key=len)
    return LAYER_OF[best]


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    target: str  # a module of this repository, or a third-party / stdlib root name
    in_function: bool
    type_checking: bool

    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def _resolve(module: str) -> str:
    """The repository module an imported name lives in (``coach.render.draw`` for
    ``from coach.render import draw``), or the name itself."""
    while module and module not in MODULES and "." in module:
        module = module.rsplit(".", 1)[0]
    return module


@cache
def imports(path: Path) -> tuple[Import, ...]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool, type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            fn = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            tc = type_checking or (
                isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test)
            )
            if isinstance(child, ast.Import):
                for alias in child.names:
                    found.append(Import(path, child.lineno, _resolve(alias.name), fn, tc))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    up = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join([*up, *([base] if base else [])])
                for alias in child.names:
                    name = f"{base}.{alias.name}" if base else alias.name
                    target = _resolve(name) if _resolve(name) in MODULES else _resolve(base)
                    found.append(Import(path, child.lineno, target, fn, tc))
            visit(child, fn, tc)

    visit(tree, False, False)
    return tuple(found)


def internal(imp: Import) -> bool:
    return imp.target in MODULES


def test_every_module_has_a_layer() -> None:
    assert [m for m in MODULES if not any(m == k or m.startswith(k + ".") for k in LAYER_OF)] == []


LAYER_CASES = [(m, p) for m, p in MODULES.items()]


@pytest.mark.parametrize(("module", "path"), LAYER_CASES, ids=[m for m, _ in LAYER_CASES])
def test_imports_follow_the_layers(module: str, path: Path) -> None:
    mine = layer(module)
    for imp in imports(path):
        if internal(imp) and not imp.type_checking and layer(imp.target) not in ALLOWED[mine]:
            pytest.fail(
                f"{imp.where()}: {module} ({mine}) imports {imp.target} ({layer(imp.target)}); "
                f"{mine} may import {', '.join(sorted(ALLOWED[mine]))}",
                pytrace=False,
            )


def test_nothing_imports_the_cli_or_the_page() -> None:
    for module, path in MODULES.items():
        for imp in imports(path):
            if (
                not internal(imp)
                or layer(module) in ("cli", "ui")
                and layer(imp.target) == layer(module)
            ):
                continue
            if layer(imp.target) in ("cli", "ui") and module not in ("coach.__main__",):
                if layer(module) == "ui" and module in ("app",) or module.startswith("pages."):
                    continue  # the Streamlit entry points
                pytest.fail(f"{imp.where()}: {module} imports {imp.target}", pytrace=False)


# --------------------------------------------------------------------------- cycles


def _graph() -> dict[str, set[str]]:
    return {
        m: {i.target for i in imports(p) if internal(i) and not i.type_checking and i.target != m}
        for m, p in MODULES.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of modules (first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := dfs(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for start in sorted(graph):
        if start not in state and (cycle := dfs(start)):
            return cycle
    return None


def test_find_cycle_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle() -> None:
    cycle = find_cycle(_graph())
    if cycle:
        pytest.fail("import cycle: " + " -> ".join(cycle), pytrace=False)


# --------------------------------------------------------------------------- imports in functions


@cache
def heavy_closure(module: str) -> frozenset[str]:
    """The heavy SDKs importing ``module`` loads (its top-level imports, transitively)."""
    seen: set[str] = set()
    sdks: set[str] = set()
    todo = [module]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        if m not in MODULES:
            if m.split(".")[0] in HEAVY_SDKS:
                sdks.add(m.split(".")[0])
            continue
        for imp in imports(MODULES[m]):
            if not imp.in_function and not imp.type_checking:
                todo.append(imp.target)
    return frozenset(sdks)


def _has_comment(lines: list[str], imp: Import) -> bool:
    """A comment on the import's line, or on the line above its block of imports."""
    i = imp.line - 1
    if "#" in lines[i]:
        return True
    while i > 0 and lines[i - 1].strip().startswith(("import ", "from ")):
        i -= 1
    return lines[i - 1].strip().startswith("#") if i > 0 else False


INNER_CASES = [(m, p) for m, p in MODULES.items() if any(i.in_function for i in imports(p))]


@pytest.mark.parametrize(("module", "path"), INNER_CASES, ids=[m for m, _ in INNER_CASES])
def test_imports_inside_functions_defer_a_heavy_sdk_and_say_so(module: str, path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    mine = heavy_closure(module)
    for imp in imports(path):
        if not imp.in_function or imp.type_checking:
            continue
        deferred = heavy_closure(imp.target) - mine
        if not deferred:
            pytest.fail(
                f"{imp.where()}: {imp.target} imported inside a function defers no heavy SDK "
                f"({module} loads {', '.join(sorted(mine)) or 'none'} already): import it on top",
                pytrace=False,
            )
        if not _has_comment(lines, imp):
            pytest.fail(
                f"{imp.where()}: {imp.target} imported inside a function without a comment "
                f"(it defers {', '.join(sorted(deferred))}: say so)",
                pytrace=False,
            )


# --------------------------------------------------------------------------- the core

CORE = [(m, p) for m, p in MODULES.items() if layer(m) == "core"]
#: File access; the core only reads its package data (the built-in strokes), saying so.
FILE_ACCESS = ("open(", ".read_text(", ".write_text(", ".read_bytes(", ".write_bytes(", ".glob(")


@pytest.mark.parametrize(("module", "path"), CORE, ids=[m for m, _ in CORE])
def test_the_core_imports_numpy_and_numba_only(module: str, path: Path) -> None:
    for imp in imports(path):
        root = imp.target.split(".")[0]
        if internal(imp) or root in sys.stdlib_module_names or root in ("numpy", "numba"):
            continue
        pytest.fail(f"{imp.where()}: the core imports {imp.target}", pytrace=False)
    text = path.read_text(encoding="utf-8")
    for word in ("os.environ", "os.getenv", "streamlit", "session_state"):
        assert word not in text, f"{path.relative_to(REPO)}: the core reads {word}"
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if any(w in line for w in FILE_ACCESS) and not any(
            "package data" in near for near in lines[max(i - 1, 0) : i + 1]
        ):
            pytest.fail(f"{path.relative_to(REPO)}:{i + 1}: the core touches a file", pytrace=False)


def test_the_environment_is_read_in_one_place() -> None:
    """Configuration: storage/paths.py reads the environment; relay/process.py only hands
    it on to the relay process it starts."""
    readers = {
        str(p.relative_to(REPO))
        for p in SOURCES
        if any(w in p.read_text(encoding="utf-8") for w in ("os.environ", "os.getenv"))
    }
    assert readers <= {"coach/storage/paths.py", "coach/relay/process.py"}, sorted(readers)


# --------------------------------------------------------------------------- one owner per SDK


def _imported_roots(path: Path) -> set[str]:
    return {imp.target.split(".")[0] for imp in imports(path) if not internal(imp)}


CV2_OWNERS = ("coach/vision/", "coach/render/", "coach/samples/", "coach/evaluation/")


def _is_ui(rel: str) -> bool:
    return rel == "app.py" or rel.startswith("pages/") or rel.startswith("coach/ui/")


@pytest.mark.parametrize(
    ("sdk", "owner"),
    [
        ("mediapipe", lambda rel: rel == "coach/vision/mediapipe_landmarker.py"),  # hand landmarks
        ("ai_edge_litert", lambda rel: rel == "coach/vision/litert_landmarks.py"),  # live following
        ("numba", lambda rel: rel == "coach/core/matcher.py"),  # the matcher's compiled step
        # pictures: video frames, overlays, rendered clips; the page's webcam frames
        ("cv2", lambda rel: rel.startswith(CV2_OWNERS) or rel == "coach/ui/live.py"),
        # video files; the page's WebRTC frames
        ("av", lambda rel: rel in ("coach/vision/video.py", "coach/ui/live.py")),
        ("sqlalchemy", lambda rel: rel.startswith("coach/storage/")),  # the session store
        ("matplotlib", lambda rel: rel == "coach/render/html_report.py"),  # the report's pictures
        ("platformdirs", lambda rel: rel == "coach/storage/paths.py"),  # where files live
        ("streamlit", _is_ui),  # the page and its UI helpers
        ("streamlit_webrtc", _is_ui),  # the webcam in the page
        ("aiortc", _is_ui),  # ... and its frames
        ("redis", lambda rel: rel == "coach/relay/redis_state.py"),  # shared class state
        ("starlette", lambda rel: rel == "coach/relay/server.py"),  # the relay's ASGI app
        ("uvicorn", lambda rel: rel == "coach/relay/server.py"),  # ... and its server
        # the relay's WebSocket client, and the bench's simulated parents
        ("websockets", lambda rel: rel in ("coach/relay/client.py", "coach/relay/bench.py")),
    ],
)
def test_one_owner_per_sdk(sdk: str, owner) -> None:
    importers = [str(p.relative_to(REPO)) for p in SOURCES if sdk in _imported_roots(p)]
    assert importers, f"nothing imports {sdk}: the table is stale"
    strays = [rel for rel in importers if not owner(rel)]
    assert strays == [], f"{sdk} is imported outside its owner by {', '.join(strays)}"
