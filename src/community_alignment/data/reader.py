"""Read a Community Alignment CSV (or the Hub's parquet export) into a typed, cleaned Arrow table.

Cleaning policy (every change is counted in the returned `ReadReport`):

* a text cell holding the literal ``EMPTY STRING`` becomes null (``empty_string_literal_cells``);
* ``<|end_of_text|>`` tokens are removed from text cells, with the white space they leave at the end of
  the cell (``end_of_text_cells``);
* a text cell that is empty or white space only (after the two steps above) becomes null;
* a repeated ``conversation_id`` keeps its first row (``duplicate_conversation_id`` rows dropped).

Inconsistencies that are kept but counted (``ReadReport.inconsistencies``): annotators recorded with
more than one value of a demographic column (``annotators_with_conflicting_<column>``), and turns
whose joined ``*_turn_responses`` cell does not contain one of its ``response_a..d`` texts
(``responses_cell_contradicts_candidates``).

The file type is decided by content, not by name: a gzip stream is decompressed whatever its name
(a plain CSV named ``.gz`` is read as plain text, with a warning); a truncated gzip stream, a file
that is a directory or unreadable, and values that do not fit their type are errors naming the file,
line (or parquet row) and column.

Structural values (ids, booleans, wave, language, country, preferred labels) are validated: a bad
value raises `SchemaError` naming the file, the line, the column and the value. Demographic values
outside the documented vocabularies are kept (the card lists the observed values).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import gzip
import io
import logging
import mmap
import os
import re
import warnings
import zlib
from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from . import schema
from .ahead import prefetched
from .schema import SchemaError

logger = logging.getLogger(__name__)

EMPTY_LITERAL = "EMPTY STRING"
END_OF_TEXT = "<|end_of_text|>"
_END_OF_TEXT_RE = re.escape(END_OF_TEXT)
_LITERAL_RE = re.escape(EMPTY_LITERAL)
BLOCK_SIZE = 32 << 20  # bytes of CSV parsed at a time (64: more text read ahead, peak RSS +0.3 GB; 16: slower)
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
    inconsistencies: dict[str, int] = dataclasses.field(default_factory=dict)


GZIP_MAGIC = b"\x1f\x8b"


def is_gzip(path: str) -> bool:
    """Whether the file starts with the gzip magic bytes (its name does not matter)."""
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


def _decompressed(path: str) -> tuple[bytes, str | None]:
    """All bytes of a (possibly gzip) file, and a note when a gzip stream is truncated or corrupt."""
    with open(path, "rb") as f:
        raw = f.read()
    if not raw.startswith(GZIP_MAGIC):
        return raw, None
    d = zlib.decompressobj(wbits=31)
    try:
        out = d.decompress(raw)
    except zlib.error as e:
        return b"", f"not a valid gzip stream ({e})"
    if not d.eof:
        return out, f"the gzip stream is truncated (it ends after {len(out):,} decompressed bytes)"
    return out, None


def _as_text(stream: io.BufferedIOBase) -> io.TextIOBase:
    """A binary stream as text; bytes that are not UTF-8 become lone surrogates (they are found and
    named elsewhere), so locating one problem never fails on another."""
    return io.TextIOWrapper(stream, encoding="utf-8", errors="surrogateescape", newline="")


def _open_text(path: str) -> io.TextIOBase:
    """The (possibly gzip) file as text, decoded by `_as_text`."""
    return _as_text(gzip.open(path, "rb") if is_gzip(path) else open(path, "rb"))


def _read_header(path: str) -> list[str]:
    gz = is_gzip(path)
    if path.endswith(".gz") and not gz:
        warnings.warn(f"{path}: named .gz but not gzip-compressed; reading it as plain CSV", stacklevel=3)
    try:
        with open(path, "rb") as raw:
            stream = gzip.GzipFile(fileobj=raw) if gz else raw
            # newline="": \n, \r\n and CR-only files alike; bad bytes after the header are found later
            text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
            header = next(csv.reader(text), None)
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise SchemaError(f"{path}: not a readable gzip file: the stream is truncated or corrupt ({e})") from None
    except csv.Error as e:
        raise SchemaError(f"{path}: line 1: the header is not a valid CSV line ({e})") from None
    if not header:
        raise SchemaError(f"{path}: the file is empty (expected a CSV header with the 45 CA columns)")
    try:
        "".join(header).encode("utf-8")
    except UnicodeEncodeError:
        raise SchemaError(f"{path}: line 1: the header is not valid UTF-8") from None
    return header


@contextlib.contextmanager
def _any_field_size():
    """The standard library's csv reader without its 131,072-character field limit, for the duration."""
    old = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)
    try:
        yield
    finally:
        csv.field_size_limit(old)


