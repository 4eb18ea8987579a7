"""Completion text -> verdict, with one tolerant pass; anything else is unparsed."""

from __future__ import annotations

import pytest

from sidebyside.judge.parsing import parse_pairwise, parse_single, shown_to_canonical

CRITERIA = ["Accuracy", "Relevance"]


@pytest.mark.parametrize(
    ("text", "winner"),
    [
        ('{"reasoning": "x", "winner": "A"}', "A"),
        ('{"winner": "b", "reasoning": "x"}', "B"),
        ('{"WINNER": "Tie"}', "tie"),
        ('```json\n{"reasoning": "x", "winner": "B"}\n```', "B"),
        ('```\n{"winner": "A"}\n```\nHope this helps.', "A"),
        ('Let me think.\n{"reasoning": "short {braces} ok", "winner": "Response B"} done', "B"),
        ('{"note": 1} then {"winner": "A"}', "A"),
        ('{"reasoning": "A is better", "winner": " a "}', "A"),
    ],
)
def test_pairwise_tolerant_pass(text, winner):
    parsed = parse_pairwise(text)
    assert parsed.ok and parsed.winner == winner


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no JSON object"),
        ("A is better.", "no JSON object"),
        ('{"winner": "A"', "no JSON object"),  # truncated
        ("{'winner': 'A'}", "no JSON object"),  # not JSON
        ('{"verdict": "A"}', 'no "winner" key'),
        ('{"winner": "C"}', "winner must be A, B or tie, got 'C'"),
        ('{"winner": ["A"]}', "winner must be A, B or tie"),
        ('{"winner": "both"}', "winner must be A, B or tie"),
    ],
)
def test_pairwise_unparsed_has_a_reason(text, problem):
    parsed = parse_pairwise(text)
    assert not parsed.ok and parsed.winner is None and problem in parsed.problem


def test_pairwise_reasoning_is_kept():
    parsed = parse_pairwise('{"reasoning": "  B cites the source. ", "winner": "B"}')
    assert parsed.reasoning == "B cites the source."


def test_single_scores():
    text = (
        '```json\n{"reasoning": "ok", "scores": {"accuracy": 4, "Relevance": "5"}, '
        '"overall": 8.0}\n```'
    )
    parsed = parse_single(text, criteria=CRITERIA, scale=(1, 5))
    assert parsed.ok
    assert parsed.scores == {"criteria": {"Accuracy": 4, "Relevance": 5}, "overall": 8}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"overall": 5}', 'no "scores" object'),
        ('{"scores": {"Accuracy": 4}, "overall": 5}', "score of 'Relevance'"),
        ('{"scores": {"Accuracy": 6, "Relevance": 1}, "overall": 5}', "score of 'Accuracy'"),
        ('{"scores": {"Accuracy": 3.5, "Relevance": 1}, "overall": 5}', "score of 'Accuracy'"),
        ('{"scores": {"Accuracy": true, "Relevance": 1}, "overall": 5}', "score of 'Accuracy'"),
        ('{"scores": {"Accuracy": 3, "Relevance": 1}, "overall": 11}', "overall must be"),
        ('{"scores": {"Accuracy": 3, "Relevance": 1}}', "overall must be"),
        ("Scores: 4 and 5", "no JSON object"),
    ],
)
def test_single_unparsed(text, problem):
    parsed = parse_single(text, criteria=CRITERIA, scale=(1, 5))
    assert not parsed.ok and problem in parsed.problem


@pytest.mark.parametrize(
    ("shown", "order", "canonical"),
    [("A", "ab", "a"), ("B", "ab", "b"), ("A", "ba", "b"), ("B", "ba", "a"), ("tie", "ba", "tie")],
)
def test_shown_to_canonical(shown, order, canonical):
    assert shown_to_canonical(shown, order) == canonical


def test_shown_to_canonical_rejects_nonsense():
    with pytest.raises(ValueError):
        shown_to_canonical("A", "a")
