"""Class mode: an instructor teaches live, parents follow on their own dolls.

The instructor opens a class and shares its code; parents join with the code and
their name. Each parent sees the instructor's hand path drawn over their own doll
("follow me"); the instructor sees a board of every parent's status, last score
and flags. Only that path and those summaries are shared, never video. See
coach/ui_class.py (page) and coach/classroom.py (registry, relay, overlay).
"""

import streamlit as st

from coach.ui import class_page as ui_class

st.set_page_config(page_title="Stroke Coach: class", page_icon="👐", layout="wide")
ui_class.page()