def line_of_row(path: str, row: int) -> int:
    """1-based line number where data row `row` (0-based, header excluded) starts; slow, errors only."""
    with _any_field_size(), _open_text(path) as f:
        reader = csv.reader(f)
        next(reader, None)
        start = reader.line_num + 1
        for i, _ in enumerate(reader):
            if i == row:
                return start
            start = reader.line_num + 1
    return start


def diagnose_csv(path: str, header: list[str]) -> str:
    """Find the first problem of a CSV (bytes that are not UTF-8, then structure) with the standard
    library, as "line N[, column 'c']: what"; slow, errors only."""
    raw, gz_problem = _decompressed(path)
    if gz_problem:  # the data ends where the stream does: say so, with the line it stops at
        last_line = raw.count(b"\n") + 1
        return f"line {last_line}: {gz_problem}" if raw else gz_problem
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        bad = raw[e.start : e.start + 4]
        column = _column_at(raw, line, header)
        where = f"line {line}" + (f", column {column!r}" if column else "")
        return f"{where}: bytes {bad!r} are not valid UTF-8 (the file must be UTF-8 encoded)"
    with _any_field_size():
        return _first_problem(csv.reader(io.StringIO(text, newline=""), strict=True), len(header))


def _column_at(raw: bytes, line: int, header: list[str]) -> str | None:
    """The column of the first cell holding bytes that are not UTF-8, found in the record that spans
    `line` (that of the first such byte), if the rows up to it parse. `raw`: the file's bytes, already
    read (and decompressed) by `diagnose_csv`, decoded as they are parsed."""
    with _any_field_size(), _as_text(io.BytesIO(raw)) as f:
        reader = csv.reader(f)
        try:
            for record in reader:
                if reader.line_num >= line:  # records are contiguous: this one spans `line`
                    for name, cell in zip(header, record):
                        if any("\udc80" <= ch <= "\udcff" for ch in cell):
                            return name
                    return None
        except csv.Error:
            return None
    return None


def _first_problem(reader, n_columns: int) -> str:
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


class _MappedFile(io.RawIOBase):
    """A plain file read as zero-copy slices of a read-only memory map.

    Reading a block into a buffer copies it from the page cache into freshly allocated memory, which
    the kernel must first clear (on a VM, the host may also have to back it): a third of the parsing
    cost. A slice of a map is the page cache itself. `release(offset)` drops the pages before
    `offset` from the process (they stay cached; a later access maps them again), so the resident
    size stays a few blocks, not the file."""

    def __init__(self, path: str):
        with open(path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self._view = memoryview(self._map)
        self._pos = self._released = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> memoryview:
        end = len(self._map) if size is None or size < 0 else min(self._pos + size, len(self._map))
        out = self._view[self._pos : end]
        self._pos = end
        return out

    def readinto(self, b) -> int:  # io.RawIOBase's contract; pyarrow calls read()
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def release(self, offset: int) -> None:
        upto = offset // mmap.PAGESIZE * mmap.PAGESIZE
        if upto > self._released and hasattr(self._map, "madvise"):
            self._map.madvise(mmap.MADV_DONTNEED, self._released, upto - self._released)
            self._released = upto


def _csv_batches(path: str, header: list[str]) -> Iterator[pa.Table]:
    """Stream the CSV in blocks (bounded memory: the whole file is never parsed at once). The text is
    not checked for UTF-8 here but by `_check_utf8`, on the worker threads that type the blocks (the
    check is a quarter of the parsing thread's time)."""
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
        check_utf8=False,
    )
    mapped = None
    try:
        if is_gzip(path):
            stream = pa.input_stream(path, compression="gzip")
        else:  # the page cache's own pages, not a copy in freshly allocated memory (see _MappedFile)
            stream = mapped = _MappedFile(path)
        reader = pacsv.open_csv(stream, read_options=read_opts, parse_options=parse_opts, convert_options=conv_opts)
        bar = None
        if os.path.getsize(path) > PROGRESS_BYTES:
            from ..progress import progress_bar

            bar = progress_bar(desc=f"reading {os.path.basename(path)}", unit=" rows", unit_scale=True)
        for n, batch in enumerate(reader):
            if bar is not None:
                bar.update(batch.num_rows)
            if mapped is not None:  # the blocks before this one's are parsed (the parser copies its text)
                mapped.release(n * BLOCK_SIZE)
            yield pa.Table.from_batches([batch])
        if bar is not None:
            bar.close()
    except (pa.ArrowInvalid, pa.ArrowException, OSError, EOFError) as e:
        where = diagnose_csv(path, header)
        if not where and "straddl" in str(e):
            where = (
                f"a row is longer than the reader's block of {BLOCK_SIZE >> 20} MB (rows of Community Alignment"
                " are a few kB)"
            )
        raise SchemaError(f"{path}: {where or 'could not be parsed as CSV'} [{e}]") from None


