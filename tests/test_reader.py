"""Reading, validation and cleaning: every bad input gets an error naming file, line and column."""

import gzip
import re
import warnings

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import make_row, write_csv

from community_alignment.data import schema
from community_alignment.data.reader import read_conversations
from community_alignment.data.schema import SchemaError


def _rows(n=5):
    return [make_row(i + 1, n_turns=1 + i % 4) for i in range(n)]


def test_reads_typed_columns_in_canonical_order(tmp_path):
    path = write_csv(tmp_path / "ok.csv", _rows(), columns=list(reversed(schema.COLUMNS_V11)))
    table, report = read_conversations(path)
    assert table.column_names == schema.COLUMNS_V11
    assert report.version == "v1.1" and report.rows_read == 5
    assert table["conversation_id"].type == pa.int64()
    assert table["is_pregenerated_first_prompt"].to_pylist() == [True] * 5
    assert table["wave"].to_pylist() == [1] * 5
    assert table["third_turn_prompt"].null_count == 3  # rows with 1, 2 turns… (n_turns = 1,2,3,4,1)


def test_missing_required_columns_are_named(tmp_path):
    cols = [c for c in schema.COLUMNS_V11 if c not in ("annotator_id", "first_turn_prompt")]
    path = write_csv(tmp_path / "bad.csv", _rows(), columns=cols)
    with pytest.raises(SchemaError, match=r"bad.csv: missing required column\(s\) annotator_id, first_turn_prompt"):
        read_conversations(path)


def test_unknown_preferred_label_names_file_line_column(tmp_path):
    rows = _rows()
    rows[2]["first_turn_preferred_response"] = "response_e"
    path = write_csv(tmp_path / "bad.csv", rows)
    # every earlier row spans lines: the header is line 1; `responses` cells hold newlines
    with pytest.raises(SchemaError) as e:
        read_conversations(path)
    msg = str(e.value)
    assert "bad.csv" in msg and "'first_turn_preferred_response'" in msg and "'response_e'" in msg
    expected_line = (
        1
        + sum(
            1
            + r["first_turn_responses"].count("\n")
            + r["second_turn_responses"].count("\n")
            + r["third_turn_responses"].count("\n")
            + r["fourth_turn_responses"].count("\n")
            for r in rows[:2]
        )
        + 1
    )
    assert f"line {expected_line} (data row 3)" in msg


@pytest.mark.parametrize(
    "column,value,expected",
    [
        ("conversation_id", "abc", "an integer"),
        ("is_pregenerated_first_prompt", "maybe", "True or False"),
        ("wave", "3", "1 or 2"),
        ("assigned_lang", "de", "one of 'en'"),
        ("annotator_country", "germany", "one of 'united states'"),
    ],
)
def test_bad_structural_values(tmp_path, column, value, expected):
    rows = _rows()
    rows[0][column] = value
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(SchemaError, match=f"line 2 \\(data row 1\\), column '{column}'.*{expected}"):
        read_conversations(path)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.csv"
    p.write_bytes(b"")
    with pytest.raises(SchemaError, match="empty.csv: the file is empty"):
        read_conversations(str(p))


def test_header_only(tmp_path):
    path = write_csv(tmp_path / "header.csv", [])
    with pytest.raises(SchemaError, match="header.csv: the file has a header but no data rows"):
        read_conversations(path)


def test_truncated_file_with_unterminated_quote(tmp_path):
    path = write_csv(tmp_path / "full.csv", _rows())
    data = open(path, "rb").read()
    cut = data.rindex(b"# Response C") - 3  # inside the quoted `responses` cell of the last row
    (tmp_path / "trunc.csv").write_bytes(data[:cut])
    with pytest.raises(SchemaError) as e:
        read_conversations(str(tmp_path / "trunc.csv"))
    msg = str(e.value)
    assert "trunc.csv" in msg and "never closed" in msg
    last_row_line = data[: data.rindex(b"\n5,") + 1].count(b"\n") + 1 if b"\n5," in data else None
    assert "line " in msg
    if last_row_line:
        assert f"line {last_row_line}:" in msg


