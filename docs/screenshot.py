"""Take docs/annotate.png: the annotate page of the demo study in headless Chromium.

Usage: .venv/bin/python docs/screenshot.py [OUT.png]

Builds a throw-away demo database, serves the app on a free port, logs in as annotator1,
fills in part of the rubric so the page looks in use, and saves a screenshot.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from browser_support import chromium, init_demo, log_in, serve_app, wait_idle  # noqa: E402


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        db_url = f"sqlite:///{tmp / 'demo.db'}"
        init_demo(db_url)
        with (
            serve_app(db_url, tmp / "streamlit.log") as url,
            chromium(tmp / "profile", width=1280, height=1640) as page,
        ):
            log_in(page, url, "annotator1", "demo")
            groups = page.get_by_role("radiogroup")
            groups.nth(7).wait_for()
            wait_idle(page)
            for i, score in enumerate([4, 2, 5, 3]):  # a half-rated pair
                groups.nth(i).get_by_test_id("stRadioOption").nth(score - 1).click()
            page.get_by_role("textbox", name="Comment (optional)").fill(
                "B shows the script tag as text, as it should."
            )
            page.mouse.move(0, 0)
            page.screenshot(path=str(out))
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "annotate.png")
