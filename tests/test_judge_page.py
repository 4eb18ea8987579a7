"""pages/judges.py with streamlit's AppTest: admin gate, estimate, run, browse."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from sidebyside.annotate.auth import create_user
from sidebyside.ui.common import USER_KEY
from tests.judge_helpers import make_study

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "judges.py")


@pytest.fixture
def admin_id(session: Session) -> int:
    return create_user(session, username="boss", password="pw-123456-xyz", role="admin").id


def _page(user_id: int) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state[USER_KEY] = user_id
    return at.run()


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_annotators_are_turned_away(session: Session):
    make_study(session)
    user = create_user(session, username="ann", password="pw-123456-xyz", role="annotator")
    at = _page(user.id)
    assert [e.value for e in at.error] == ["This page is for admins only."]
    assert not at.text_area


def test_estimate_run_and_browse(session: Session, admin_id: int):
    make_study(session, n_prompts=3)
    at = _page(admin_id)
    assert not at.exception
    assert "No judgments on this study yet." in [i.value for i in at.info]
    at.text_area(key="judge_specs").input("baseline:longest\nbaseline:shortest")
    _button(at, "Estimate cost").click().run()
    assert not at.exception and not at.error
    estimate = at.dataframe[0].value
    assert list(estimate["judge"]) == ["baseline:longest", "baseline:shortest"]
    assert list(estimate["to send"]) == [6, 6]
    _button(at, "Run judges").click().run()
    assert not at.exception and not at.error
    summary = at.dataframe[1].value
    assert list(summary["b"]) == [3, 0] and list(summary["a"]) == [0, 3]
    # Browse: the first judge, one pair, both orders side by side.
    assert at.selectbox(key="browse_judge").value == "baseline:longest (pairwise)"
    texts = " ".join(m.value for m in at.markdown)
    assert "Order ab: Response A = base" in texts and "Order ba: Response A = tuned" in texts
    assert "said **B** → tuned" in texts and "said **A** → tuned" in texts
    assert any("Verdict: **tuned**" in s.value for s in at.success)
    at.selectbox(key="browse_judge").select("baseline:shortest (pairwise)").run()
    assert any("Verdict: **base**" in s.value for s in at.success)


def test_bad_spec_is_reported(session: Session, admin_id: int):
    make_study(session)
    at = _page(admin_id)
    at.text_area(key="judge_specs").input("gpt-4")
    _button(at, "Run judges").click().run()
    assert not at.exception
    assert any("must look like PROVIDER:MODEL" in e.value for e in at.error)


def test_unknown_template_is_reported_before_any_call(session: Session, admin_id: int):
    make_study(session)
    at = _page(admin_id)
    at.text_area(key="judge_specs").input("baseline:longest")
    at.text_input(key="judge_template").input("pairwise_v9")
    _button(at, "Estimate cost").click().run()
    assert not at.exception
    assert any("no prompt template 'pairwise_v9'" in e.value for e in at.error)


def test_model_text_is_not_rendered_as_html(session: Session, admin_id: int):
    make_study(session, n_prompts=1, texts={"base": "<script>alert(1)</script>", "tuned": "ok"})
    at = _page(admin_id)
    at.text_area(key="judge_specs").input("baseline:longest")
    _button(at, "Run judges").click().run()
    assert not at.exception
    # The verdict browser shows outputs through ui/render.py: the tag arrives escaped, as text.
    bodies = [h.proto.body for h in at.get("html")]
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in b for b in bodies)
    assert not any("<script>alert" in b for b in bodies)
    assert all(not m.proto.allow_html for m in at.markdown)