def test_non_utf8_bytes_are_located(tmp_path):
    rows = _rows()
    rows[1]["first_turn_prompt"] = "caf\udce9"  # placeholder, replaced by a raw latin-1 byte below
    path = tmp_path / "latin1.csv"
    write_csv(path, [dict(r, first_turn_prompt=r["first_turn_prompt"].replace("\udce9", "XYZ")) for r in rows])
    data = path.read_bytes().replace(b"cafXYZ", b"caf\xe9")
    path.write_bytes(data)
    line = data[: data.index(b"caf\xe9")].count(b"\n") + 1
    with pytest.raises(
        SchemaError, match=f"latin1.csv: line {line}, column 'first_turn_prompt': bytes .* are not valid UTF-8"
    ):
        read_conversations(str(path))


def test_wrong_field_count(tmp_path):
    path = write_csv(tmp_path / "ok.csv", _rows())
    lines = open(path, encoding="utf-8").read().split("\n")
    lines.insert(1, "1,2,3")
    (tmp_path / "short.csv").write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(SchemaError, match="short.csv: line 2: expected 45 fields, found 3"):
        read_conversations(str(tmp_path / "short.csv"))


def test_extra_columns_warn_and_are_ignored(tmp_path):
    rows = [dict(r, surprise="x") for r in _rows()]
    path = write_csv(tmp_path / "extra.csv", rows, columns=[*schema.COLUMNS_V11, "surprise"])
    with pytest.warns(UserWarning, match="ignoring 1 unknown column\\(s\\): surprise"):
        table, report = read_conversations(path)
    assert "surprise" not in table.column_names and report.extra_columns == ["surprise"]


def test_v10_detected_and_wave_null(tmp_path):
    path = write_csv(tmp_path / "v10.csv", _rows(), columns=schema.COLUMNS_V10)
    table, report = read_conversations(path)
    assert report.version == "v1.0"
    assert table["wave"].null_count == table.num_rows


def test_cleaning_policy_is_counted(tmp_path):
    rows = _rows()
    rows[0]["first_turn_response_b"] = "EMPTY STRING"
    rows[1]["first_turn_response_c"] = "an answer<|end_of_text|>"
    rows[2]["first_turn_feedback"] = "   "
    path = write_csv(tmp_path / "q.csv", rows)
    table, report = read_conversations(path)
    assert report.cleaned == {"empty_string_literal_cells": 1, "end_of_text_cells": 1, "blank_cells": 1}
    assert table["first_turn_response_b"][0].as_py() is None
    assert table["first_turn_response_c"][1].as_py() == "an answer"
    assert table["first_turn_feedback"][2].as_py() is None


def test_text_cleaning_with_and_without_end_of_text_markers():
    """A cell is cleaned by what it holds, never by its neighbours: with or without an
    <|end_of_text|> elsewhere in the column, the literal (any surrounding white space), blank and
    white-space-only cells become null and the rest is kept as it is; a cell that held the marker
    loses it and the white space it leaves at the end, and is null when nothing else is left."""
    from community_alignment.data.reader import _clean_text

    cells = [" EMPTY STRING ", "EMPTY STRING", "  ", "\u3000\t", "", None, " kept ", "EMPTY STRING!", "x", "tail \n"]
    expected = [None, None, None, None, None, None, " kept ", "EMPTY STRING!", "x", "tail \n"]
    for markers, cleaned in (
        ([], []),
        (["y<|end_of_text|>", "z \n<|end_of_text|>  ", " <|end_of_text|> "], ["y", "z", None]),
    ):
        counts = {"empty_string_literal_cells": 0, "end_of_text_cells": 0, "blank_cells": 0}
        col = pa.chunked_array([pa.array([*cells, *markers], pa.large_string())])
        assert _clean_text(col, counts).to_pylist() == [*expected, *cleaned], markers
        assert counts == {
            "empty_string_literal_cells": 2,
            "end_of_text_cells": len(markers),
            "blank_cells": 3 + (1 if markers else 0),
        }


