"""The one error hierarchy (foundation/errors.py) and where it ends: the CLI prints a user
error's message with exit code 2 and reports anything else as a bug (exit code 1, traceback in
the log only); a page shows a user error's message and a bug as an error id."""

from __future__ import annotations

import logging
import re

import pytest
from typer.testing import CliRunner

from sidebyside.cli.main import app
from sidebyside.foundation.errors import (
    AssignmentError,
    ConfigError,
    FileInputError,
    InputError,
    ModelLoadError,
    NotFound,
    ProviderError,
    SidebysideError,
    SpecError,
    UserError,
)
from tests.test_pages import no_exception, page_as, world

__all__ = ["world"]  # the fixture, re-used

USER_ERRORS = (
    InputError,
    FileInputError,
    NotFound,
    AssignmentError,
    SpecError,
    ConfigError,
    ModelLoadError,
)
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


# --------------------------------------------------------------------------- the hierarchy


@pytest.mark.parametrize("cls", USER_ERRORS)
def test_every_user_error_is_a_sidebyside_error(cls):
    assert issubclass(cls, UserError) and issubclass(cls, SidebysideError)


def test_user_errors_are_apart_from_the_builtin_ones_a_bug_raises():
    # A programming bug's ValueError or KeyError can never be taken for a user error.
    for builtin in (ValueError, LookupError, RuntimeError):
        assert not issubclass(UserError, builtin)
    assert issubclass(ProviderError, SidebysideError) and not issubclass(ProviderError, UserError)
    assert ProviderError("HTTP 503", retryable=True, status=503).retryable


def test_a_file_error_keeps_its_place_in_the_message():
    err = FileInputError("o.csv", "'output' is empty", line=3, column="output")
    assert str(err) == "o.csv, line 3, column output: 'output' is empty"
    assert (err.file, err.line, err.column, err.message) == ("o.csv", 3, "output", err.message)


def test_the_services_raise_the_hierarchy(session, tmp_path):
    from sidebyside.annotate.studies import create_study
    from sidebyside.foundation.lookup import get_study
    from sidebyside.foundation.readers import read_table
    from sidebyside.judge.specs import parse_spec

    create_study(session, name="alpha", k=1)
    with pytest.raises(NotFound, match=r"no study 'beta' \(known studies: 'alpha'\)"):
        get_study(session, "beta")
    with pytest.raises(InputError, match="already exists"):
        create_study(session, name="alpha", k=1)
    with pytest.raises(SpecError):
        parse_spec("nonsense")
    with pytest.raises(FileInputError, match=r"r\.csv, line 3: expected 2 fields, found 1"):
        read_table("r.csv", b"a,b\n1,2\n3\n")


# --------------------------------------------------------------------------- the CLI


def test_cli_user_errors_exit_2_with_their_message(db_url, tmp_path):
    unknown = invoke("report", "nope")
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith("error: no study 'nope'") and "Traceback" not in unknown.output
    bad = tmp_path / "bad.csv"
    bad.write_text("item,annotator,value\n1,a,3\n1,b,high\n")
    res = invoke("agreement", str(bad), "--level", "interval")
    assert res.exit_code == 2
    assert res.stderr == (
        "error: "
        + str(bad)
        + ", line 3, column 'value': 'high' is not a number (level interval needs numbers; "
        "use --level nominal for labels)\n"
    )


def test_a_bad_setting_is_a_config_error_naming_the_variable(db_url, monkeypatch):
    from sidebyside.foundation.settings import get_settings

    monkeypatch.setenv("SIDEBYSIDE_LEASE_MINUTES", "-5")
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigError, match="SIDEBYSIDE_LEASE_MINUTES: .*greater than 0"):
            get_settings()
        res = invoke("study", "list")
    finally:
        monkeypatch.delenv("SIDEBYSIDE_LEASE_MINUTES")
        get_settings.cache_clear()
    assert res.exit_code == 2 and "error: bad settings: SIDEBYSIDE_LEASE_MINUTES" in res.stderr


def test_cli_usage_errors_are_still_clicks(db_url):
    res = invoke("report")
    assert res.exit_code == 2 and res.stderr.startswith("Usage: sidebyside report")
    assert "Missing argument" in res.stderr and "unexpected error" not in res.stderr


def test_cli_reports_a_bug_as_one_exit_1_and_logs_the_traceback(db_url, monkeypatch, caplog):
    import sidebyside.annotate.studies as studies

    def broken(*args, **kwargs):
        raise KeyError("system_a")  # the kind of bug a user must never see as "error: ..."

    monkeypatch.setattr(studies, "create_study", broken)
    with caplog.at_level(logging.ERROR, logger="sidebyside.errors"):
        res = invoke("study", "create", "exp")
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit)
    assert res.stderr.strip() == "error: unexpected error, please report: KeyError"
    assert res.stdout == "" and "Traceback" not in res.output
    [record] = [r for r in caplog.records if r.name == "sidebyside.errors"]
    assert record.exc_info[0] is KeyError and "study" in record.getMessage()
    assert "Traceback" in caplog.text and "broken" in caplog.text


def test_cli_shows_a_provider_failure_without_calling_it_a_bug(db_url, monkeypatch):
    import sidebyside.annotate.studies as studies

    def down(*args, **kwargs):
        raise ProviderError("HTTP 503: overloaded", retryable=True)

    monkeypatch.setattr(studies, "create_study", down)
    res = invoke("study", "create", "exp")
    assert res.exit_code == 1
    assert res.stderr.strip() == "error: judge provider failed: HTTP 503: overloaded"


# --------------------------------------------------------------------------- the pages


def _create_account(world, username: str):
    at = page_as(world["admin"], "annotators.py")
    form = {t.label: t for t in at.text_input}
    form["Username"].set_value(username)
    form["Password"].set_value("long-enough-pw-9")
    return at.button(key="FormSubmitter:add_user-Create account").click().run()


def test_a_page_shows_a_user_errors_message(world):
    at = _create_account(world, "no spaces allowed")
    no_exception(at)
    [shown] = [e.value for e in at.error]
    assert shown.startswith("invalid username 'no spaces allowed'")
    assert "error id" not in shown


def test_a_page_shows_a_bug_as_an_error_id_and_logs_the_traceback(world, monkeypatch, caplog):
    import sidebyside.annotate.auth as auth

    def broken(*args, **kwargs):
        raise KeyError("password_hash /srv/secret/path")

    monkeypatch.setattr(auth, "create_user", broken)
    with caplog.at_level(logging.ERROR, logger="sidebyside.errors"):
        at = _create_account(world, "newbie")
    no_exception(at)
    [shown] = [e.value for e in at.error]
    assert "unexpected error, please report" in shown.lower()
    error_id = re.search(r"error id ([0-9a-f]{8})", shown).group(1)
    assert "KeyError" not in shown and "/srv/secret" not in shown
    assert error_id in caplog.text and "Traceback" in caplog.text
    assert "/srv/secret/path" in caplog.text  # the details are in the server log only