def _read_parquet(path: str) -> pa.Table:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as e:
        raise SchemaError(f"{path}: not a readable parquet file ({e})") from None
    known = set(schema.COLUMNS_V11)
    cols = []
    for name in table.column_names:
        col = table[name]
        t = col.type
        if name not in known:  # ignored later (reported as extra columns): keep as text only if scalar
            col = pa.nulls(len(col), pa.large_string()) if pa.types.is_nested(t) else col
            t = col.type
        if pa.types.is_nested(t) or pa.types.is_dictionary(t) and pa.types.is_nested(t.value_type):
            raise SchemaError(
                f"{path}: column {name!r} has the nested type {t}; Community Alignment columns hold one "
                "scalar value per cell (text, integer or boolean)"
            )
        if pa.types.is_boolean(t):
            col = pc.if_else(col, "True", "False")
        elif pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
            for row, value in enumerate(col.to_pylist()):
                if value is not None:
                    try:
                        value.decode("utf-8")
                    except UnicodeDecodeError as e:
                        raise SchemaError(
                            f"{path}: row {row}, column {name!r}: bytes {value[e.start : e.start + 4]!r} are not "
                            "valid UTF-8"
                        ) from None
        try:
            cols.append(pc.cast(col, pa.large_string()))
        except pa.ArrowException as e:
            raise SchemaError(f"{path}: column {name!r} of type {t} cannot be read as text ({e})") from None
    return pa.table(cols, names=table.column_names)


class _BadUTF8(Exception):
    pass


def _require_utf8(values: pa.Array | pa.ChunkedArray) -> None:
    """Raise `_BadUTF8` when text values (not checked by the CSV parser) hold bytes that are not UTF-8."""
    try:
        values.validate(full=True)
    except pa.ArrowInvalid:
        raise _BadUTF8 from None  # located and named from the file by diagnose_csv


def _check_utf8(block: pa.Table, columns: list[str] | None = None) -> None:
    """`_require_utf8` of each text column (of `columns`, default all) of a CSV block."""
    for name in block.column_names if columns is None else columns:
        _require_utf8(block[name])


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
    digits = pc.utf8_length(pc.replace_substring_regex(col, r"^-?0*", ""))
    long = pc.fill_null(pc.greater(digits, 18), False)
    if pc.any(long).as_py():  # only values of 19+ digits can overflow int64: check those exactly
        values = col.to_pylist()
        overflow = [bool(lg) and not -(2**63) <= int(values[i]) < 2**63 for i, lg in enumerate(long.to_pylist())]
        if any(overflow):
            _bad_value(
                path, column, table[column], pa.chunked_array([pa.array(overflow)]), "an integer that fits in 64 bits"
            )
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


