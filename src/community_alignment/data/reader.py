"""Read a Community Alignment CSV (or the Hub's parquet export) into a typed, cleaned Arrow table.

Cleaning policy (every change is counted in the returned `ReadReport`):

* a text cell holding the literal ``EMPTY STRING`` becomes null (``empty_string_literal_cells``);
* ``<|end_of_text|>`` tokens are removed from text cells (``end_of_text_cells``);
* a text cell that is empty or white space only (after the two steps above) becomes null;
* a repeated ``conversation_id`` keeps its first row (``duplicate_conversation_id`` rows dropped).

Structural values (ids, booleans, wave, language, country, preferred labels) are validated: a bad
value raises `SchemaError` naming the file, the line, the column and the value. Demographic values
outside the documented vocabularies are kept (the card lists the observed values).
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import logging
import os
import warnings
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from . import schema
from .schema import SchemaError

logger = logging.getLogger(__name__)

EMPTY_LITERAL = "EMPTY STRING"
END_OF_TEXT = "<|end_of_text|>"
BLOCK_SIZE = 64 << 20  # bytes of CSV parsed at a time
PROGRESS_BYTES = 64 << 20  # show a progress bar when reading files larger than this


@dataclasses.dataclass
class ReadReport:
    """What reading and cleaning did: schema version, extra columns, cleaned cells, dropped rows."""

    path: str
    version: str
    rows_read: int = 0
    extra_columns: list[str] = dataclasses.field(default_factory=list)
    cleaned: dict[str, int] = dataclasses.field(default_factory=dict)
    dropped: dict[str, int] = dataclasses.field(default_factory=dict)


def _open_text(path: str) -> io.TextIOBase:
    if path.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _read_header(path: str) -> list[str]:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        first = f.readline()
    try:
        header = next(csv.reader([first.decode("utf-8-sig").rstrip("\r\n")]), None)
    except UnicodeDecodeError as e:
        raise SchemaError(f"{path}: line 1: the header is not valid UTF-8 ({e.reason})") from None
    if not header:
        raise SchemaError(f"{path}: the file is empty (expected a CSV header with the 45 CA columns)")
    return header


def line_of_row(path: str, row: int) -> int:
    """1-based line number where data row `row` (0-based, header excluded) starts; slow, errors only."""
    with _open_text(path) as f:
        reader = csv.reader(f)
        next(reader, None)
        start = reader.line_num + 1
        for i, _ in enumerate(reader):
            if i == row:
                return start
            start = reader.line_num + 1
    return start


def diagnose_csv(path: str, n_columns: int) -> str:
    """Find the first structural problem in a CSV with the standard library; slow, errors only."""
    with open(path, "rb") as fb:
        raw = fb.read()
    if path.endswith(".gz"):
        raw = gzip.decompress(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        bad = raw[e.start : e.start + 4]
        return f"line {line}: bytes {bad!r} are not valid UTF-8 (the file must be UTF-8 encoded)"
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header = next(reader)
    start = reader.line_num + 1
    try:
        for record in reader:
            if len(record) != n_columns:
                return f"line {start}: expected {n_columns} fields, found {len(record)}"
            start = reader.line_num + 1
    except csv.Error as e:
        return f"line {start}: {e} (a quoted cell that starts here is never closed: truncated file?)"
    del header
    return ""


def _csv_batches(path: str, header: list[str]) -> Iterator[pa.Table]:
    """Stream the CSV in blocks (bounded memory: the whole file is never parsed at once)."""
    dup = sorted({c for c in header if header.count(c) > 1})
    if dup:
        raise SchemaError(f"{path}: line 1: duplicate column name(s) {', '.join(dup)}")
    read_opts = pacsv.ReadOptions(block_size=BLOCK_SIZE, use_threads=True)
    parse_opts = pacsv.ParseOptions(newlines_in_values=True)
    conv_opts = pacsv.ConvertOptions(
        column_types={c: pa.large_string() for c in header},
        strings_can_be_null=True,
        null_values=[""],
        quoted_strings_can_be_null=True,
        check_utf8=True,
    )
    try:
        reader = pacsv.open_csv(path, read_options=read_opts, parse_options=parse_opts, convert_options=conv_opts)
        bar = None
        if os.path.getsize(path) > PROGRESS_BYTES:
            from tqdm.auto import tqdm

            bar = tqdm(desc=f"reading {os.path.basename(path)}", unit=" rows", unit_scale=True)
        for batch in reader:
            if bar is not None:
                bar.update(batch.num_rows)
            yield pa.Table.from_batches([batch])
        if bar is not None:
            bar.close()
    except (pa.ArrowInvalid, pa.ArrowException) as e:
        where = diagnose_csv(path, len(header))
        raise SchemaError(f"{path}: {where or 'could not be parsed as CSV'} [{e}]") from None


def _read_parquet(path: str) -> pa.Table:
    table = pq.read_table(path)
    cols = []
    for name in table.column_names:
        col = table[name]
        if pa.types.is_boolean(col.type):
            col = pc.if_else(col, "True", "False")
        cols.append(pc.cast(col, pa.large_string()))
    return pa.table(cols, names=table.column_names)


class _BadValue(Exception):
    def __init__(self, column: str, idx: int, value, n_bad: int, expected: str):
        super().__init__(column)
        self.column, self.idx, self.value, self.n_bad, self.expected = column, idx, value, n_bad, expected


def _bad_value(path: str, column: str, values: pa.ChunkedArray, bad_mask: pa.ChunkedArray, expected: str):
    idx = int(np.flatnonzero(bad_mask.to_numpy(zero_copy_only=False))[0])
    raise _BadValue(column, idx, values[idx].as_py(), int(pc.sum(bad_mask).as_py()), expected)


def _parse_int(table: pa.Table, column: str, path: str, nullable: bool = False) -> pa.Array:
    col = pc.utf8_trim_whitespace(table[column])
    ok = pc.match_substring_regex(col, r"^-?[0-9]+(\.0+)?$")
    bad = pc.invert(pc.fill_null(ok, nullable))
    if pc.any(bad).as_py():
        _bad_value(path, column, table[column], bad, "an integer" + ("" if nullable else " (no empty cells)"))
    col = pc.replace_substring_regex(col, r"\.0+$", "")
    return pc.cast(col, pa.int64())


def _parse_bool(table: pa.Table, column: str, path: str) -> pa.Array:
    col = pc.utf8_lower(pc.utf8_trim_whitespace(table[column]))
    true = pc.is_in(col, value_set=pa.array(["true", "1"], pa.large_string()))
    false = pc.is_in(col, value_set=pa.array(["false", "0"], pa.large_string()))
    bad = pc.invert(pc.or_(true, false))
    if pc.any(bad).as_py():
        _bad_value(path, column, table[column], bad, "True or False")
    return true


def _check_vocab(table: pa.Table, column: str, vocab, path: str, nullable: bool) -> pa.Array:
    col = table[column]
    norm = pc.utf8_trim_whitespace(col)
    if column == "annotator_country":
        norm = pc.utf8_lower(norm)
    ok = pc.is_in(norm, value_set=pa.array(list(vocab), pa.large_string()))
    bad = pc.invert(ok)
    if nullable:
        bad = pc.and_(bad, pc.is_valid(norm))
    if pc.any(bad).as_py():
        _bad_value(
            path, column, col, bad, "one of " + ", ".join(map(repr, vocab)) + ("" if nullable else ", not empty")
        )
    return norm


def _clean_text(col: pa.ChunkedArray, counts: dict[str, int]) -> pa.ChunkedArray:
    stripped = pc.utf8_trim_whitespace(col)
    literal = pc.fill_null(pc.equal(stripped, EMPTY_LITERAL), False)
    counts["empty_string_literal_cells"] += int(pc.sum(literal).as_py() or 0)
    eot = pc.fill_null(pc.match_substring(col, END_OF_TEXT), False)
    n_eot = int(pc.sum(eot).as_py() or 0)
    if n_eot:
        counts["end_of_text_cells"] += n_eot
        col = pc.replace_substring(col, END_OF_TEXT, "")
    col = pc.if_else(literal, pa.scalar(None, pa.large_string()), col)
    blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(col), ""), False)
    counts["blank_cells"] += int(pc.sum(blank).as_py() or 0)
    col = pc.if_else(blank, pa.scalar(None, pa.large_string()), col)
    if n_eot:
        col = pc.utf8_rtrim_whitespace(col)
    return col


def read_conversations(path: str) -> tuple[pa.Table, ReadReport]:
    """Read, validate and clean one CA file; return the typed table (canonical column order)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    if os.path.getsize(path) == 0:
        raise SchemaError(f"{path}: the file is empty (expected a CSV header with the 45 CA columns)")
    if path.endswith(".parquet"):
        raw = _read_parquet(path)
        header = raw.column_names
    else:
        header = _read_header(path)
        raw = None
    version = schema.detect_version(header, path)
    expected = schema.COLUMNS_V11 if version == "v1.1" else schema.COLUMNS_V10
    report = ReadReport(path=path, version=version)
    report.extra_columns = [c for c in header if c not in expected]
    if report.extra_columns:
        warnings.warn(
            f"{path}: ignoring {len(report.extra_columns)} unknown column(s): {', '.join(report.extra_columns)}",
            stacklevel=2,
        )
    batches = [raw] if raw is not None else _csv_batches(path, header)
    counts = {"empty_string_literal_cells": 0, "end_of_text_cells": 0, "blank_cells": 0}
    parts, offset = [], 0
    try:
        for batch in batches:
            parts.append(_typed(batch, path, version, counts))
            offset += batch.num_rows
    except _BadValue as e:
        row = offset + e.idx
        where = f"row {row}" if path.endswith(".parquet") else f"line {line_of_row(path, row)} (data row {row + 1})"
        raise SchemaError(
            f"{path}: {where}, column {e.column!r}: unexpected value {e.value!r}; expected {e.expected}"
            f" ({e.n_bad} row(s) affected in that block)"
        ) from None
    if offset == 0:
        raise SchemaError(f"{path}: the file has a header but no data rows")
    report.rows_read = offset
    report.cleaned = counts
    table = pa.concat_tables(parts)
    del parts
    return _drop_duplicate_ids(table, report), report


