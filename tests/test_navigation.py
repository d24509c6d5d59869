"""The page's navigation (coach/ui/pages/app.py): its icons show on any machine."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "coach" / "ui" / "pages" / "app.py"


def _page_icons() -> list[str]:
    tree = ast.parse(APP.read_text())
    icons = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Page":
            icons += [k.value.value for k in node.keywords if k.arg == "icon"]
    return icons


def test_navigation_icons_come_with_streamlit_not_from_an_emoji_font():
    """Emoji icons showed as empty boxes on a machine without an emoji font (headless
    Chromium here); Streamlit ships the Material Symbols font with its page."""
    icons = _page_icons()
    assert len(icons) == 3
    assert all(i.startswith(":material/") and i.endswith(":") for i in icons), icons
