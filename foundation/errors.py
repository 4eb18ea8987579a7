"""The one error hierarchy: what sidebyside raises on purpose, and how each is shown.

``UserError`` and its subclasses are errors a user can fix (a bad file, an unknown study, a
missing extra). Their message says what was wrong and where; the CLI prints it as
``error: <message>`` on stderr with exit code 2, and a page shows it with ``st.error``.

``ProviderError`` is a judge provider's call that failed: not the user's fault, not a bug. The
judge runner catches it per request (retries it, counts it as a failure, stops the judge when
it is fatal); one that escapes (e.g. a batch submission) is shown like a user error's message
(CLI: ``error: judge provider failed: <message>``, exit code 1; pages: ``st.error``).

Anything else reaching the CLI or a page is a bug: shown as "unexpected error, please report"
(with an error id on a page), its traceback logged on the ``sidebyside.errors`` logger only.

>>> str(FileInputError("r.csv", "'text' is empty", line=3, column="text"))
"r.csv, line 3, column text: 'text' is empty"
>>> issubclass(NotFound, UserError), issubclass(ProviderError, UserError)
(True, False)
"""

from __future__ import annotations


class SidebysideError(Exception):
    """Root of every error sidebyside raises on purpose; anything else escaping is a bug."""


class UserError(SidebysideError):
    """Something the user can fix; the message says what and where. CLI: ``error: <message>``,
    exit code 2. Pages: the message in ``st.error``."""


class InputError(UserError):
    """A bad value: a command-line option, a form field, a record's content. Raised by the
    services that check what a user typed or uploaded."""


class FileInputError(InputError):
    """Bad input in a file, located as precisely as the format allows: raised by
    ``foundation.readers`` and every importer reading through it."""

    def __init__(
        self, file: str, message: str, line: int | None = None, column: int | str | None = None
    ) -> None:
        self.file, self.message, self.line, self.column = str(file), message, line, column
        super().__init__(f"{self.where}: {message}")

    @property
    def where(self) -> str:
        """``file, line 3, column output``, as much of it as is known."""
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.column is not None:
            where += f", column {self.column}"
        return where


class NotFound(UserError):
    """A name or id that matches nothing (study, user, system, pair, judge, template); the
    message lists what is known where that helps."""


class AssignmentError(UserError):
    """A vote, skip, undo or edit that cannot be taken (expired, not yours, invalid values):
    raised by ``annotate``'s queue and rating services, shown on the rating pages."""


class SpecError(UserError):
    """A judge spec string that cannot be understood: raised by ``judge.specs``."""


class ConfigError(UserError):
    """The installation or settings cannot do what was asked: a missing SDK or extra (the
    message names the pip extra), a missing API key, a missing WordNet, a bad setting."""


class ModelLoadError(UserError):
    """A model that cannot be loaded (``foundation.hf``); the message names the model and the
    reason."""


class ProviderError(SidebysideError):
    """A judge provider's call failed. ``retryable``: a retry may succeed (429, 5xx, timeout,
    broken body). ``fatal``: no call of this judge can succeed (bad key, unknown model): the
    runner stops the judge. Shown as described in this module's docstring."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
        fatal: bool = False,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status
        self.fatal = fatal
