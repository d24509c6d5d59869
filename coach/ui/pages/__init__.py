"""The Streamlit app: ``app.py`` (the entry script: named pages with ``st.navigation``),
``practise.py`` (live coach, scoring a video); the Progress and Class pages are
``coach.ui.progress`` and ``coach.ui.class_page``. Shipped inside the package so an installed
``coach app`` runs the same page as ``make run``."""

from pathlib import Path

#: The script ``streamlit run`` starts (``coach app``; the checkout's app.py imports it).
APP_SCRIPT = Path(__file__).with_name("app.py")
