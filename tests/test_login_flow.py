"""Issue 9 finding 9 through the app: the login page throttles, and the demo admin must
choose a new password before any other page opens."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from sidebyside.annotate.auth import create_user
from sidebyside.foundation.db import unit_of_work
from tests.test_pages import APP, TIMEOUT


def _log_in(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input[0].input(username)
    at.text_input[1].input(password)
    return at.button(key="FormSubmitter:login-Log in").click().run()


def test_demo_admin_must_choose_a_new_password_first(engine):
    with unit_of_work(engine) as s:
        create_user(s, username="admin", password="admin", role="admin", enforce_rules=False)
    at = _log_in(AppTest.from_file(APP, default_timeout=TIMEOUT).run(), "admin", "admin")
    assert not at.exception
    assert [t.value for t in at.title] == ["Choose a new password"]
    at = at.run()  # a reload (or any page) still lands here until the password changes
    assert [t.value for t in at.title] == ["Choose a new password"]
    current, new, again = at.text_input
    current.input("admin")
    new.input("123")
    again.input("123")
    at = at.button(key="FormSubmitter:change_password-Set password").click().run()
    assert "at least 10 characters" in at.error[0].value
    at.text_input[0].input("admin")
    at.text_input[1].input("violet-harbor-58")
    at.text_input[2].input("violet-harbor-58")
    at = at.button(key="FormSubmitter:change_password-Set password").click().run()
    assert not at.exception
    assert "Choose a new password" not in [t.value for t in at.title]


def test_the_login_page_throttles_repeated_failures(engine):
    with unit_of_work(engine) as s:
        create_user(s, username="ann", password="right-horse-42")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    for _ in range(6):
        at = _log_in(at, "ann", "wrong")
    assert "Too many failed logins" in at.error[0].value
    at = _log_in(at, "ann", "right-horse-42")  # even the right password waits now
    assert "Too many failed logins" in at.error[0].value
