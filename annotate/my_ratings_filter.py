"""Finding one's own ratings on *My ratings* (issue 22): search by text, filter by choice,
date and category. Pure: the page passes its ``MyRating`` rows and the filter values.

>>> from datetime import UTC, datetime
>>> from sidebyside.annotate.my_ratings import MyRating
>>> r = MyRating(1, "Explain photosynthesis", "A", {}, "clear", datetime(2026, 1, 2, tzinfo=UTC),
...              None, "p7", "science")
>>> [x.number for x in filter_ratings([r], text="PHOTO")], filter_ratings([r], choices={"B"})
([1], [])
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sidebyside.annotate.my_ratings import MyRating

#: What a rating without a category is filed under in the category filter.
NO_CATEGORY = "(no category)"


def filter_ratings(
    rows: Iterable[MyRating],
    *,
    text: str = "",
    choices: set[str] | None = None,
    categories: set[str] | None = None,
    since: date | None = None,
    until: date | None = None,
) -> list[MyRating]:
    """The rows matching every filter given: ``text`` (each word, any case) in the prompt,
    its id, the category or the comment; the choice as shown ("A", "B", "tie"); the category
    (``NO_CATEGORY`` for none); rated on or between the dates (UTC)."""
    words = text.casefold().split()
    out = []
    for r in rows:
        haystack = " ".join([r.prompt, r.prompt_id, r.category or "", r.comment]).casefold()
        if any(w not in haystack for w in words):
            continue
        if choices and r.preference not in choices:
            continue
        if categories and (r.category or NO_CATEGORY) not in categories:
            continue
        day = r.rated_at.date()
        if (since and day < since) or (until and day > until):
            continue
        out.append(r)
    return out


def category_options(rows: Iterable[MyRating]) -> list[str]:
    """The categories of the rows, for the filter (sorted; ``NO_CATEGORY`` last)."""
    found = {r.category or NO_CATEGORY for r in rows}
    return sorted(found - {NO_CATEGORY}) + ([NO_CATEGORY] if NO_CATEGORY in found else [])