def _typed(raw: pa.Table, path: str, version: str, counts: dict[str, int]) -> pa.Table:
    out: dict[str, pa.ChunkedArray] = {}
    out["conversation_id"] = _parse_int(raw, "conversation_id", path)
    out["annotator_id"] = _parse_int(raw, "annotator_id", path)
    out["assigned_lang"] = _check_vocab(raw, "assigned_lang", schema.LANGUAGES, path, nullable=False)
    if version == "v1.1":
        wave = _parse_int(raw, "wave", path)
        bad = pc.invert(pc.is_in(wave, value_set=pa.array([1, 2], pa.int64())))
        if pc.any(bad).as_py():
            _bad_value(path, "wave", raw["wave"], bad, "1 or 2")
        out["wave"] = pc.cast(wave, pa.int8())
    else:
        out["wave"] = pa.chunked_array([pa.nulls(raw.num_rows, pa.int8())])
    for c in schema.BOOL_COLUMNS:
        out[c] = _parse_bool(raw, c, path)
    for t in schema.TURNS:
        for c in schema.turn_columns(t):
            if c.endswith("preferred_response"):
                out[c] = _check_vocab(raw, c, schema.PREFERRED_LABELS, path, nullable=True)
            else:
                out[c] = _clean_text(raw[c], counts)
    out["annotator_country"] = _check_vocab(raw, "annotator_country", schema.COUNTRIES, path, nullable=False)
    for c in schema.DEMOGRAPHIC_COLUMNS[1:]:
        col = pc.utf8_trim_whitespace(raw[c])
        out[c] = pc.if_else(pc.fill_null(pc.equal(col, ""), False), pa.scalar(None, pa.large_string()), col)
    table = pa.table({c: out[c] for c in schema.COLUMNS_V11})
    missing_prompt = pc.is_null(table["first_turn_prompt"])
    if pc.any(missing_prompt).as_py():
        _bad_value(path, "first_turn_prompt", raw["first_turn_prompt"], missing_prompt, "a first-turn prompt")
    return table


def _drop_duplicate_ids(table: pa.Table, report: ReadReport) -> pa.Table:
    ids = table["conversation_id"].to_numpy()
    _, first = np.unique(ids, return_index=True)
    n_dup = len(ids) - len(first)
    report.dropped["duplicate_conversation_id"] = int(n_dup)
    if n_dup:
        logger.warning("%s: dropped %d row(s) repeating a conversation_id", report.path, n_dup)
        table = table.take(np.sort(first))
    return table
