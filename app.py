"""Streamlit entry point: page config, login gate, and the pages each role may see."""

from pathlib import Path

import streamlit as st

from ui.common import current_user, logout

st.set_page_config(page_title="sidebyside", page_icon=":material/compare:", layout="wide")

HERE = Path(__file__).parent
# url_paths differ from the file names on purpose: Streamlit's legacy pages/ mode hashes pages
# by file name, and a shared hash would run a page file without this gate (tests and the very
# first run of a server). Every page checks the user itself as well.


def _log_out() -> None:
    logout()
    st.rerun()


user = current_user()
if user is None:
    pages = [
        st.Page(
            "pages/login.py",
            title="Log in",
            icon=":material/login:",
            url_path="signin",
            default=True,
        )
    ]
    nav = st.navigation(pages, position="hidden")
else:
    annotate = st.Page(
        "pages/annotate.py",
        title="Annotate",
        icon=":material/rate_review:",
        url_path="rate",
        default=True,
    )
    account = [st.Page(_log_out, title="Log out", icon=":material/logout:", url_path="logout")]
    if user.role == "admin":
        admin = [
            st.Page(
                "pages/studies.py",
                title="Studies",
                icon=":material/folder_open:",
                url_path="admin-studies",
            ),
            st.Page(
                "pages/annotators.py",
                title="Annotators",
                icon=":material/group:",
                url_path="accounts",
            ),
            st.Page(
                "pages/progress.py",
                title="Progress",
                icon=":material/monitoring:",
                url_path="study-progress",
            ),
        ]
        # Pages of later features join the menu as soon as their file exists.
        for path, title, icon, url in (
            ("pages/judges.py", "Judges", ":material/gavel:", "llm-judges"),
            ("pages/results.py", "Results", ":material/leaderboard:", "study-results"),
        ):
            if (HERE / path).exists():
                admin.append(st.Page(path, title=title, icon=icon, url_path=url))
        nav = st.navigation({"Rate": [annotate], "Admin": admin, f"{user.username}": account})
    else:
        nav = st.navigation({"Rate": [annotate], f"{user.username}": account})
nav.run()
