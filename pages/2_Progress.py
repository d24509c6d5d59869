"""Stroke Coach: progress per stroke over time, the last sessions, and a session's report
for the instructor. Page logic lives in coach/ui_progress.py."""

import streamlit as st

from coach.ui import progress as ui_progress

st.set_page_config(page_title="Progress · Stroke Coach", page_icon="📈", layout="wide")
ui_progress.progress_page()
