"""Streamlit entry point: page config, login gate, and the pages each role may see."""

from pathlib import Path

import streamlit as st

from foundation.enums import Role
from ui.common import current_user, logout

st.set_page_config(page_title="sidebyside", page_icon=":material/compare:", layout="wide")

HERE = Path(__file__).parent
# url_paths differ from the file names on purpose: Streamlit's legacy pages/ mode hashes pages
# by file name, and a shared hash would run a page file without this gate (tests and the very
# first run of a server). Every page checks the user itself as well.
# (file, title, icon, url_path); later features' pages join as soon as their file exists.
ADMIN_PAGES = [
    ("pages/studies.py", "Studies", ":material/folder_open:", "admin-studies"),
    ("pages/annotators.py", "Annotators", ":material/group:", "accounts"),
    ("pages/progress.py", "Progress", ":material/monitoring:", "study-progress"),
    ("pages/judges.py", "Judges", ":material/gavel:", "llm-judges"),
    ("pages/results.py", "Results", ":material/leaderboard:", "study-results"),
]


def _log_out() -> None:
    logout()
    st.rerun()


user = current_user()
if user is None:
    login = st.Page("pages/login.py", title="Log in", url_path="signin", default=True)
    nav = st.navigation([login], position="hidden")
else:
    is_admin = user.role == Role.ADMIN
    # Admins land on Studies, so looking around never claims a pair to rate.
    annotate = st.Page(
        "pages/annotate.py",
        title="Annotate",
        icon=":material/rate_review:",
        url_path="rate",
        default=not is_admin,
    )
    menu = {"Rate": [annotate]}
    if is_admin:
        menu["Admin"] = [
            st.Page(path, title=title, icon=icon, url_path=url, default=i == 0)
            for i, (path, title, icon, url) in enumerate(ADMIN_PAGES)
            if (HERE / path).exists()
        ]
    menu[user.username] = [
        st.Page(_log_out, title="Log out", icon=":material/logout:", url_path="logout")
    ]
    nav = st.navigation(menu)
nav.run()
