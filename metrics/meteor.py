"""METEOR (Banerjee & Lavie 2005) through NLTK's implementation, with WordNet found offline.

NLTK's METEOR matches exact words, Porter stems and WordNet synonyms, so it needs the WordNet
database. It comes from, in order:

1. NLTK's own data (``corpora/wordnet`` on ``nltk.data.path``, e.g. after
   ``python -m nltk.downloader wordnet``);
2. the WordNet 3.0 database files of an operating-system package (Debian/Ubuntu
   ``wordnet-base``: /usr/share/wordnet, or wherever ``WNSEARCHDIR`` points). Those are not
   laid out as NLTK's data package: they lack the ``lexnames`` file NLTK's reader opens
   first, and NLTK only reads files under ``nltk.data.path`` (a sandbox that also refuses
   symlinks leading out of it). The loader bridges that: it registers the directory on
   ``nltk.data.path`` and serves the (fixed) WordNet 3.0 lexnames table itself;
3. else ``ConfigError``, saying how to install either.

Nothing is downloaded at run time.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from sidebyside.foundation.errors import ConfigError

DEBIAN_WORDNET_DIR = Path("/usr/share/wordnet")

#: The database files NLTK's WordNet reader needs for synonym lookups.
_POS = ("noun", "verb", "adj", "adv")
_REQUIRED = [f"{kind}.{pos}" for kind in ("index", "data") for pos in _POS]
_EXCEPTIONS = [f"{pos}.exc" for pos in _POS]

#: WordNet 3.0's lexicographer files (lexnames(5WN)): number, name, syntactic category. The
#: data files refer to them by number, so the table is fixed for a 3.0 database.
_LEXNAMES = (
    ["adj.all", "adj.pert", "adv.all", "noun.Tops"]
    + [
        f"noun.{n}"
        for n in [
            "act",
            "animal",
            "artifact",
            "attribute",
            "body",
            "cognition",
            "communication",
            "event",
            "feeling",
            "food",
            "group",
            "location",
            "motive",
            "object",
            "person",
            "phenomenon",
            "plant",
            "possession",
            "process",
            "quantity",
            "relation",
            "shape",
            "state",
            "substance",
            "time",
        ]
    ]
    + [
        f"verb.{n}"
        for n in [
            "body",
            "change",
            "cognition",
            "communication",
            "competition",
            "consumption",
            "contact",
            "creation",
            "emotion",
            "motion",
            "perception",
            "possession",
            "social",
            "stative",
            "weather",
        ]
    ]
    + ["adj.ppl"]
)
_CATEGORY = {"adj": 3, "adv": 4, "noun": 1, "verb": 2}

INSTALL_HINT = (
    "METEOR needs the WordNet database: install NLTK's copy with "
    "`python -m nltk.downloader wordnet`, or the operating system's "
    "(Debian/Ubuntu: `apt-get install wordnet-base`, files in /usr/share/wordnet; "
    "elsewhere point WNSEARCHDIR at a WordNet 3.0 dict directory)"
)

_TOKEN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")


def lexnames_text() -> str:
    """The lexnames file of WordNet 3.0, as NLTK's reader parses it."""
    assert len(_LEXNAMES) == 45
    return "".join(
        f"{i:02d}\t{name}\t{_CATEGORY[name.split('.')[0]]}\n" for i, name in enumerate(_LEXNAMES)
    )


def os_wordnet_reader(source: Path) -> Any:
    """NLTK's WordNet reader over an OS WordNet dict directory (e.g. Debian's wordnet-base):
    the directory is put on ``nltk.data.path`` (NLTK's path sandbox refuses any other root,
    and symlinks out of it, so it cannot be bridged by links) and the ``lexnames`` file, which
    OS packages leave out, is served from the fixed WordNet 3.0 table. Raises
    ``ConfigError`` naming the files that are missing."""
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    root = source.resolve()
    missing = [name for name in _REQUIRED + _EXCEPTIONS if not (root / name).is_file()]
    if missing:
        raise ConfigError(
            f"{source} is not a WordNet dict directory (missing {', '.join(missing)}). "
            + INSTALL_HINT
        )

    class _OSWordNetReader(WordNetCorpusReader):
        def open(self, file: str) -> Any:
            if file == "lexnames" and not (root / "lexnames").is_file():
                return io.StringIO(lexnames_text())
            return super().open(file)

        def map_wn(self, version: str = "wordnet") -> None:
            return None  # the mapping to NLTK's own WordNet serves only multilingual lookups

    if str(root) not in nltk.data.path:
        nltk.data.path.append(str(root))
    with warnings.catch_warnings():  # "multilingual functions are not available": not needed
        warnings.simplefilter("ignore")
        return _OSWordNetReader(str(root), None)


def _os_wordnet_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("WNSEARCHDIR"):
        dirs.append(Path(os.environ["WNSEARCHDIR"]))
    if os.environ.get("WNHOME"):
        dirs.append(Path(os.environ["WNHOME"]) / "dict")
    return [*dirs, DEBIAN_WORDNET_DIR]


@lru_cache(maxsize=1)
def load_wordnet() -> Any:
    """A WordNet corpus reader for METEOR (NLTK's data first, then the OS package); raises
    ``ConfigError`` with install instructions when neither is there."""
    import nltk

    try:
        nltk.data.find("corpora/wordnet")
    except LookupError:
        pass
    else:
        from nltk.corpus import wordnet

        wordnet.ensure_loaded()
        return wordnet
    for source in _os_wordnet_dirs():
        if (source / "data.noun").is_file():
            return os_wordnet_reader(source)
    raise ConfigError("no WordNet database found. " + INSTALL_HINT)


def wordnet_available() -> bool:
    try:
        load_wordnet()
    except ConfigError:
        return False
    return True


class _NoSynonyms:
    """A stand-in WordNet with no synsets: METEOR with exact and stem matches only."""

    def synsets(self, _word: str) -> list:
        return []


NO_WORDNET = _NoSynonyms()


def tokenize(text: str) -> list[str]:
    """Words (with inner apostrophes) and single punctuation marks; no data files needed."""
    return _TOKEN.findall(text)


def meteor(prediction: str, references: str | Sequence[str], *, wordnet: Any = None) -> float:
    """Sentence METEOR (0-1) of one prediction against its best reference, NLTK's defaults
    (alpha 0.9, beta 3, gamma 0.5, lower-cased, Porter stems, WordNet synonyms)."""
    from nltk.translate.meteor_score import meteor_score

    refs = [references] if isinstance(references, str) else list(references)
    return float(
        meteor_score(
            [tokenize(r) for r in refs],
            tokenize(prediction),
            wordnet=load_wordnet() if wordnet is None else wordnet,
        )
    )


def meteor_scores(
    predictions: Sequence[str], references: Sequence[Sequence[str]], *, wordnet: Any = None
) -> list[float]:
    """Per-prompt METEOR (0-1), best reference each."""
    wn = load_wordnet() if wordnet is None else wordnet
    return [meteor(p, r, wordnet=wn) for p, r in zip(predictions, references, strict=True)]
