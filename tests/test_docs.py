"""The contributor's guide stays true: every file or folder it names exists, and README links it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "architecture.md"

#: `a/b.py`, `judge/providers/<name>.py` (a placeholder: only its folder must exist), `pages/`.
_PATH = re.compile(r"`((?:[a-z_]+/)+(?:[<>\w.-]+\.(?:py|txt|json|md|toml))?)`")


def named_paths(text: str) -> list[str]:
    """Repository paths in backticks (``ui/db.py``, ``judge/providers/<name>.py``, ``pages/``)."""
    return _PATH.findall(text)


def test_every_path_in_the_guide_exists():
    paths = named_paths(GUIDE.read_text(encoding="utf-8"))
    assert len(paths) > 30  # the pattern really reads the guide
    missing = []
    for name in paths:
        if name.startswith(("../shared/", "sidebyside/")):  # beside the repo; inside the wheel
            continue
        path = ROOT / name
        if "<" in name:  # a placeholder file: its folder must exist
            path = path.parent
        if not path.exists():
            missing.append(name)
    assert not missing, f"docs/architecture.md names files that do not exist: {missing}"


def test_named_paths_reads_placeholders_and_folders():
    assert named_paths("`tests/test_<statistic>.py` `analysis/`") == [
        "tests/test_<statistic>.py",
        "analysis/",
    ]


def test_readme_links_the_guide():
    assert "docs/architecture.md" in (ROOT / "README.md").read_text(encoding="utf-8")