def test_text_cleaning_of_a_sliced_array_and_of_several_chunks():
    """Null cells set by the cleaner (a new validity bitmap over the same text) come out right for an
    array that starts at an offset and for a column of several chunks."""
    from community_alignment.data.reader import _clean_text

    base = pa.array(["skip", " EMPTY STRING", "a", "   ", "b<|end_of_text|>", "c"], pa.large_string())
    counts = {"empty_string_literal_cells": 0, "end_of_text_cells": 0, "blank_cells": 0}
    col = pa.chunked_array([base.slice(1), base.slice(2, 2)])
    assert _clean_text(col, counts).to_pylist() == [None, "a", None, "b", "c", "a", None]
    assert counts == {"empty_string_literal_cells": 1, "end_of_text_cells": 1, "blank_cells": 2}


def test_duplicate_conversation_ids_are_dropped_and_counted(tmp_path):
    rows = _rows()
    rows.append(make_row(1, n_turns=3))
    table, report = read_conversations(write_csv(tmp_path / "dup.csv", rows))
    assert table.num_rows == 5 and report.dropped["duplicate_conversation_id"] == 1


def test_parquet_export_is_read(tmp_path):
    table, _ = read_conversations(write_csv(tmp_path / "a.csv", _rows()))
    raw = pa.table(
        {c: pa.array([str(v) if v is not None else None for v in table[c].to_pylist()]) for c in schema.COLUMNS_V11}
    )
    raw = raw.set_column(
        raw.schema.get_field_index("in_balanced_subset"), "in_balanced_subset", table["in_balanced_subset"]
    )  # a real bool column, as the Hub's export has
    pq.write_table(raw, tmp_path / "0000.parquet")
    again, report = read_conversations(str(tmp_path / "0000.parquet"))
    assert report.version == "v1.1"
    assert again.to_pylist() == table.to_pylist()


def test_gzip_csv(tmp_path):
    path = write_csv(tmp_path / "a.csv", _rows())
    (tmp_path / "a.csv.gz").write_bytes(gzip.compress(open(path, "rb").read()))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t1, _ = read_conversations(path)
        t2, _ = read_conversations(str(tmp_path / "a.csv.gz"))
    assert t1.equals(t2)


def _varied_rows(n=60):
    """Rows whose cleaning and responses cells vary: markers, literals, trailing white space, a
    responses cell that is not the layout of its candidates."""
    rows = [make_row(i + 1, n_turns=1 + i % 4) for i in range(n)]
    rows[3]["first_turn_response_b"] = "answer<|end_of_text|>"
    rows[7]["second_turn_response_c"] = "EMPTY STRING"
    rows[11]["first_turn_responses"] = rows[11]["first_turn_responses"] + "\n"  # layout + a trailing newline
    rows[13]["first_turn_responses"] = "# Response A:\nsomething else"  # contradicts its candidates
    rows[17]["second_turn_responses"] = rows[17]["second_turn_responses"].replace("<", "")  # no marker there
    rows[21]["first_turn_prompt"] = "  spaced prompt  "
    return rows


def test_the_table_does_not_depend_on_the_block_size(tmp_path, monkeypatch):
    """The same file read in one block and in blocks of a few rows gives the same table and counts
    (cleaning is decided cell by cell, not per block)."""
    from community_alignment.data import reader

    path = write_csv(tmp_path / "v.csv", _varied_rows())
    whole, report = read_conversations(path)
    monkeypatch.setattr(reader, "BLOCK_SIZE", 2048)  # ≈ 5 rows a block
    blocks, small = read_conversations(path)
    assert whole.column("conversation_id").num_chunks == 1 and blocks.column("conversation_id").num_chunks > 10
    assert blocks.equals(whole)
    assert (small.cleaned, small.inconsistencies, small.dropped) == (
        report.cleaned,
        report.inconsistencies,
        report.dropped,
    )
    assert report.cleaned["end_of_text_cells"] == 1 and report.cleaned["empty_string_literal_cells"] == 1
    # row 13's cell, and row 3's (its cell still holds the old candidate b)
    assert report.inconsistencies["responses_cell_contradicts_candidates"] == 2
    assert whole["first_turn_responses"][11].as_py().endswith("\n")  # kept as it is


