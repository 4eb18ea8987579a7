"""Streamlit entry point: page config, login gate, and the pages each role may see."""

from pathlib import Path

import streamlit as st

from sidebyside.foundation.enums import Role
from sidebyside.ui.common import MUST_CHANGE_KEY, current_user, logout
from sidebyside.ui.navigation import navigate_after_rerun, pending_navigation
from sidebyside.ui.session import cookie_drop_url, end_browser_session

st.set_page_config(page_title="sidebyside", page_icon=":material/compare:", layout="wide")
#: e.g. to /_session/start right after a login (ui/session.py)
LEAVING = pending_navigation()

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
    ("pages/review.py", "Review", ":material/balance:", "review"),
]
#: Admin pages a reviewer opens too (issue 19's adjudication).
REVIEWER_PAGES = {"review"}


def _log_out() -> None:
    end_browser_session()  # revoked on the server first
    logout()
    navigate_after_rerun(cookie_drop_url())
    st.rerun()


def _admins_only() -> None:
    # A bookmark or typed URL of an admin page, opened by an annotator: a word on why and a
    # link, not a switch to Annotate (that would hand them a pair on the way).
    st.title("Admins only")
    st.warning("That page is for admins only. Nothing was handed to you on the way.")
    st.page_link(annotate, label="Go to Annotate", icon=":material/rate_review:")


def _landing(page: st.Page) -> st.Page:
    """The page served at "/", which opens ``page`` at its own address. Streamlit serves a
    default page only at "/" while reserving its ``url_path``, so a bookmark of that address
    (or the way back after a login) would meet "Page not found" if ``page`` itself were the
    default."""

    def open_page() -> None:
        if not LEAVING:  # a switch now would rerun before the browser left for the cookie
            st.switch_page(page)

    return st.Page(
        open_page,
        title=page.title,
        url_path="home",
        default=True,
        visibility="hidden",
    )


user = current_user()
if user is None:
    login = st.Page("pages/login.py", title="Log in", url_path="signin", default=True)
    # A deep link shows the login form at its own address (no "Page not found" dialog over
    # the form); after the login the user lands on the page they asked for.
    deep = [
        st.Page("pages/login.py", title="Log in", url_path=url)
        for url in ("rate", "mine", *(page[3] for page in ADMIN_PAGES))
    ]
    nav = st.navigation([login, *deep], position="hidden")
elif st.session_state.get(MUST_CHANGE_KEY):
    # A weak admin password (the demo's admin/admin): nothing else opens until it changes.
    change = st.Page(
        "pages/change_password.py", title="New password", url_path="new-password", default=True
    )
    nav = st.navigation([change], position="hidden")
else:
    is_admin = user.role == Role.ADMIN
    # Admins land on Studies (see _landing), so looking around never claims a pair to rate.
    annotate = st.Page(
        "pages/annotate.py",
        title="Annotate",
        icon=":material/rate_review:",
        url_path="rate",
    )
    my_ratings = st.Page(
        "pages/my_ratings.py", title="My ratings", icon=":material/history:", url_path="mine"
    )
    menu = {"Rate": [annotate, my_ratings]}
    if is_admin:
        menu["Admin"] = [
            st.Page(path, title=title, icon=icon, url_path=url)
            for (path, title, icon, url) in ADMIN_PAGES
            if (HERE / path).exists()
        ]
        menu["Rate"].append(_landing(menu["Admin"][0]))
    else:
        reviewer = user.role == Role.REVIEWER
        own = [page for page in ADMIN_PAGES if reviewer and page[3] in REVIEWER_PAGES]
        if own:
            menu["Review"] = [st.Page(p, title=t, icon=i, url_path=u) for (p, t, i, u) in own]
        menu["Rate"] += [
            st.Page(_admins_only, title=title, url_path=url, visibility="hidden")
            for (_path, title, _icon, url) in ADMIN_PAGES
            if not (reviewer and url in REVIEWER_PAGES)
        ]
        menu["Rate"].append(_landing(annotate))
    menu[user.username] = [
        st.Page(_log_out, title="Log out", icon=":material/logout:", url_path="logout")
    ]
    nav = st.navigation(menu)
nav.run()
