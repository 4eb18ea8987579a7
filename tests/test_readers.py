"""foundation.readers: the one reader of CSV/TSV/JSONL/JSON input and its one located error."""

from __future__ import annotations

import pytest

from sidebyside.foundation.errors import FileInputError, InputError
from sidebyside.foundation.readers import (
    csv_records,
    decode,
    json_records,
    jsonl_records,
    read_table,
    read_utf8,
)


def _error(call, *args, **kwargs) -> FileInputError:
    with pytest.raises(FileInputError) as info:
        call(*args, **kwargs)
    return info.value


def test_error_names_file_line_and_column():
    err = FileInputError("o.csv", "'output' is empty", line=3, column="output")
    assert str(err) == "o.csv, line 3, column output: 'output' is empty"
    assert isinstance(err, InputError)
    assert str(FileInputError("o.csv", "no such file")) == "o.csv: no such file"


def test_every_importer_raises_the_one_error_type():
    from sidebyside.judge.importer import ImportJudgmentsError

    assert issubclass(ImportJudgmentsError, FileInputError)


def test_unterminated_quote_is_refused_with_file_and_line():
    text = 'a,b\n1,x\n2,"never closed\n3,y\n4,z\n'
    err = _error(csv_records, "q.csv", text)
    assert (err.file, err.line) == ("q.csv", 3)  # where the row starts, not the end of file
    assert "never closed" in err.message


def test_stray_quote_in_a_field_is_refused():
    err = _error(csv_records, "q.csv", 'a,b\n1,"x"y\n')
    assert err.line == 2 and "malformed CSV" in err.message


def test_bad_utf8_is_located_by_line_and_character_column():
    err = _error(decode, "u.csv", "a,b\nnaïve,caf".encode() + b"\xe9\n")
    assert (err.line, err.column) == (2, 10)  # columns count characters, not bytes
    assert "not valid UTF-8" in err.message
    assert decode("u.csv", b"\xef\xbb\xbfa,b\n") == "a,b\n"  # a BOM is dropped


def test_malformed_jsonl_line_is_located():
    err = _error(jsonl_records, "r.jsonl", '{"a": 1}\n\n{"a": 2,}\n')
    assert (err.line, err.column) == (3, 9)
    assert err.message.startswith("malformed JSON")
    err = _error(jsonl_records, "r.jsonl", '{"a": 1}\n[1, 2]\n')
    assert (err.line, err.message) == (2, "expected a JSON object, got array")


def test_jsonl_splits_only_at_real_line_breaks():
    # json.dumps(ensure_ascii=False) writes U+2028 raw; str.splitlines would cut the record
    text = '{"a": "one\u2028two"}\r\n{"a": "x\x85y"}\n'
    assert jsonl_records("r.jsonl", text) == [(1, {"a": "one\u2028two"}), (2, {"a": "x\x85y"})]


def test_a_200_kib_csv_field_is_accepted():
    big = "x" * (200 * 1024)
    header, records = csv_records("big.csv", f'id,output\n1,"{big}"\n2,short\n')
    assert header == ["id", "output"]
    assert records[0] == (2, {"id": "1", "output": big})
    assert records[1][0] == 3


def test_json_array_of_non_objects_is_refused():
    err = _error(json_records, "a.json", '[\n  {"a": 1},\n  "text"\n]')
    assert (err.line, err.column) == (3, 3)
    assert err.message == "expected an object, got string"
    err = _error(json_records, "a.json", '  {"a": 1}')
    assert (err.line, err.column) == (1, 3)
    assert err.message == "expected a JSON array of objects, got object"
    err = _error(json_records, "a.json", '[{"a": 1}\n {"b": 2}]')
    assert (err.line, err.file) == (2, "a.json") and "malformed JSON" in err.message


def test_json_records_carry_their_line():
    text = '[\n{"a": 1},\n\n  {"a": 2}, {"a": 3}\n]'
    assert json_records("a.json", text) == [(2, {"a": 1}), (4, {"a": 2}), (4, {"a": 3})]


def test_csv_rows_start_lines_blank_rows_and_field_counts():
    text = 'a,b\n1,"two\nlines"\n\n , \n3,x\n'
    header, records = csv_records("m.csv", text)
    assert header == ["a", "b"]
    assert records == [(2, {"a": "1", "b": "two\nlines"}), (6, {"a": "3", "b": "x"})]
    err = _error(csv_records, "m.csv", "a,b\n1,2\n1,2,3\n")
    assert (err.line, err.message) == (3, "expected 2 fields, found 3")
    err = _error(csv_records, "m.csv", "a, b ,a\n1,2,3\n")
    assert (err.line, err.column) == (1, "a") and "appears twice" in err.message
    assert _error(csv_records, "m.csv", "").message == "the file is empty"


def test_read_table_dispatches_on_the_extension():
    tsv = read_table("r.tsv", b"a\tb\n1\t2,3\n")
    assert (tsv.format, tsv.columns, tsv.records) == (
        "tsv",
        ["a", "b"],
        [(2, {"a": "1", "b": "2,3"})],
    )
    jsonl = read_table("r.JSONL", b'{"a": 1}\n{"b": 2, "a": 3}\n')
    assert (jsonl.format, jsonl.columns) == ("jsonl", ["a", "b"])
    js = read_table("r.json", b'[{"x": 1}]')
    assert (js.format, js.columns, js.records) == ("json", ["x"], [(1, {"x": 1})])
    err = _error(read_table, "r.xlsx", b"PK")
    assert err.file == "r.xlsx" and "unknown file type '.xlsx'" in err.message
    assert _error(read_table, "r.csv", b"a\n\xff\n").line == 2


def test_read_utf8(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes(b"ok\n")
    assert read_utf8(path) == "ok\n"
    assert _error(read_utf8, tmp_path / "missing.txt").message == "no such file"
