"""Take the README's screenshots in headless Chromium.

Usage: .venv/bin/python docs/screenshot.py [annotate|results] [OUT.png]

- ``annotate`` (docs/annotate.png): a throw-away demo database, logged in as annotator1 (who
  chooses a new password first, as every demo account must), part of the rubric filled in so
  the page looks in use.
- ``results`` (docs/results.png): a synthetic study (three systems in four prompt categories,
  three raters per pair, a fair and a position-biased judge), the admin's Results page.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent))

from tests.browser_support import chromium, init_demo, log_in, serve_app, wait_idle  # noqa: E402


def results(out: Path) -> None:
    from sidebyside.annotate.auth import create_user
    from sidebyside.annotate.synthetic import SyntheticSpec, build_synthetic_study
    from sidebyside.foundation.db import get_engine, init_db

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        db_url = f"sqlite:///{tmp / 'results.db'}"
        engine = init_db(get_engine(db_url))
        spec = SyntheticSpec(
            name="base-vs-tuned",
            strengths=[0.0, 0.35, 0.5],
            n_prompts=150,
            n_annotators=6,
            per_pair=3,
            judges={"judge:fair": 0.0, "judge:position-biased": 0.5},
            n_categories=4,
        )
        build_synthetic_study(engine, spec)
        from sqlmodel import Session

        with Session(engine) as session:
            create_user(session, username="admin", password="screenshot-pw-2026", role="admin")
            session.commit()
        engine.dispose()
        with (
            serve_app(db_url, tmp / "streamlit.log") as url,
            chromium(tmp / "profile", width=1366, height=1500) as page,  # a 1366-px laptop's width
        ):
            log_in(page, url, "admin", "screenshot-pw-2026", landing="Studies")
            page.get_by_role("link", name="Results").click()
            # The card opens the page (its own tab); the picture shows who wins.
            page.get_by_role("tab", name="Who wins").click(timeout=120_000)
            page.get_by_text("A source names a winner").first.wait_for(timeout=120_000)
            wait_idle(page)
            page.wait_for_timeout(3000)  # let the charts draw
            page.mouse.move(0, 0)
            page.screenshot(path=str(out))
    print(f"wrote {out}")


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        db_url = f"sqlite:///{tmp / 'demo.db'}"
        init_demo(db_url)
        with (
            serve_app(db_url, tmp / "streamlit.log") as url,
            # A laptop screen: prompt, both panes, the score grid and the vote buttons fit.
            chromium(tmp / "profile", width=1440, height=900) as page,
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
            page.evaluate(
                "document.querySelectorAll('[data-testid=stMain]').forEach(e => e.scrollTo(0, 0))"
            )
            page.mouse.move(0, 0)
            page.screenshot(path=str(out))
    print(f"wrote {out}")


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "annotate"
    if which not in ("annotate", "results"):
        sys.exit("usage: docs/screenshot.py [annotate|results] [OUT.png]")
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else HERE / f"{which}.png"
    (results if which == "results" else main)(target)