def test_compacted_responses_are_restored_exactly(tmp_path, monkeypatch):
    """`compact=True` keeps only the responses cells that are not the layout of their candidates;
    `restore_responses` gives every cell back (layout, not layout, and null), in blocks too."""
    from community_alignment.data import reader
    from community_alignment.data.reader import IS_LAYOUT, OTHER, restore_responses

    path = write_csv(tmp_path / "v.csv", _varied_rows())
    full, _ = read_conversations(path)
    monkeypatch.setattr(reader, "BLOCK_SIZE", 4096)
    compact, _ = read_conversations(path, compact=True)
    assert "first_turn_responses" not in compact.column_names
    other = compact["first_turn_responses" + OTHER]
    assert other.null_count == len(other) - 3  # rows 3, 11 and 13 only
    assert compact["first_turn_responses" + IS_LAYOUT].to_pylist().count(False) == 3
    restored = restore_responses(compact).select(schema.COLUMNS_V11)
    assert restored.equals(full)


def test_per_block_results_are_concatenated_in_file_order(tmp_path, monkeypatch):
    from community_alignment.data import reader

    monkeypatch.setattr(reader, "BLOCK_SIZE", 2048)
    seen = []

    def tag(block):
        seen.append(block.num_rows)
        return block.append_column("doubled", pa.compute.multiply(block["conversation_id"], 2))

    table, _ = read_conversations(write_csv(tmp_path / "v.csv", _varied_rows()), per_block=tag)
    assert len(seen) > 10 and sum(seen) == 60
    assert table["doubled"].to_pylist() == [2 * i for i in range(1, 61)]


def test_the_bad_value_named_is_the_earliest_whatever_the_blocks(tmp_path, monkeypatch):
    """Checks run column by column; the error names the earliest bad row (then the earliest check),
    and says which rows its count is over, so it reads the same for any block size."""
    from community_alignment.data import reader

    rows = _rows(40)
    rows[30]["conversation_id"] = "x"  # a later row, in a column checked first
    rows[5]["wave"] = "7"
    rows[12]["wave"] = "8"
    path = write_csv(tmp_path / "bad.csv", rows)
    messages = []
    for block in (1 << 20, 2048):
        monkeypatch.setattr(reader, "BLOCK_SIZE", block)
        with pytest.raises(SchemaError) as err:
            read_conversations(path)
        messages.append(str(err.value))
    for m in messages:
        assert re.search(r"line \d+ \(data row 6\), column 'wave': unexpected value '7'; expected 1 or 2", m), m
    assert "(2 of data rows 1–40 have this problem)" in messages[0]
    # the count is over the block the row was checked in, which the message names
    first, last = map(int, re.search(r"\(1 of data rows (\d+)–(\d+) have", messages[1]).groups())
    assert first <= 6 <= last < 13


def test_errors_after_a_cell_longer_than_the_csv_modules_field_limit(tmp_path):
    """Locating a bad line reads the file with Python's csv module: a cell beyond its 131,072-character
    default limit earlier in the file does not turn the error into a traceback."""
    rows = [make_row(1, n_turns=1, first_turn_feedback="f" * 140_000), make_row(2, n_turns=1, wave="7")]
    path = write_csv(tmp_path / "long.csv", rows)
    with pytest.raises(SchemaError, match=r"line 13 \(data row 2\), column .wave."):  # cells span lines
        read_conversations(path)


def test_a_row_longer_than_the_read_block_is_a_clear_error(tmp_path, monkeypatch):
    from community_alignment.data import reader

    monkeypatch.setattr(reader, "BLOCK_SIZE", 16 << 10)
    rows = [make_row(1, n_turns=1), make_row(2, n_turns=1, first_turn_feedback="f" * (60 << 10)), make_row(3)]
    path = write_csv(tmp_path / "wide.csv", rows)
    with pytest.raises(SchemaError, match="a row is longer than the reader's block"):
        read_conversations(path)


