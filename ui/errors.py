"""Errors on a page: a user error's own message; anything else a plain message with an id,
the traceback in the server log under the same id.

Every page routes what it catches through ``error_text`` / ``show_error``: a ``UserError``
(bad input, unknown name, a vote that cannot be taken) shows its message, a ``ProviderError``
its message too; anything else is unexpected. Browsers never see SQL, server paths or
tracebacks (``client.showErrorDetails`` is off too): the user sees what failed, that nothing
was half-saved, that pressing again is safe, and an id to quote to the study admin, who finds
the details in the server log by that id.

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

from sidebyside.foundation.errors import ProviderError, UserError

log = logging.getLogger("sidebyside.errors")


def _unexpected(exc: BaseException, action: str) -> str:
    """Log ``exc`` with a new error id and return the message to show instead of it.

    ``action`` says what was being done ("saving your vote"). A busy or unreachable database
    is worth retrying at once; anything else may need the admin."""
    error_id = secrets.token_hex(4)
    log.error("error id %s while %s", error_id, action, exc_info=exc)
    report = "If it keeps failing, tell the study admin"
    if isinstance(exc, OperationalError | PoolTimeout):
        cause = "the database is busy or unreachable right now"
    elif isinstance(exc, SQLAlchemyError):
        cause = "the database refused the change"
    else:
        cause = "an unexpected error happened on the server"
        report = "Unexpected error, please report it: tell the study admin"
    return (
        f"Sorry: {cause} while {action}. Nothing was half-saved; press the button again to "
        f"retry. {report} the error id {error_id}."
    )


def error_text(exc: Exception, action: str) -> str:
    """What a page shows for ``exc``, caught while doing ``action``: a user error's own
    message, a provider failure's message, else the unexpected-error message with a new
    error id (the traceback logged under it)."""
    if isinstance(exc, UserError):
        return str(exc)
    if isinstance(exc, ProviderError):
        return f"The judge provider failed while {action}: {exc}"
    return _unexpected(exc, action)


def show_error(exc: Exception, action: str, prefix: str = "") -> None:
    """``st.error`` of ``error_text``; ``prefix`` says what did not happen ("Not saved: ")."""
    import streamlit as st

    st.error(prefix + error_text(exc, action))


@contextmanager
def shown_as_message(action: str) -> Iterator[None]:
    """Around a page's own database work: an error shows its ``error_text`` and a Retry
    button, and stops the run (nothing after it draws on a half-read state)."""
    import streamlit as st

    try:
        yield
    except Exception as exc:  # noqa: BLE001 - the point: no traceback to the browser
        st.error(error_text(exc, action))
        if st.button("Retry", type="primary"):
            st.rerun()
        st.stop()
