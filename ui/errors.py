"""Unexpected errors on a page: a plain message with an id for the annotator, the traceback
in the server log under the same id.

Browsers never see SQL, server paths or tracebacks (``client.showErrorDetails`` is off too);
the annotator sees what failed, that nothing was half-saved, that pressing again is safe, and
an id to quote to the study admin, who finds the details in the server log by that id.

Streamlit's own control flow (``st.rerun()``, ``st.stop()``) raises BaseExceptions that are
not ``Exception``, so it passes through untouched.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger("sidebyside.errors")


def error_message(exc: BaseException, action: str) -> str:
    """Log ``exc`` with a new error id and return the message to show instead of it.

    ``action`` says what was being done ("saving your vote"). A busy or unreachable database
    is worth retrying at once; anything else may need the admin."""
    error_id = secrets.token_hex(4)
    log.error("error id %s while %s", error_id, action, exc_info=exc)
    if isinstance(exc, OperationalError | PoolTimeout):
        cause = "the database is busy or unreachable right now"
    elif isinstance(exc, SQLAlchemyError):
        cause = "the database refused the change"
    else:
        cause = "something unexpected went wrong on the server"
    return (
        f"Sorry: {cause} while {action}. Nothing was half-saved; press the button again to "
        f"retry. If it keeps failing, tell the study admin the error id {error_id}."
    )


@contextmanager
def shown_as_message(action: str) -> Iterator[None]:
    """Around a page's own database work: an unexpected error shows the message and a
    Retry button, and stops the run (nothing after it draws on a half-read state)."""
    import streamlit as st

    try:
        yield
    except Exception as exc:  # noqa: BLE001 - the point: no traceback to the browser
        st.error(error_message(exc, action))
        if st.button("Retry", type="primary"):
            st.rerun()
        st.stop()