def test_utf8_is_checked_on_the_worker_threads_and_named_in_file_order(tmp_path, monkeypatch):
    """The parser does not check UTF-8 (the typing threads do, block by block): a bad byte in a late
    block is named by its line, and a bad value in an earlier block is the error raised first."""
    from community_alignment.data import reader

    monkeypatch.setattr(reader, "BLOCK_SIZE", 2048)  # ≈ 5 rows a block
    rows = _rows(40)
    rows[33]["first_turn_prompt"] = "cafXYZ"
    path = tmp_path / "late.csv"
    write_csv(path, rows)
    data = path.read_bytes().replace(b"cafXYZ", b"caf\xe9")
    path.write_bytes(data)
    line = data[: data.index(b"caf\xe9")].count(b"\n") + 1
    with pytest.raises(
        SchemaError, match=f"late.csv: line {line}, column 'first_turn_prompt': bytes .* are not valid UTF-8"
    ):
        read_conversations(str(path))
    rows[2]["wave"] = "7"
    write_csv(path, rows)
    path.write_bytes(path.read_bytes().replace(b"cafXYZ", b"caf\xe9"))
    with pytest.raises(SchemaError, match=r"\(data row 3\), column 'wave': unexpected value '7'"):
        read_conversations(str(path))


@pytest.mark.parametrize("column", ["first_turn_prompt", "first_turn_responses", "annotator_country"])
def test_a_utf8_error_names_line_and_column_whatever_the_block_size(tmp_path, monkeypatch, column):
    """The message depends on the file only: the same line, column and bytes for every block size
    (pyarrow's own detail, a position inside the block, is not part of it)."""
    from community_alignment.data import reader

    rows = _rows(30)
    rows[17][column] = rows[17][column] + "XYZ"
    path = tmp_path / "bad.csv"
    write_csv(path, rows)
    data = path.read_bytes().replace(b"XYZ", b"\xff\xfe", 1)
    path.write_bytes(data)
    at = data.index(b"\xff\xfe")
    line, bad = data[:at].count(b"\n") + 1, data[at : at + 4]
    messages = set()
    for block in (1 << 11, 1 << 13, 1 << 20):
        monkeypatch.setattr(reader, "BLOCK_SIZE", block)
        with pytest.raises(SchemaError) as e:
            read_conversations(str(path))
        messages.add(str(e.value))
    assert messages == {
        f"{path}: line {line}, column {column!r}: bytes {bad!r} are not valid UTF-8 (the file must be UTF-8 encoded)"
    }


def test_a_bad_value_is_located_past_bytes_that_are_not_utf8(tmp_path, monkeypatch):
    """Locating a bad value's line reads the file as text: bytes that are not UTF-8 near it (in a
    later block, not yet checked) do not turn the error into a UnicodeDecodeError."""
    from community_alignment.data import reader

    monkeypatch.setattr(reader, "BLOCK_SIZE", 2048)
    rows = _rows(30)
    rows[1]["wave"] = "7"
    rows[3]["first_turn_prompt"] = "prXYZompt"
    path = tmp_path / "both.csv"
    write_csv(path, rows)
    path.write_bytes(path.read_bytes().replace(b"XYZ", b"\xff"))
    lines = path.read_bytes().split(b"\n")
    line = 1 + lines.index(next(x for x in lines if b",7," in x))
    with pytest.raises(SchemaError, match=r"\(data row 2\), column 'wave': unexpected value '7'") as e:
        read_conversations(str(path))
    assert f"line {line} " in str(e.value)


def test_a_plain_file_is_read_through_a_memory_map_released_behind(tmp_path):
    """`_MappedFile` gives the file's bytes as zero-copy slices; released pages read back the same."""
    from community_alignment.data import reader

    path = tmp_path / "bytes.bin"
    data = bytes(range(256)) * 100
    path.write_bytes(data)
    f = reader._MappedFile(str(path))
    parts = [bytes(f.read(7000)), bytes(f.read(7000))]
    f.release(14000)
    parts.append(bytes(f.read()))
    assert b"".join(parts) == data and f.read(10) == b""
    f.release(len(data))
    assert bytes(f._view[:300]) == data[:300]  # dropped from the process, not from the file
