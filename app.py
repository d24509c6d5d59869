"""Stroke Coach: the page. `make run` (or `streamlit run app.py`; installed: `coach app`).

A thin entry point: the app (named pages Practise, Progress, Class) lives in
coach/ui_pages/ so that an installed copy runs the same page.
"""

import runpy

from coach.ui.pages import APP_SCRIPT

runpy.run_path(str(APP_SCRIPT), run_name="__main__")
