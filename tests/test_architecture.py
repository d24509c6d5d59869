"""One owner per third-party SDK (developers' brief): only these files import it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = sorted([REPO / "app.py", *(REPO / "coach").rglob("*.py"), *(REPO / "pages").glob("*.py")])


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def _is_ui(rel: str) -> bool:
    return rel == "app.py" or rel.startswith("pages/") or rel.startswith("coach/ui/")


@pytest.mark.parametrize(
    ("sdk", "owner"),
    [
        ("mediapipe", lambda rel: rel == "coach/vision/landmarks.py"),  # hand landmarks
        ("ai_edge_litert", lambda rel: rel == "coach/vision/landmark_model.py"),  # live following
        ("streamlit", _is_ui),  # the page and its UI helpers
        ("streamlit_webrtc", _is_ui),  # the webcam in the page
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
    assert [rel for rel in importers if not owner(rel)] == []
