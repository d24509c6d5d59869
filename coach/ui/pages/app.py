"""Stroke Coach: the app's entry script. ``coach app`` (installed) and ``make run`` (the
checkout's app.py) start it. Three named pages: Practise, Progress, Class."""

import streamlit as st

from coach.ui import class_page as ui_class
from coach.ui import progress as ui_progress
from coach.ui.pages import practise


def practise_page() -> None:
    st.set_page_config(page_title="Stroke Coach", page_icon="👐", layout="wide")
    practise.main()


def progress_page() -> None:
    st.set_page_config(page_title="Progress · Stroke Coach", page_icon="📈", layout="wide")
    ui_progress.progress_page()


def class_page() -> None:
    st.set_page_config(page_title="Stroke Coach: class", page_icon="👐", layout="wide")
    ui_class.page()


def main() -> None:
    # Material icons: Streamlit ships their font, so they show on a machine without an
    # emoji font too (emoji showed as empty boxes there).
    pages = [
        st.Page(practise_page, title="Practise", icon=":material/back_hand:", default=True),
        st.Page(
            progress_page, title="Progress", icon=":material/trending_up:", url_path="Progress"
        ),
        st.Page(class_page, title="Class", icon=":material/groups:", url_path="Class"),
    ]
    st.navigation(pages).run()


main()