def _null_out(arr: pa.Array, mask: np.ndarray) -> pa.Array:
    """`arr` with the cells where `mask` is set made null. The offsets and text are shared with `arr`
    (only a new validity bitmap is built): no copy of the column's text."""
    if not mask.any():
        return arr
    valid = flags(arr.is_valid()) & ~mask
    if arr.offset:  # a bitmap must start at the array's offset: copy instead (not a CSV block)
        return pc.if_else(pa.array(mask), pa.scalar(None, arr.type), arr)
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(
        arr.type, len(arr), [bitmap, *arr.buffers()[1:]], null_count=int(len(arr) - valid.sum())
    )


def one_array(col: pa.ChunkedArray) -> pa.Array:
    """The column as one array; zero-copy when it has one chunk (`combine_chunks` always copies)."""
    return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()


def offsets(arr: pa.Array) -> np.ndarray:
    """The value offsets of a string or binary array (its own slice of them: positions in its text buffer)."""
    width = np.int64 if pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type) else np.int32
    return np.frombuffer(arr.buffers()[1], dtype=width)[arr.offset : arr.offset + len(arr) + 1]


def flags(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean array as numpy, null as False."""
    if arr.null_count:
        arr = pc.fill_null(arr, False)
    return np.asarray(arr.to_numpy(zero_copy_only=False))


def _clean_chunk(arr: pa.Array, counts: dict[str, int]) -> pa.Array:
    """The cleaning policy (module docstring) on one array, counted.

    One scan of the text finds the cells holding ``EMPTY STRING`` or ``<|end_of_text|>`` (RE2); the
    blank test (`utf8_is_space`, the white space of `utf8_trim_whitespace`) stops at a cell's first
    other character. Only those few cells are trimmed or rewritten; nulls are set in a new validity
    bitmap. A cell is the literal when it is ``EMPTY STRING`` once trimmed; a cell that held
    ``<|end_of_text|>`` loses it (every one, also one that removing another forms) and its trailing
    white space, and is null when nothing else is left.
    """
    n = len(arr)
    blank = flags(pc.utf8_is_space(arr)) | flags(pc.equal(pc.binary_length(arr), 0))
    # two scans with RE2's literal-prefix search (one alternation scans byte by byte, ~10x slower)
    flagged = np.flatnonzero(
        flags(pc.match_substring_regex(arr, _END_OF_TEXT_RE)) | flags(pc.match_substring_regex(arr, _LITERAL_RE))
    )
    literal = np.zeros(n, dtype=bool)
    eot = np.zeros(n, dtype=bool)
    if len(flagged):
        sub = arr.take(pa.array(flagged))
        literal[flagged] = flags(pc.equal(pc.utf8_trim_whitespace(sub), pa.scalar(EMPTY_LITERAL, arr.type)))
        eot[flagged] = flags(pc.match_substring(sub, END_OF_TEXT))
        eot &= ~literal  # the literal cell is null anyway
    counts["empty_string_literal_cells"] += int(literal.sum())
    n_eot = int(eot.sum())
    if n_eot:
        counts["end_of_text_cells"] += n_eot
        where = np.flatnonzero(eot)
        cleaned = arr.take(pa.array(where))
        while pc.any(pc.match_substring(cleaned, END_OF_TEXT)).as_py():  # also one formed by removing another
            cleaned = pc.replace_substring(cleaned, END_OF_TEXT, "")
        cleaned = pc.utf8_rtrim_whitespace(cleaned)
        blank[where] = flags(pc.equal(pc.binary_length(cleaned), 0))
        arr = pc.replace_with_mask(arr, pa.array(eot), cleaned)
    counts["blank_cells"] += int(blank.sum())
    return _null_out(arr, literal | blank)


def _clean_text(col: pa.ChunkedArray, counts: dict[str, int]) -> pa.ChunkedArray:
    return pa.chunked_array([_clean_chunk(c, counts) for c in col.chunks], col.type)


def read_conversations(
    path: str, compact: bool = False, per_block: Callable[[pa.Table], pa.Table] | None = None
) -> tuple[pa.Table, ReadReport]:
    """Read, validate and clean one CA file; return the typed table (canonical column order).

    `compact`: the `*_turn_responses` columns as `_settle_responses` compacts them (`restore_responses`
    gives them back), so the text they repeat from the candidates is never held twice.
    `per_block`: applied to each typed block (in the reading pipeline, on a worker thread, blocks in
    any order), and its results concatenated instead; it sees every row, the repeated ones too."""
    from .sources import check_data_file

    path = check_data_file(path)
    if os.path.getsize(path) == 0:
        raise SchemaError(f"{path}: the file is empty (expected a CSV header with the 45 CA columns)")
    if path.endswith(".parquet") or _is_parquet(path):
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

    def numbered() -> Iterator[tuple[int, pa.Table]]:
        offset = 0
        for batch in batches:
            yield offset, batch
            offset += batch.num_rows

    def typed_block(item: tuple[int, pa.Table]) -> tuple[pa.Table, int, dict[str, int]]:
        offset, batch = item
        if raw is None:  # the responses cells are checked by _settle_responses, most of them as copies
            _check_utf8(batch, [c for c in batch.column_names if c not in RESPONSES_COLUMNS])
        block_counts = dict.fromkeys(counts, 0)
        try:
            typed = _typed(batch, path, version, block_counts)
        except _BadValue as e:
            if raw is None:  # a block's bytes are checked before its values
                _check_utf8(batch, [c for c in RESPONSES_COLUMNS if c in batch.column_names])
            e.idx += offset
            e.rows = (offset, offset + batch.num_rows)
            raise
        typed, bad = _settle_responses(typed, block_counts, compact, check_utf8=raw is None)
        return (per_block(typed) if per_block else typed), bad, block_counts

    # the next blocks are parsed (main thread, in pyarrow) while these are typed (worker threads)
    mismatched, parts = 0, []
    try:
        for typed, bad, block_counts in prefetched(typed_block, numbered(), depth=2, workers=2):
            parts.append(typed)
            mismatched += bad
            for k, v in block_counts.items():
                counts[k] += v
    except _BadUTF8:  # named by its line and column, whatever the block it fell in
        raise SchemaError(f"{path}: {diagnose_csv(path, header) or 'is not valid UTF-8'}") from None
    except _BadValue as e:
        row = e.idx
        where = f"row {row}" if raw is not None else f"line {line_of_row(path, row)} (data row {row + 1})"
        span = f"rows {e.rows[0]}–{e.rows[1] - 1}" if raw is not None else f"data rows {e.rows[0] + 1}–{e.rows[1]}"
        raise SchemaError(
            f"{path}: {where}, column {e.column!r}: unexpected value {e.value!r}; expected {e.expected}"
            f" ({e.n_bad} of {span} have this problem)"
        ) from None
    offset = sum(t.num_rows for t in parts)
    if offset == 0:
        raise SchemaError(f"{path}: the file has a header but no data rows")
    report.rows_read = offset
    report.cleaned = counts
    table = pa.concat_tables(parts)
    del parts
    table = _drop_duplicate_ids(table, report)
    report.inconsistencies = {
        **_conflicting_demographics(table),
        "responses_cell_contradicts_candidates": int(mismatched),
    }
    for what, n in report.inconsistencies.items():
        if n:
            logger.warning("%s: %s = %d (kept, counted in the dataset info)", path, what, n)
    return table, report


def _is_parquet(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"PAR1"


def _conflicting_demographics(table: pa.Table) -> dict[str, int]:
    """Per demographic column, how many annotators are recorded with more than one (non-null) value."""
    out = {}
    for c in schema.DEMOGRAPHIC_COLUMNS:
        g = table.select(["annotator_id", c]).group_by("annotator_id").aggregate([(c, "count_distinct")])
        out[f"annotators_with_conflicting_{c.removeprefix('annotator_')}"] = int(
            pc.sum(pc.greater(g[f"{c}_count_distinct"], 1)).as_py() or 0
        )
    return out


def responses_layout(candidates: list[pa.Array]) -> pa.Array:
    """The documented `*_turn_responses` cell of each row from its four candidates: `# Response A:`, a
    new line and candidate a, then B, C and D likewise, joined by blank lines (an empty candidate as "")."""
    parts = []
    for x, c in zip("ABCD", candidates):
        parts += [pa.scalar(f"# Response {x}:\n", c.type), pc.fill_null(c, pa.scalar("", c.type))]
        if x != "D":
            parts.append(pa.scalar("\n\n", c.type))
    return pc.binary_join_element_wise(*parts, pa.scalar("", candidates[0].type))


RESPONSES_COLUMNS = [f"{t}_turn_responses" for t in schema.TURNS]
#: A compacted table (`read_conversations(..., compact=True)`) holds each `*_turn_responses`
#: column as two: which cells are exactly the layout of their candidates, and the other cells' text.
IS_LAYOUT, OTHER = "_is_layout", "_other"


def _settle_responses(table: pa.Table, counts: dict[str, int], compact: bool, check_utf8: bool) -> tuple[pa.Table, int]:
    """The `*_turn_responses` columns (raw from `_typed`) against their cleaned candidates: cleaned,
    counted, and compacted (`compact`); and how many cells lack one of their (non-empty) candidates
    (`responses_cell_contradicts_candidates`).

    A raw cell that is exactly `responses_layout` of its cleaned candidates is that layout once
    cleaned too (the candidates hold no marker, and the headers make it neither blank nor the
    literal), and valid UTF-8 (the candidates are): it is neither checked nor cleaned. Only the few
    other cells are: their UTF-8 (`check_utf8`), the cleaning policy, the layout again, then the
    contradiction test (the layout once trimmed, then text by text).

    `compact`: each column as `<column>_is_layout` (the cells that are exactly the layout) and
    `<column>_other` (the other cells' cleaned text; null where the layout stands), so the text the
    candidates hold is not held twice (`restore_responses` rebuilds the column)."""
    bad = 0
    for t in schema.TURNS:
        name = f"{t}_turn_responses"
        cell = one_array(table[name])
        cands = [one_array(table[f"{t}_turn_response_{x}"]) for x in schema.LETTERS]
        valid = flags(cell.is_valid())
        exact = valid & flags(pc.equal(responses_layout(cands), cell))
        rows = np.flatnonzero(valid & ~exact)
        idx = pa.array(rows, pa.int64())
        other = cell.take(idx)
        if check_utf8:
            _require_utf8(other)
        other = _clean_chunk(other, counts)
        sub_cands = [c.take(idx) for c in cands]
        layout = responses_layout(sub_cands)
        same = flags(other.is_valid()) & flags(pc.equal(layout, other))
        exact[rows] = same
        bad += _contradictions(other, layout, sub_cands, flags(other.is_valid()) & ~same)
        table = table.drop_columns([name])
        if compact:
            where = np.zeros(len(cell), dtype=np.int64)
            where[rows] = np.arange(len(rows))
            kept = np.zeros(len(cell), dtype=bool)
            kept[rows] = ~same
            text = other.take(pa.array(where, mask=~kept))  # a null index: a null cell, no text
            table = table.append_column(name + IS_LAYOUT, pa.array(exact)).append_column(name + OTHER, text)
        else:
            if len(rows):
                put = np.zeros(len(cell), dtype=bool)
                put[rows] = True
                cell = pc.replace_with_mask(cell, pa.array(put), other)
            table = table.append_column(name, cell)
    if not compact:
        table = table.select(schema.COLUMNS_V11)
    return table, bad


def _contradictions(cells: pa.Array, layout: pa.Array, cands: list[pa.Array], check: np.ndarray) -> int:
    """How many of the `check` cells lack one of their (non-empty) candidates: not the layout once
    both are trimmed, and a candidate's trimmed text not in the cell."""
    rows = np.flatnonzero(check)
    if not len(rows):
        return 0
    idx = pa.array(rows)
    same = flags(pc.equal(pc.utf8_trim_whitespace(layout.take(idx)), pc.utf8_trim_whitespace(cells.take(idx))))
    rows = rows[~same]
    if not len(rows):
        return 0
    idx = pa.array(rows)
    texts = [c.take(idx).to_pylist() for c in cands]
    return sum(
        any(v is not None and v.strip() not in text for v in (tx[i] for tx in texts))
        for i, text in enumerate(cells.take(idx).to_pylist())
    )


def restore_responses(table: pa.Table) -> pa.Table:
    """The inverse of compacting (`read_conversations(compact=True)`): the `*_turn_responses` columns rebuilt from the candidates."""
    for t in schema.TURNS:
        name = f"{t}_turn_responses"
        cands = [table[f"{t}_turn_response_{x}"] for x in schema.LETTERS]
        cell = pc.if_else(table[name + IS_LAYOUT], responses_layout(cands), table[name + OTHER])
        table = table.drop_columns([name + IS_LAYOUT, name + OTHER]).append_column(name, cell)
    return table


def _typed(raw: pa.Table, path: str, version: str, counts: dict[str, int]) -> pa.Table:
    """The typed, cleaned block. Every check runs; the bad value raised is that of the earliest row
    (then the earliest check), so the error named does not depend on how the file is cut in blocks."""
    out: dict[str, pa.ChunkedArray] = {}
    problems: list[_BadValue] = []

    def checked(fn, *args):
        try:
            return fn(*args)
        except _BadValue as e:
            problems.append(e)
            return None

    out["conversation_id"] = checked(_parse_int, raw, "conversation_id", path)
    out["annotator_id"] = checked(_parse_int, raw, "annotator_id", path)
    out["assigned_lang"] = checked(_check_vocab, raw, "assigned_lang", schema.LANGUAGES, path, False)
    if version == "v1.1":
        wave = checked(_parse_int, raw, "wave", path)
        if wave is not None:
            bad = pc.invert(pc.is_in(wave, value_set=pa.array([1, 2], pa.int64())))
            if pc.any(bad).as_py():
                checked(_bad_value, path, "wave", raw["wave"], bad, "1 or 2")
            out["wave"] = pc.cast(wave, pa.int8())
    else:
        out["wave"] = pa.chunked_array([pa.nulls(raw.num_rows, pa.int8())])
    for c in schema.BOOL_COLUMNS:
        out[c] = checked(_parse_bool, raw, c, path)
    for t in schema.TURNS:
        for c in schema.turn_columns(t):
            if c.endswith("preferred_response"):
                out[c] = checked(_check_vocab, raw, c, schema.PREFERRED_LABELS, path, True)
            elif c in RESPONSES_COLUMNS:  # raw: cleaned by _settle_responses, where not their layout
                out[c] = raw[c]
            else:
                out[c] = _clean_text(raw[c], counts)
    out["annotator_country"] = checked(_check_vocab, raw, "annotator_country", schema.COUNTRIES, path, False)
    for c in schema.DEMOGRAPHIC_COLUMNS[1:]:
        col = pc.utf8_trim_whitespace(raw[c])
        out[c] = pc.if_else(pc.fill_null(pc.equal(pc.binary_length(col), 0), False), pa.scalar(None, col.type), col)
    missing_prompt = pc.is_null(out["first_turn_prompt"])
    if pc.any(missing_prompt).as_py():
        checked(_bad_value, path, "first_turn_prompt", raw["first_turn_prompt"], missing_prompt, "a first-turn prompt")
    if problems:
        raise min(problems, key=lambda e: e.idx)  # min keeps the earliest check among equal rows
    return pa.table({c: out[c] for c in schema.COLUMNS_V11})


def _drop_duplicate_ids(table: pa.Table, report: ReadReport) -> pa.Table:
    ids = table["conversation_id"].to_numpy()
    _, first = np.unique(ids, return_index=True)
    n_dup = len(ids) - len(first)
    report.dropped["duplicate_conversation_id"] = int(n_dup)
    if n_dup:
        logger.warning("%s: dropped %d row(s) repeating a conversation_id", report.path, n_dup)
        keep = np.zeros(len(ids), dtype=bool)
        keep[first] = True
        table = table.filter(pa.array(keep))  # per chunk (a take would concatenate every column first)
    return table
