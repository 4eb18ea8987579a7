"""Prompt templates, rendering, the cache key and the planned calls."""

from __future__ import annotations

from sqlmodel import Session

from sidebyside.foundation.rubric import default_rubric
from sidebyside.judge.specs import parse_spec
from sidebyside.judge.tasks import PlanOptions, build_tasks, cache_key
from sidebyside.judge.templates import PROMPTS_DIR, load_template, render_pairwise, render_single
from tests.judge_helpers import make_study


def test_every_template_file_loads():
    names = [p.stem for p in PROMPTS_DIR.glob("*.txt")]
    assert {"pairwise_v1", "single_v1"} <= set(names)
    for name in names:
        template = load_template(name)
        assert template.system and template.user and "$reference" in template.reference


def test_pairwise_prompt_content():
    rubric = default_rubric()
    system, user = render_pairwise(
        load_template("pairwise_v1"),
        rubric=rubric,
        prompt="Add 2+2.",
        response_a="It is 4. Costs $5 {not a placeholder} $prompt",
        response_b="Four.",
    )
    assert system["role"] == "system" and user["role"] == "user"
    assert "Penalise unnecessary verbosity" in system["content"]
    assert all(c.name in system["content"] for c in rubric.criteria)
    assert '"winner": "A" | "B" | "tie"' in system["content"]
    text = user["content"]
    assert text.index("It is 4.") < text.index("Four.")
    assert "$5 {not a placeholder} $prompt" in text  # responses are inserted literally
    assert "reference_answer" not in text


def test_reference_section_and_tie_rule():
    rubric = default_rubric().model_copy(update={"allow_ties": False})
    system, user = render_pairwise(
        load_template("pairwise_v1"),
        rubric=rubric,
        prompt="p",
        response_a="a",
        response_b="b",
        reference="The answer is 42.",
    )
    assert "<reference_answer>\nThe answer is 42.\n</reference_answer>" in user["content"]
    assert 'do not answer "tie"' in system["content"]


def test_single_prompt_lists_every_criterion_with_the_scale():
    rubric = default_rubric()
    system, user = render_single(
        load_template("single_v1"), rubric=rubric, prompt="p", response="r"
    )
    for c in rubric.criteria:
        assert f'"{c.name}": <1-5>' in system["content"]
    assert "<response>\nr\n</response>" in user["content"]


def test_cache_key_covers_what_changes_the_answer():
    base = dict(
        provider="openai",
        model="m",
        base_url="u",
        messages=[{"role": "user", "content": "x"}],
        sampling={"temperature": 0},
        template_version="pairwise_v1",
    )
    key = cache_key(**base)
    assert key == cache_key(**base) and len(key) == 64
    for field, value in [
        ("provider", "anthropic"),
        ("model", "m2"),
        ("base_url", "v"),
        ("messages", [{"role": "user", "content": "y"}]),
        ("sampling", {"temperature": 0.5}),
        ("template_version", "x"),
    ]:
        assert cache_key(**(base | {field: value})) != key


def test_tasks_per_pair_order_and_reference(session: Session):
    study = make_study(session, n_prompts=3, systems=("a", "b", "c"), references=True)
    specs = [parse_spec("baseline:longest"), parse_spec("openai:m@http://127.0.0.1:9/v1")]
    tasks = build_tasks(session, study=study, specs=specs, options=PlanOptions())
    assert len(tasks) == 3 * 3 * 2 * 2  # prompts x pairs x judges x orders
    assert [t.order for t in tasks[:4]] == ["ab", "ba", "ab", "ba"]
    assert all(t.template_version == "pairwise_v1" for t in tasks)
    assert len({t.slot for t in tasks}) == len(tasks)
    # The same messages for both judges, different keys (provider and model differ).
    assert tasks[0].request.messages == tasks[2].request.messages
    assert tasks[0].cache_key != tasks[2].cache_key
    ref = build_tasks(session, study=study, specs=specs, options=PlanOptions(reference=True))
    assert all(t.template_version == "pairwise_v1+ref" for t in ref)
    assert "<reference_answer>" in ref[0].request.messages[1]["content"]
    single = build_tasks(session, study=study, specs=specs[1:], options=PlanOptions(mode="single"))
    assert [t.order for t in single[:2]] == ["a", "b"] and all(t.output_id for t in single)
    assert len({t.cache_key for t in single}) == 9  # 9 outputs, each scored in two pairs


def test_equal_texts_share_a_key_across_studies(session: Session):
    one = make_study(session, name="one", n_prompts=2)
    two = make_study(session, name="two", n_prompts=2)
    spec = [parse_spec("openai:m@http://127.0.0.1:9/v1")]
    keys_one = [
        t.cache_key for t in build_tasks(session, study=one, specs=spec, options=PlanOptions())
    ]
    keys_two = [
        t.cache_key for t in build_tasks(session, study=two, specs=spec, options=PlanOptions())
    ]
    assert keys_one == keys_two
