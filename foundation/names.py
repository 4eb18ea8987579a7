"""The rules every user-given name follows: study, system, annotator, criterion and category
names alike, wherever they come from (a form, a command, an imported file, a rubric).

A name is Unicode-normalised (NFC) and trimmed, and refused when it is blank, or holds a
character that is invisible or changes how text around it looks: control characters (ESC,
BEL, NUL, tab, line breaks), format characters (zero-width spaces and joiners, the
bidirectional overrides and isolates such as U+202E, soft hyphens, BOMs), line and paragraph
separators, unpaired surrogates. ``base`` and ``base\\u200b`` would otherwise be two systems
that look identical, and an ESC sequence would reach a terminal through a report.

A new name that differs from an existing one only by case (or compatibility forms, e.g. a
full-width letter) is refused too: ``fold`` is the key two names are compared by.

>>> clean_name("  Caf\\u0065\\u0301 ", "study name")
'Café'
>>> name_problem("base\\u200b")
'holds an invisible or control character (U+200B ZERO WIDTH SPACE) at position 5'
>>> name_problem("   ")
'is blank'
>>> clash("BASE", ["tuned", "base"])
'base'
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from sidebyside.foundation.errors import InputError

#: Unicode categories no name may hold: controls, format characters (zero-width, bidi
#: overrides and isolates), line/paragraph separators, surrogates.
FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def normalise(text: str) -> str:
    """NFC, trimmed: the form a name is stored and compared in."""
    return unicodedata.normalize("NFC", text).strip()


def name_problem(text: str) -> str | None:
    """What is wrong with ``text`` as a name (after ``normalise``), or None."""
    text = normalise(text)
    if not text:
        return "is blank"
    for position, char in enumerate(text, start=1):
        if unicodedata.category(char) in FORBIDDEN_CATEGORIES:
            label = unicodedata.name(char, "")
            shown = f"U+{ord(char):04X}{' ' + label if label else ''}"
            return f"holds an invisible or control character ({shown}) at position {position}"
    return None


def clean_name(text: str, what: str) -> str:
    """``text`` as a stored name, or ``InputError`` saying which name (``what``: "study name",
    "system name in r.csv, line 3"...) and why."""
    if not isinstance(text, str):
        raise InputError(f"{what} must be text, got {type(text).__name__}")
    problem = name_problem(text)
    if problem:
        raise InputError(f"{what} {text!r} {problem}")
    return normalise(text)


def fold(name: str) -> str:
    """The key names are compared by: compatibility-normalised, case-folded."""
    return unicodedata.normalize("NFKC", normalise(name)).casefold()


def clash(name: str, existing: Iterable[str]) -> str | None:
    """The existing name that ``name`` differs from only by case or compatibility forms
    (an identical one is no clash: the caller decides what the same name means)."""
    key = fold(name)
    for other in existing:
        if other != name and fold(other) == key:
            return other
    return None
