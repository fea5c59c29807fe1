"""A corpus of hostile inputs, each with the outcome it must get: a clear error naming the file and the
line / row and column, a counted report, or a correct read. Never a traceback, never silent.

Each case builds its file from the same 12 hand-made conversations (`conftest.make_row`), so the
expected counts are known exactly.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import make_row, subprocess_env, write_csv

from community_alignment.data import schema
from community_alignment.data.reader import read_conversations
from community_alignment.data.schema import SchemaError
from community_alignment.data.sources import SourceError

N = 12


def _rows():
    return [make_row(i, n_turns=1 + i % 4) for i in range(1, N + 1)]


def _csv_bytes(rows, columns=None) -> bytes:
    columns = columns or list(schema.COLUMNS_V11)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([r.get(c, "") for c in columns])
    return out.getvalue().encode("utf-8")


def _line_of(data: bytes, needle: bytes) -> int:
    return data[: data.index(needle)].count(b"\n") + 1


def _with(column: str, value: str, row: int = 3):
    rows = _rows()
    rows[row][column] = value
    return rows


# --- the corpus: name -> (file name, bytes builder) and the expected outcome ----------------------


def _truncated_gzip_mid(tmp):
    gz = gzip.compress(_csv_bytes(_rows()))
    return "mid.csv.gz", gz[: len(gz) // 2]


def _truncated_gzip_header(tmp):
    return "head.csv.gz", gzip.compress(_csv_bytes(_rows()))[:6]


def _plain_named_gz(tmp):
    return "plain.csv.gz", _csv_bytes(_rows())


def _cr_only(tmp):
    return "cr.csv", _csv_bytes(_rows()).replace(b"\n", b"\r")


def _crlf(tmp):
    return "crlf.csv", _csv_bytes(_rows()).replace(b"\n", b"\r\n")


def _bom(tmp):
    return "bom.csv", b"\xef\xbb\xbf" + _csv_bytes(_rows())


def _id_2_64(tmp):
    return "big.csv", _csv_bytes(_with("conversation_id", str(2**64)))


def _id_float(tmp):
    return "float.csv", _csv_bytes(_with("annotator_id", "1.5"))


def _id_blank(tmp):
    return "blank.csv", _csv_bytes(_with("conversation_id", "  "))


def _bad_bool(tmp):
    return "bool.csv", _csv_bytes(_with("in_balanced_subset", "yes"))


def _bad_label(tmp):
    return "label.csv", _csv_bytes(_with("first_turn_preferred_response", "response_e"))


def _bad_country(tmp):
    return "country.csv", _csv_bytes(_with("annotator_country", "germany"))


def _bad_wave(tmp):
    return "wave.csv", _csv_bytes(_with("wave", "3"))


def _missing_first_prompt(tmp):
    return "noprompt.csv", _csv_bytes(_with("first_turn_prompt", ""))


def _dup_columns(tmp):
    cols = [*schema.COLUMNS_V11, "wave"]
    return "dupcol.csv", _csv_bytes(_rows(), cols)


def _missing_columns(tmp):
    return "missing.csv", _csv_bytes(_rows(), [c for c in schema.COLUMNS_V11 if c != "annotator_id"])


def _short_row(tmp):
    data = _csv_bytes(_rows())
    lines = data.split(b"\n")
    return "short.csv", b"\n".join([lines[0], b"1,2,3", *lines[1:]])


def _unclosed_quote(tmp):
    data = _csv_bytes(_rows())
    return "unclosed.csv", data[: data.rindex(b"# Response C") - 3]


def _latin1(tmp):
    return "latin1.csv", _csv_bytes(_with("first_turn_prompt", "cafXYZ")).replace(b"cafXYZ", b"caf\xe9")


def _empty(tmp):
    return "empty.csv", b""


def _empty_gz(tmp):
    return "empty.csv.gz", gzip.compress(b"")


def _header_only(tmp):
    return "header.csv", _csv_bytes([])


def _parquet(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _string_table(rows) -> pa.Table:
    return pa.table({c: pa.array([r[c] or None for r in rows], pa.string()) for c in schema.COLUMNS_V11})


def _parquet_list_column(tmp):
    t = _string_table(_rows())
    i = t.schema.get_field_index("first_turn_feedback")
    t = t.set_column(i, "first_turn_feedback", pa.array([["a", "b"]] * N, pa.list_(pa.string())))
    return "list.parquet", _parquet(t)


def _parquet_struct_column(tmp):
    t = _string_table(_rows())
    i = t.schema.get_field_index("annotator_age")
    t = t.set_column(i, "annotator_age", pa.array([{"lo": 18, "hi": 34}] * N))
    return "struct.parquet", _parquet(t)


def _parquet_bad_utf8_binary(tmp):
    t = _string_table(_rows())
    i = t.schema.get_field_index("first_turn_prompt")
    values = [r["first_turn_prompt"].encode() for r in _rows()]
    values[5] = b"caf\xe9"
    t = t.set_column(i, "first_turn_prompt", pa.array(values, pa.binary()))
    return "binary.parquet", _parquet(t)


def _parquet_named_but_csv(tmp):
    return "fake.parquet", _csv_bytes(_rows())


def _conflicting_demographics(tmp):
    rows = _rows()
    a, b = rows[0], rows[7]  # the same annotator (make_row: id % 7) with two countries / genders
    assert a["annotator_id"] == b["annotator_id"]
    b["annotator_country"], b["annotator_gender"] = "france", "male"
    return "conflict.csv", _csv_bytes(rows)


def _responses_contradict(tmp):
    rows = _rows()
    rows[2]["first_turn_responses"] = rows[2]["first_turn_responses"].replace("-b", "-z")
    rows[4]["second_turn_responses"] = "# Response A:\nsomething else entirely"
    return "contradict.csv", _csv_bytes(rows)


def _duplicate_ids(tmp):
    rows = _rows()
    return "dup.csv", _csv_bytes([*rows, make_row(3, n_turns=2)])


def _quirks(tmp):
    rows = _rows()
    rows[0]["first_turn_response_b"] = "EMPTY STRING"
    rows[1]["first_turn_response_c"] += "<|end_of_text|>"
    rows[2]["first_turn_feedback"] = "   "
    return "quirks.csv", _csv_bytes(rows)


def _unknown_column(tmp):
    rows = [dict(r, extra="x") for r in _rows()]
    return "extra.csv", _csv_bytes(rows, [*schema.COLUMNS_V11, "extra"])


def _v10(tmp):
    return "v10.csv", _csv_bytes(_rows(), schema.COLUMNS_V10)


# (builder, outcome): ("error", regex that must match, after the file name) | ("counted", {key: n}) | ("ok", rows)
CASES = {
    "gzip truncated mid-stream": (_truncated_gzip_mid, ("error", r"line \d+: the gzip stream is truncated")),
    "gzip truncated in its header": (_truncated_gzip_header, ("error", r"not a readable gzip file: .*truncated")),
    "plain CSV named .gz": (_plain_named_gz, ("ok", N)),
    "CR-only line endings": (_cr_only, ("ok", N)),
    "CRLF line endings": (_crlf, ("ok", N)),
    "UTF-8 BOM": (_bom, ("ok", N)),
    "conversation_id 2^64": (
        _id_2_64,
        ("error", r"line \d+ \(data row 4\), column 'conversation_id': .*'18446744073709551616'.*64 bits"),
    ),
    "annotator_id 1.5": (_id_float, ("error", r"line \d+ \(data row 4\), column 'annotator_id': .*'1.5'.*integer")),
    "blank conversation_id": (_id_blank, ("error", r"column 'conversation_id'.*an integer \(no empty cells\)")),
    "boolean 'yes'": (_bad_bool, ("error", r"column 'in_balanced_subset': unexpected value 'yes'; expected True or")),
    "label response_e": (_bad_label, ("error", r"column 'first_turn_preferred_response'.*'response_e'")),
    "country germany": (_bad_country, ("error", r"column 'annotator_country'.*'germany'")),
    "wave 3": (_bad_wave, ("error", r"column 'wave'.*'3'.*1 or 2")),
    "no first-turn prompt": (_missing_first_prompt, ("error", r"column 'first_turn_prompt'.*a first-turn prompt")),
    "duplicate column name": (_dup_columns, ("error", r"line 1: duplicate column name\(s\) wave")),
    "missing column": (_missing_columns, ("error", r"missing required column\(s\) annotator_id")),
    "row with 3 fields": (_short_row, ("error", r"line 2: expected 45 fields, found 3")),
    "unclosed quote (truncated)": (_unclosed_quote, ("error", r"line \d+: .*never closed")),
    "latin-1 byte": (_latin1, ("error", r"line \d+, column 'first_turn_prompt': bytes b'\\xe9.*not valid UTF-8")),
    "empty file": (_empty, ("error", r"the file is empty")),
    "empty gzip": (_empty_gz, ("error", r"the file is empty")),
    "header only": (_header_only, ("error", r"has a header but no data rows")),
    "parquet list column": (_parquet_list_column, ("error", r"column 'first_turn_feedback' has the nested type list")),
    "parquet struct column": (_parquet_struct_column, ("error", r"column 'annotator_age' has the nested type struct")),
    "parquet binary column, bad UTF-8": (
        _parquet_bad_utf8_binary,
        ("error", r"row 5, column 'first_turn_prompt': bytes b'\\xe9' are not valid UTF-8"),
    ),
    "CSV named .parquet": (_parquet_named_but_csv, ("error", r"not a readable parquet file")),
    "annotator with two countries and genders": (
        _conflicting_demographics,
        ("counted", {"annotators_with_conflicting_country": 1, "annotators_with_conflicting_gender": 1}),
    ),
    "responses cell contradicts response_a..d": (
        _responses_contradict,
        ("counted", {"responses_cell_contradicts_candidates": 2}),
    ),
    "repeated conversation_id": (_duplicate_ids, ("counted", {"duplicate_conversation_id": 1})),
    "EMPTY STRING, <|end_of_text|>, blank cell": (
        _quirks,
        ("counted", {"empty_string_literal_cells": 1, "end_of_text_cells": 1, "blank_cells": 1}),
    ),
    "unknown extra column": (_unknown_column, ("counted", {"extra_columns": ["extra"]})),
    "v1.0 layout (no wave)": (_v10, ("ok", N)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input(case, tmp_path):
    build, (kind, expected) = CASES[case]
    name, data = build(tmp_path)
    path = tmp_path / name
    path.write_bytes(data)
    if kind == "error":
        with pytest.raises(SchemaError) as e:
            read_conversations(str(path))
        msg = str(e.value)
        assert msg.startswith(str(path) + ":"), msg
        assert re.search(expected, msg), msg
        return
    import warnings

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        table, report = read_conversations(str(path))
    if kind == "ok":
        assert table.num_rows == expected and report.rows_read == expected
        assert table["first_turn_prompt"].to_pylist()[0] == "prompt 1 turn 1"
        return
    found = {
        **report.inconsistencies,
        **report.dropped,
        **report.cleaned,
        "extra_columns": report.extra_columns,
    }
    for key, n in expected.items():
        assert found[key] == n, (key, found)
    others = {k: v for k, v in report.inconsistencies.items() if k not in expected}
    assert not any(others.values()), others


def test_errors_point_at_the_right_line(tmp_path):
    data = _csv_bytes(_with("conversation_id", str(2**64), row=5))
    (tmp_path / "a.csv").write_bytes(data)
    with pytest.raises(SchemaError, match=rf"line {_line_of(data, str(2**64).encode())} \(data row 6\)"):
        read_conversations(str(tmp_path / "a.csv"))
    data = _csv_bytes(_rows()).replace(b"\n", b"\r")
    data = data.replace(b",response_c,", b",response_X,", 1)
    (tmp_path / "cr.csv").write_bytes(data)
    row_start = data.index(b"\r2,") + 1  # conversation 2 holds the bad label (its third turn)
    assert row_start < data.index(b",response_X,")
    line = data[:row_start].count(b"\r") + 1
    with pytest.raises(SchemaError, match=rf"line {line} "):
        read_conversations(str(tmp_path / "cr.csv"))


def test_missing_earlier_prompt_marks_later_contexts_incomplete(tmp_path):
    from community_alignment.data import expand, splits

    row = make_row(1, n_turns=4)
    row["third_turn_prompt"] = ""  # a turn-3 label without its prompt, then turn 4
    table, _ = read_conversations(write_csv(tmp_path / "a.csv", [row]))
    table = table.append_column("prompt_group", splits.group_ids(splits.normalise_prompt(table["first_turn_prompt"])))
    table = table.append_column("split", splits.assign_splits(table))
    comps, dropped = expand.comparisons(table)
    assert dropped["label_without_prompt"] == 1
    by_turn = {r["turn"]: r for r in comps.to_pylist()}
    assert sorted(by_turn) == [1, 2, 4]
    assert by_turn[2]["context_complete"] is True
    assert by_turn[4]["context_complete"] is False
    assert by_turn[4]["context"][4] == {"role": "user", "content": ""}


def test_paths_that_are_not_files(tmp_path):
    from community_alignment.data.sources import SourceSpec, resolve

    with pytest.raises(SourceError, match="is a directory"):
        read_conversations(str(tmp_path))
    with pytest.raises(SourceError, match="no such file"):
        resolve(SourceSpec("local", str(tmp_path / "nope.csv")))
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(SourceError, match="is not a regular file"):
        read_conversations(str(tmp_path / "fifo"))


def test_unreadable_file_is_a_clear_error(tmp_path, monkeypatch):
    """As root every file is readable, so the permission check is driven through os.access."""
    from community_alignment.data import sources

    path = write_csv(tmp_path / "a.csv", _rows())
    os.chmod(path, 0)
    if os.geteuid() != 0:
        with pytest.raises(SourceError, match="permission denied"):
            read_conversations(path)
    monkeypatch.setattr(sources.os, "access", lambda p, mode: False)
    with pytest.raises(SourceError, match="a.csv: permission denied"):
        read_conversations(path)


def _cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "community_alignment", *args],
        capture_output=True,
        text=True,
        env=subprocess_env(env),
    )


def test_cache_that_is_a_file_or_read_only(tmp_path):
    (tmp_path / "cache").write_text("not a folder")
    res = _cli("prepare", "--source", "sample", "--config", "comparisons", "--cache-dir", str(tmp_path / "cache"))
    assert res.returncode == 1 and "cannot use the datasets cache" in res.stderr and "Traceback" not in res.stderr
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o555)
    res = _cli("prepare", "--source", "sample", "--config", "comparisons", "--cache-dir", str(ro / "sub"))
    if os.geteuid() == 0:  # root may write anywhere: the build succeeds
        assert res.returncode == 0, res.stderr
    else:
        assert res.returncode == 1 and "cannot use the datasets cache" in res.stderr


def test_cli_bad_files_exit_1_without_traceback(tmp_path):
    for case in ("gzip truncated mid-stream", "conversation_id 2^64", "parquet list column"):
        name, data = CASES[case][0](tmp_path)
        (tmp_path / name).write_bytes(data)
        res = _cli("info", "--source", "local", "--data-path", str(tmp_path / name))
        assert res.returncode == 1 and res.stderr.startswith("error: ") and "Traceback" not in res.stderr, res.stderr
