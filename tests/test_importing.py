"""Import: formats, every bad-input case, all-or-nothing, re-import."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, func, select

from sidebyside.annotate.importing import import_sources
from sidebyside.annotate.studies import create_study
from sidebyside.foundation.errors import FileInputError, InputError
from sidebyside.foundation.models import Output, Pair, Prompt, System
from tests.conftest import make_long_csv


def counts(session: Session) -> tuple[int, int, int, int]:
    return tuple(
        session.exec(select(func.count()).select_from(t)).one()
        for t in (System, Prompt, Output, Pair)
    )


@pytest.fixture
def study(session: Session):
    return create_study(session, name="imp", seed=0)


def test_long_csv_pairs_every_two_systems(session, study):
    report = import_sources(
        session, study=study, sources=[("o.csv", make_long_csv(4, ("x", "y", "z")))]
    )
    assert (report.systems_added, report.prompts_added, report.outputs_added) == (3, 4, 12)
    assert report.pairs_added == 4 * 3  # C(3,2) per prompt
    assert counts(session) == (3, 4, 12, 12)


def test_baseline_pairing_only_pairs_against_baseline(session, study):
    report = import_sources(
        session,
        study=study,
        sources=[("o.csv", make_long_csv(4, ("x", "y", "z")))],
        pairing="baseline",
        baseline="y",
    )
    assert report.pairs_added == 4 * 2
    base = session.exec(select(System).where(System.name == "y")).one()
    base_outputs = {o.id for o in session.exec(select(Output).where(Output.system_id == base.id))}
    for pair in session.exec(select(Pair)):
        assert pair.output_b_id in base_outputs  # "SYSTEM vs BASELINE": baseline is side b


def test_unknown_baseline_is_an_error(session, study):
    with pytest.raises(InputError, match="baseline system 'nope'"):
        import_sources(
            session,
            study=study,
            sources=[("o.csv", make_long_csv(2))],
            pairing="baseline",
            baseline="nope",
        )
    assert counts(session) == (0, 0, 0, 0)


def test_pairs_jsonl_imported_exactly_as_given(session, study):
    rows = [
        {
            "prompt_id": 1,
            "prompt": "P1",
            "system_a": "m1",
            "output_a": "a1",
            "system_b": "m2",
            "output_b": "b1",
        },
        {
            "prompt_id": 1,
            "prompt": "P1",
            "system_a": "m1",
            "output_a": "a1",
            "system_b": "m3",
            "output_b": "c1",
        },
        {
            "prompt_id": 2,
            "prompt": "P2",
            "system_a": "m3",
            "output_a": "c2",
            "system_b": "m2",
            "output_b": "b2",
            "reference": "R2",
        },
    ]
    data = "\n".join(json.dumps(r) for r in rows).encode()
    report = import_sources(session, study=study, sources=[("p.jsonl", data)])
    assert report.files == [("p.jsonl", "pairs")]
    assert report.pairs_added == 3  # m2-m3 on prompt 1 is not invented
    assert counts(session) == (3, 2, 5, 3)
    p2 = session.exec(select(Prompt).where(Prompt.external_id == "2")).one()
    assert p2.reference == "R2"


def test_alpaca_eval_files_one_per_system_are_joined_by_instruction(session, study):
    a = [
        {"instruction": "Say hi", "output": "hi", "generator": "base"},
        {"instruction": "Count", "output": "1 2 3", "generator": "base"},
    ]
    b = [
        {"instruction": "Count", "output": "1, 2, 3", "generator": "tuned"},
        {"instruction": "Say hi", "output": "", "generator": "tuned"},
    ]
    report = import_sources(
        session,
        study=study,
        sources=[("base.json", json.dumps(a).encode()), ("tuned.json", json.dumps(b).encode())],
    )
    assert report.prompts_added == 2 and report.pairs_added == 2
    assert report.empty_outputs == 1
    # A second system file later still joins the same prompts.
    c = [{"instruction": "Count", "output": "one two three", "generator": "third"}]
    report = import_sources(session, study=study, sources=[("c.json", json.dumps(c).encode())])
    assert report.prompts_added == 0 and report.pairs_added == 2


def test_empty_outputs_are_imported_and_counted(session, study):
    data = b"prompt_id,prompt,system,output\n1,Q,base,\n1,Q,tuned,  \n2,Q2,base,x\n2,Q2,tuned,y\n"
    report = import_sources(session, study=study, sources=[("o.csv", data)])
    assert report.empty_outputs == 2 and report.pairs_added == 2
    assert "2 outputs are empty" in report.summary()


def test_reimport_is_harmless(session, study):
    src = [("o.csv", make_long_csv(5))]
    import_sources(session, study=study, sources=src)
    before = counts(session)
    report = import_sources(session, study=study, sources=src)
    assert counts(session) == before
    assert (report.outputs_added, report.pairs_added, report.unchanged) == (0, 0, 10)


def test_multiline_csv_cells_keep_line_numbers(session, study):
    data = (
        b'prompt_id,prompt,system,output\n1,"multi\nline",base,x\n'
        b'1,"multi\nline",tuned,\n2,,base,z\n'
    )
    with pytest.raises(FileInputError) as exc:
        import_sources(session, study=study, sources=[("m.csv", data)])
    assert (exc.value.line, exc.value.column) == (6, "prompt")


BAD_INPUTS = [
    # (file name, bytes, line, column, message fragment)
    ("a.csv", b"prompt_id,prompt,output\n1,Q,x\n", 1, None, "missing column(s) system"),
    (
        "b.csv",
        b"prompt_id,prompt,system,output\n1,Q,s,x\n1,Q,s,y\n",
        3,
        "prompt_id",
        "duplicate prompt_id '1' for system 's' (first on line 2)",
    ),
    (
        "c.csv",
        b"prompt_id,prompt,system_a,output_a,system_b,output_b\n1,Q,m,x,m,y\n",
        2,
        "system_b",
        "system 'm' is on both sides",
    ),
    ("d.csv", b"prompt_id,prompt,system,output\n1,Q,s,caf\xe9\n", 2, 10, "not valid UTF-8"),
    (
        "e.jsonl",
        b'{"prompt_id": 1, "prompt": "Q", "system": "s", "output": "x"}\n{"prompt_id": 2,\n',
        2,
        17,
        "malformed JSON",
    ),
    (
        "f.jsonl",
        b'{"prompt_id": 1, "prompt": "Q", "system": "s"}\n',
        1,
        None,
        "missing column(s) output",
    ),
    ("g.csv", b"prompt_id,prompt,system,output\n1,Q,,x\n", 2, "system", "'system' is empty"),
    ("h.csv", b"prompt_id,prompt,system,output\n1,Q,s,x,extra\n", 2, None, "expected 4 fields"),
    (
        "i.csv",
        b"prompt_id,prompt,system,output\n1,Q,s,x\n1,Other,t,y\n",
        3,
        "prompt",
        "different prompt text",
    ),
    (
        "j.json",
        b'[{"instruction": "Q", "output": "x"}]',
        1,
        "generator",
        "missing field(s) generator",
    ),
    ("k.json", b'{"instruction": "Q"}', 1, 1, "expected a JSON array"),
    ("l.txt", b"whatever", None, None, "unknown file type '.txt'"),
    ("m.csv", b"", 1, None, "the file is empty"),
    # an unclosed quote used to swallow the rest of the file into one cell
    ("n.csv", b'prompt_id,prompt,system,output\n1,Q,s,"x\n2,Q,s,y\n', 2, None, "never closed"),
    # issue 9 finding 8: NUL bytes, deep nesting and over-long names were stored or crashed
    ("o.csv", b"prompt_id,prompt,system,output\n1,Q,s,ab\x00c\n", 2, 9, "NUL byte"),
    (
        "p.jsonl",
        b'{"prompt_id": "1", "prompt": "Q", "system": "s", "output": "a\\u0000"}\n',
        1,
        "output",
        "NUL character",
    ),
    ("q.jsonl", b"[" * 100_000 + b"]" * 100_000 + b"\n", 1, None, "nested too deeply"),
    ("r.json", b"[" * 100_000 + b"]" * 100_000, None, None, "nested too deeply"),
    (
        "s.csv",
        b"prompt_id,prompt,system,output\n1,Q," + b"x" * 10_000 + b",out\n",
        2,
        "system",
        "'system' has at most 200 characters, got 10000",
    ),
    (
        "t.jsonl",
        json.dumps({"prompt_id": "p" * 201, "prompt": "Q", "system": "s", "output": "o"}).encode()
        + b"\n",
        1,
        "prompt_id",
        "at most 200 characters",
    ),
    (
        "u.csv",
        b"prompt_id,prompt,system,output,category\n1,Q,s,o," + b"c" * 101 + b"\n",
        2,
        "category",
        "at most 100 characters",
    ),
]


def test_csv_fields_up_to_the_upload_limit_are_read(session, study):
    """A 1 MiB output in a CSV cell (csv's own cap is 128 KiB), as JSONL would carry it."""
    big = "word " * 200_000
    data = f'prompt_id,prompt,system,output\n1,Q,s,"{big}"\n1,Q,t,short\n'.encode()
    import_sources(session, study=study, sources=[("big.csv", data)])
    assert session.exec(select(func.max(func.length(Output.text)))).one() == len(big)


@pytest.mark.parametrize(("name", "data", "line", "column", "fragment"), BAD_INPUTS)
def test_bad_input_names_file_line_column_and_writes_nothing(
    session, study, name, data, line, column, fragment
):
    import_sources(session, study=study, sources=[("good.csv", make_long_csv(3))])
    before = counts(session)
    with pytest.raises(FileInputError) as exc:
        # A good file first: the bad one must roll it back too.
        import_sources(
            session, study=study, sources=[("new.csv", make_long_csv(2, ("u", "v"))), (name, data)]
        )
    err = exc.value
    assert err.file == name and fragment in err.message
    assert (err.line, err.column) == (line, column)
    assert str(err).startswith(name)
    assert counts(session) == before


def test_conflicting_reimport_rolls_back_everything(session, study):
    import_sources(session, study=study, sources=[("o.csv", make_long_csv(3))])
    before = counts(session)
    changed = make_long_csv(4).replace(b"tuned answer to 2", b"a different answer")
    with pytest.raises(FileInputError, match="already has a different output"):
        import_sources(session, study=study, sources=[("o2.csv", changed)])
    assert counts(session) == before  # p3 (new) was not added either


def test_same_prompt_and_system_across_files_must_agree(session, study):
    one = b"prompt_id,prompt,system,output\n1,Q,s,x\n"
    two = b"prompt_id,prompt,system,output\n1,Q,s,y\n"
    with pytest.raises(FileInputError, match="different output in one.csv"):
        import_sources(session, study=study, sources=[("one.csv", one), ("two.csv", two)])
    assert counts(session) == (0, 0, 0, 0)


def test_categories_from_every_format(session, study):
    long = (
        b"prompt_id,prompt,system,output,category\n"
        b"p1,Sort a list,base,b1,coding\np1,Sort a list,tuned,t1,coding\n"
        b"p2,Write a poem,base,b2,\np2,Write a poem,tuned,t2,writing\n"
    )
    pairs = json.dumps(
        {"prompt_id": "p3", "prompt": "Add 2+2", "system_a": "base", "output_a": "4",
         "system_b": "tuned", "output_b": "four", "category": "math"}
    ).encode()  # fmt: skip
    alpaca = json.dumps(
        [{"instruction": "Name a colour", "output": "red", "generator": "base",
          "dataset": "helpful_base"}]
    ).encode()  # fmt: skip
    first = import_sources(
        session, study=study, sources=[("l.csv", long), ("p.jsonl", pairs), ("a.json", alpaca)]
    )
    assert first.categories_added == 0  # p2's category came from its second row: a new prompt
    by_id = {p.external_id: p.category for p in session.exec(select(Prompt))}
    assert by_id["p1"] == "coding" and by_id["p2"] == "writing" and by_id["p3"] == "math"
    assert "helpful_base" in by_id.values()
    # A later file may add a missing category, and the report says so.
    no_cat = b"prompt_id,prompt,system,output\np9,New,base,x\np9,New,tuned,y\n"
    import_sources(session, study=study, sources=[("n.csv", no_cat)])
    later = b"prompt_id,prompt,system,output,category\np9,New,base,x,misc\n"
    filled = import_sources(session, study=study, sources=[("l.csv", later)])
    assert filled.categories_added == 1 and "1 existing prompts got a category" in filled.summary()
    # A later file may not change a category (and changes nothing else then).
    before = counts(session)
    more = b"prompt_id,prompt,system,output,category\np1,Sort a list,big,x,maths\n"
    with pytest.raises(FileInputError, match="already in the study with category 'coding'"):
        import_sources(session, study=study, sources=[("m.csv", more)])
    assert counts(session) == before


def test_one_prompt_with_two_categories_in_a_file_is_refused(session, study):
    bad = (
        b"prompt_id,prompt,system,output,category\n"
        b"p1,Sort a list,base,b1,coding\np1,Sort a list,tuned,t1,writing\n"
    )
    with pytest.raises(FileInputError) as err:
        import_sources(session, study=study, sources=[("c.csv", bad)])
    assert (err.value.line, err.value.column) == (3, "category")
    assert "'writing' here but 'coding' on line 2" in str(err.value)
    assert counts(session) == (0, 0, 0, 0)


# --- issue 9 finding 3: an import must not block annotators


def _statements_under_write_lock(engine, data: bytes, name: str) -> int:
    """SQL statements run between the import's SAVEPOINT and its RELEASE (on SQLite, the
    span the write lock is held); an executemany counts once."""
    from sqlalchemy import event

    from sidebyside.foundation.db import unit_of_work

    seen: list[str] = []

    def count(conn, cursor, statement, params, context, executemany) -> None:
        seen.append(statement.split()[0].upper())

    with unit_of_work(engine) as s:
        study = create_study(s, name=name, seed=0)
    event.listen(engine, "before_cursor_execute", count)
    try:
        with unit_of_work(engine) as s:
            import_sources(s, study=study, sources=[("o.csv", data)])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    start = seen.index("SAVEPOINT")
    end = len(seen) - seen[::-1].index("RELEASE")
    return end - start


def test_the_import_writes_in_a_few_bulk_statements_whatever_its_size(engine):
    """Before: one INSERT per prompt (flushed one by one) under the write lock, 16 s for 50k
    rows while every vote waited and failed. Now the lock covers a fixed handful."""
    small = _statements_under_write_lock(engine, make_long_csv(20), "small")
    large = _statements_under_write_lock(engine, make_long_csv(400), "large")
    assert large == small and large < 15


def test_votes_made_during_a_large_import_are_stored(engine):
    import threading

    from sidebyside.annotate.assignment import next_assignment, submit_rating
    from sidebyside.annotate.auth import create_user
    from sidebyside.foundation.db import unit_of_work

    with unit_of_work(engine) as s:
        rated = create_study(s, name="rated", k=1, seed=1)
        import_sources(s, study=rated, sources=[("o.csv", make_long_csv(60))])
        other = create_study(s, name="incoming", seed=2)
        people = [create_user(s, username=f"v{i}", password="pass1234-xyz") for i in range(4)]
    scores = {
        c: {"A": 3, "B": 3} for c in ("Accuracy", "Relevance", "Format compliance", "Fluency")
    }
    big = make_long_csv(5_000)
    started, errors, stored = threading.Event(), [], []

    def importer() -> None:
        started.set()
        with unit_of_work(engine) as s:
            import_sources(s, study=other, sources=[("big.csv", big)])

    def voter(user) -> None:
        started.wait()
        for _ in range(8):
            try:
                with unit_of_work(engine) as s:
                    a = next_assignment(s, study=rated, user=user)
                    r = submit_rating(
                        s, assignment_id=a.id, user_id=user.id, preference="A", scores=scores
                    )
                stored.append(r.id)
            except Exception as exc:  # noqa: BLE001 - every failure is reported below
                errors.append(exc)

    threads = [threading.Thread(target=importer)] + [
        threading.Thread(target=voter, args=(u,)) for u in people
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Session(engine) as s:
        assert (
            s.exec(select(func.count()).select_from(Pair).where(Pair.study_id == other.id)).one()
            == 5_000
        )
    assert len(stored) == 32
