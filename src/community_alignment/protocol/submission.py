"""`submission.parquet`: the primary artefact of a run. Scores are the submission; every number is
recomputed from them by the contract (`community-alignment evaluate`).

Layout: one row per evaluated comparison with `conversation_id` (int64), `turn` (int), `score_a` …
`score_d` (float64; NaN only where that candidate is absent). The run's metadata is JSON in the
parquet schema metadata under the key `community_alignment` (see `METADATA_FIELDS` and
docs/benchmark.md): the protocol (id, track, dataset and split fingerprint), the model (its own name,
its base, resolved revisions / weights hash, method, conditioning, temperature, max length), the
truncation counts, training settings and provenance.

Everything here treats the file as hostile: size and depth limits, duplicate JSON keys rejected,
strict patterns for names and revisions, every problem reported with its location (`Problem`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass

import numpy as np

from ..io_utils import atomic_write_bytes
from .tracks import PROTOCOL_VERSION, TRACKS, protocol_id

SUBMISSION_FILE = "submission.parquet"
METADATA_KEY = b"community_alignment"
FORMAT = "community-alignment-submission"
FORMAT_VERSION = 1
SCORE_COLUMNS = tuple(f"score_{x}" for x in "abcd")
ID_COLUMNS = ("conversation_id", "turn")
MAX_BYTES = 512 << 20
#: More rows than any track needs (CA's test split ≈ 23k comparisons; k-shot layouts multiply it):
#: checked from the parquet footer before anything is read.
MAX_ROWS = 5_000_000
MAX_METADATA_BYTES = 1 << 20
MAX_DEPTH = 8
MAX_STRING = 200
_SEGMENT = r"[A-Za-z0-9](?:[A-Za-z0-9_-]|\.(?!\.)){0,94}[A-Za-z0-9_-]?"
#: A model name: a Hub id `org/name` or a plain name; no `.`/`..` segment, whitespace or control character.
NAME_RE = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})?")
SHA1_RE = re.compile(r"[0-9a-f]{40}")
SHA256_RE = re.compile(r"[0-9a-f]{64}")
HASH_RE = re.compile(r"[0-9a-f]{8,64}")
#: The top-level metadata keys of the format (`build_metadata`). Anything else is refused: a submission
#: carries scores and metadata only — no summary; every number is recomputed.
METADATA_KEYS = (
    "format",
    "format_version",
    "protocol",
    "model",
    "truncation",
    "training",
    "evaluation",
    "scoring",
    "provenance",
)


def _hidden(ch: str) -> bool:
    """Invisible or direction-changing: a control, format (bidi override, zero-width), private-use,
    surrogate or line/paragraph-separator character."""
    import unicodedata

    return unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp")


@dataclass(frozen=True)
class Problem:
    """One problem of a submission, with where it is (`(file)`, `/model/name`, `row 12`, …)."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class SubmissionError(ValueError):
    """A submission that cannot be evaluated; `problems` lists every reason."""

    def __init__(self, path: str, problems: list[Problem]):
        self.path, self.problems = path, problems
        super().__init__(f"{path}: {len(problems)} problem(s)\n" + "\n".join(f"  {p}" for p in problems))


@dataclass
class Submission:
    path: str
    conversation_id: np.ndarray
    turn: np.ndarray
    scores: np.ndarray  # (n, 4)
    metadata: dict
    sha256: str
    extra: dict  # optional columns (e.g. k, draw of the individual track)

    def __len__(self) -> int:
        return len(self.turn)

    @property
    def track(self) -> str:
        return self.metadata["protocol"]["track"]


def _reject_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def _bad_constant(c: str):
    raise ValueError(f"non-finite number {c} is not JSON")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > 18:  # beyond any count or size this format holds (and beyond float range)
        raise ValueError(f"integer of {len(text)} digits")
    return int(text)


def parse_metadata(raw: bytes) -> tuple[dict | None, list[Problem]]:
    """Strict JSON: size limit, no duplicate keys, no NaN/Infinity, depth ≤ MAX_DEPTH."""
    if len(raw) > MAX_METADATA_BYTES:
        return None, [Problem("(metadata)", f"metadata is larger than {MAX_METADATA_BYTES >> 10} KiB")]
    try:
        data = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_reject_duplicates,
            parse_constant=_bad_constant,
            parse_int=_bounded_int,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        return None, [Problem("(metadata)", f"not valid JSON: {str(e)[:200]}")]
    if not isinstance(data, dict):
        return None, [Problem("(metadata)", "expected a JSON object")]
    if _depth(data) > MAX_DEPTH:
        return None, [Problem("(metadata)", f"nested deeper than {MAX_DEPTH} levels")]
    return data, []


def _depth(obj, limit: int = MAX_DEPTH + 1) -> int:
    stack, deepest = [(obj, 1)], 0
    while stack:
        o, d = stack.pop()
        deepest = max(deepest, d)
        if deepest > limit:
            return deepest
        if isinstance(o, dict):
            stack += [(v, d + 1) for v in o.values()]
        elif isinstance(o, list):
            stack += [(v, d + 1) for v in o]
    return deepest


def _strings(obj, where: str):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield f"{where}/{k}", str(k)
            yield from _strings(v, f"{where}/{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _strings(v, f"{where}/{i}")
    elif isinstance(obj, str):
        yield where, obj


def _is_number(x) -> bool:
    try:
        return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
    except OverflowError:
        return False


def _is_int(x) -> bool:
    return type(x) is int


def metadata_problems(meta: dict) -> list[Problem]:
    """Every problem of the metadata: complete, typed, strict names, a consistent protocol id."""
    from ..scoring.registry import METHODS
    from ..training.conditioning import CONDITIONING

    out: list[Problem] = []

    def need(obj, path: str, key: str, check, message: str, optional: bool = False):
        if not isinstance(obj, dict):
            return None
        if key not in obj:
            if not optional:
                out.append(Problem(f"{path}/{key}", "missing"))
            return None
        v = obj[key]
        if not check(v):
            out.append(Problem(f"{path}/{key}", f"{message}; got {str(v)[:80]!r}"))
        return v

    for key in meta:
        if key not in METADATA_KEYS:
            out.append(
                Problem(
                    f"/{ascii(str(key))[1:-1][:60]}",
                    "unexpected metadata key (a submission carries scores and metadata only; every number is recomputed)",
                )
            )
    for where, s in _strings(meta, ""):
        shown = ascii(where)[1:-1][:120]
        if len(s) > MAX_STRING:
            out.append(Problem(shown, f"string of {len(s)} characters (limit {MAX_STRING})"))
        bad = sorted({f"U+{ord(ch):04X}" for ch in s if _hidden(ch)})
        if bad:
            out.append(Problem(shown, f"contains control, invisible or bidirectional characters ({', '.join(bad)})"))
    if (
        meta.get("format") != FORMAT
        or not _is_int(meta.get("format_version"))
        or meta["format_version"] != FORMAT_VERSION
    ):
        out.append(Problem("/format", f"not a {FORMAT} v{FORMAT_VERSION} file"))
    name = lambda v: isinstance(v, str) and NAME_RE.fullmatch(v) is not None  # noqa: E731
    opt_name = lambda v: v is None or name(v)  # noqa: E731
    opt = lambda pattern: lambda v: v is None or (isinstance(v, str) and pattern.fullmatch(v) is not None)  # noqa: E731
    proto = meta.get("protocol")
    if not isinstance(proto, dict):
        out.append(Problem("/protocol", "missing or not an object"))
        proto = {}
    need(
        proto,
        "/protocol",
        "version",
        lambda v: _is_int(v) and v == PROTOCOL_VERSION,
        f"must be the integer {PROTOCOL_VERSION}",
    )
    track = need(proto, "/protocol", "track", lambda v: v in TRACKS, f"must be one of {sorted(TRACKS)}")
    ds = proto.get("dataset")
    if not isinstance(ds, dict):
        out.append(Problem("/protocol/dataset", "missing or not an object"))
        ds = {}
    source = need(
        ds, "/protocol/dataset", "source", lambda v: v in ("hub", "local", "sample"), "must be hub, local or sample"
    )
    revision = need(ds, "/protocol/dataset", "revision", opt(SHA1_RE), "must be a 40-hex commit or null")
    synthetic = need(ds, "/protocol/dataset", "synthetic", lambda v: isinstance(v, bool), "must be true or false")
    split_by = need(
        ds, "/protocol/dataset", "split_by", lambda v: v in ("prompt", "annotator"), "must be prompt or annotator"
    )
    need(ds, "/protocol/dataset", "split", lambda v: v == "test", "must be test")
    fp = need(
        ds,
        "/protocol/dataset",
        "fingerprint",
        lambda v: isinstance(v, str) and SHA256_RE.fullmatch(v),
        "must be 64 hex digits",
    )
    if source == "sample" and synthetic is False or source in ("hub", "local") and synthetic is True:
        out.append(
            Problem("/protocol/dataset/synthetic", f"source {source!r} with synthetic={synthetic} is contradictory")
        )
    if track in TRACKS and split_by is not None and TRACKS[track].split_by not in (None, split_by):
        out.append(Problem("/protocol/dataset/split_by", f"track {track!r} uses split_by {TRACKS[track].split_by!r}"))
    if all(isinstance(x, str) for x in (track, source, split_by, fp)) and isinstance(synthetic, bool):
        expected = protocol_id(track, source, revision, synthetic, split_by, fp)
        if proto.get("id") != expected:
            out.append(Problem("/protocol/id", f"does not match its fields (expected {expected!r})"))
    model = meta.get("model")
    if not isinstance(model, dict):
        out.append(Problem("/model", "missing or not an object"))
        model = {}
    need(
        model,
        "/model",
        "name",
        name,
        "must be a Hub id or plain name (org/name; letters, digits, . _ -; no ./.. segment)",
    )
    need(model, "/model", "base_model", opt_name, "must be a Hub id, plain name or null")
    need(model, "/model", "revision", opt(SHA1_RE), "must be a resolved 40-hex commit or null")
    need(model, "/model", "base_revision", opt(SHA1_RE), "must be a resolved 40-hex commit or null")
    need(model, "/model", "weights_sha256", opt(SHA256_RE), "must be 64 hex digits or null")
    method = need(model, "/model", "method", lambda v: v in METHODS, f"must be one of {sorted(METHODS)}")
    need(model, "/model", "conditioning", lambda v: v in CONDITIONING, f"must be one of {list(CONDITIONING)}")
    need(model, "/model", "ref_model", opt_name, "must be a Hub id, plain name or null")
    beta = need(
        model, "/model", "beta", lambda v: v is None or (_is_number(v) and v > 0), "must be a number > 0 or null"
    )
    need(
        model,
        "/model",
        "dtype",
        lambda v: v in ("float32", "bfloat16", "float16", "none"),
        "must be float32, bfloat16, float16 or none",
    )
    need(
        model,
        "/model",
        "max_length",
        lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool) and v > 0),
        "must be a positive integer or null",
    )
    need(
        model,
        "/model",
        "temperature",
        lambda v: v is None or (_is_number(v) and v > 0),
        "must be a number > 0 or null (informational: the evaluator cross-fits its own)",
        optional=True,
    )
    need(model, "/model", "chat_template_hash", opt(HASH_RE), "must be hex or null")
    for key in model:
        if key not in MODEL_KEYS:
            out.append(
                Problem(
                    f"/model/{ascii(str(key))[1:-1][:60]}",
                    "unexpected key (the model block holds provenance, never results)",
                )
            )
    if method == "dpo" and (not model.get("ref_model") or beta is None):
        out.append(Problem("/model/ref_model", "a DPO submission must name its reference model and β"))
    trunc = meta.get("truncation")
    if trunc is not None:
        if not isinstance(trunc, dict):
            out.append(Problem("/truncation", "must be an object or null"))
        else:
            counts_ok = True
            for k, v in trunc.items():
                if not (_is_int(v) and v >= 0):
                    counts_ok = False
                    out.append(
                        Problem(
                            f"/truncation/{ascii(str(k))[1:-1][:60]}",
                            f"must be a count (integer ≥ 0); got {str(v)[:40]!r}",
                        )
                    )
            for part, whole in TRUNCATION_BOUNDS:
                if counts_ok and part in trunc and whole in trunc and trunc[part] > trunc[whole]:
                    out.append(Problem(f"/truncation/{part}", f"{trunc[part]} exceeds {whole} ({trunc[whole]})"))
    evaluation = meta.get("evaluation")
    if evaluation is not None:
        out += _evaluation_problems(evaluation, track)
    versions = (
        (meta.get("provenance") or {}).get("package_versions") if isinstance(meta.get("provenance"), dict) else None
    )
    if versions is not None and len(json.dumps(versions)) > 4096:
        out.append(Problem("/provenance/package_versions", "larger than 4 KiB"))
    for key in ("training", "provenance", "scoring"):
        if key in meta and meta[key] is not None and not isinstance(meta[key], dict):
            out.append(Problem(f"/{key}", "must be an object or null"))
    return out


#: The keys of the model block (`build_metadata` callers fill every one).
MODEL_KEYS = (
    "name",
    "base_model",
    "revision",
    "base_revision",
    "weights_sha256",
    "method",
    "conditioning",
    "ref_model",
    "beta",
    "dtype",
    "max_length",
    "temperature",
    "chat_template_hash",
)
#: (part, whole) pairs of truncation counts: a part never exceeds its whole.
TRUNCATION_BOUNDS = (
    ("truncated", "sequences"),
    ("candidates_whole", "candidates"),
    ("candidate_tokens_kept", "candidate_tokens"),
)


def _evaluation_problems(evaluation, track) -> list[Problem]:
    """`evaluation`: {"subsample": int ≥ 1 | null, "filters": {"countries" | "languages" | "turns": list | null}};
    a ranked track allows neither."""
    if not isinstance(evaluation, dict):
        return [Problem("/evaluation", "must be an object")]
    out = []
    for key in evaluation:
        if key not in ("subsample", "filters"):
            out.append(Problem(f"/evaluation/{ascii(str(key))[1:-1][:60]}", "unexpected key"))
    sub = evaluation.get("subsample")
    if sub is not None and not (_is_int(sub) and sub > 0):
        out.append(Problem("/evaluation/subsample", "must be a positive integer or null"))
    filters = evaluation.get("filters", {})
    if filters is None:
        filters = {}
    if not isinstance(filters, dict):
        out.append(Problem("/evaluation/filters", "must be an object"))
        filters = {}
    for key, value in filters.items():
        if key not in ("countries", "languages", "turns"):
            out.append(Problem(f"/evaluation/filters/{ascii(str(key))[1:-1][:60]}", "unexpected key"))
        elif value is not None and not (
            isinstance(value, list) and all(isinstance(x, (str, int)) and not isinstance(x, bool) for x in value)
        ):
            out.append(Problem(f"/evaluation/filters/{key}", "must be a list of values or null"))
    if track in TRACKS and TRACKS[track].ranked and (sub or any(v for v in filters.values() if isinstance(v, list))):
        out.append(Problem("/evaluation", f"a subsampled or filtered run belongs to track 'smoke', not {track!r}"))
    return out


def build_metadata(
    protocol: dict,
    model: dict,
    truncation: dict | None = None,
    training: dict | None = None,
    evaluation: dict | None = None,
    provenance: dict | None = None,
    scoring: dict | None = None,
) -> dict:
    """The metadata of a submission (validated by `metadata_problems` when written). `scoring`: the
    scorer's own report (e.g. an LLM judge's elicitation, permutations and letter bias)."""
    from datetime import datetime, timezone

    from ..results.io import git_sha, package_versions

    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "protocol": {k: protocol[k] for k in ("id", "version", "track", "dataset")},
        "model": model,
        "truncation": truncation,
        "training": training,
        "evaluation": evaluation or {"subsample": None, "filters": {}},
        "scoring": scoring,
        "provenance": provenance
        or {
            "package_versions": package_versions(),
            "git_sha": git_sha(),
            "created": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        },
    }


def write_submission(
    path: str,
    conversation_id: np.ndarray,
    turn: np.ndarray,
    scores: np.ndarray,
    metadata: dict,
    extra: dict[str, np.ndarray] | None = None,
) -> str:
    """Write submission.parquet atomically; refuses metadata with problems."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    problems = metadata_problems(metadata)
    if problems:
        raise SubmissionError(path, problems)
    scores = np.asarray(scores, dtype=np.float64)
    cols = {
        "conversation_id": pa.array(np.asarray(conversation_id, dtype=np.int64)),
        "turn": pa.array(np.asarray(turn, dtype=np.int64)),
    }
    for j, c in enumerate(SCORE_COLUMNS):
        cols[c] = pa.array(scores[:, j], pa.float64())
    for k, v in (extra or {}).items():
        cols[k] = pa.array(np.asarray(v, dtype=np.int64))
    table = pa.table(cols).replace_schema_metadata({METADATA_KEY: json.dumps(metadata, sort_keys=True).encode()})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    atomic_write_bytes(path, sink.getvalue().to_pybytes())
    return path


def read_submission(path: str, extra_columns: tuple[str, ...] = ()) -> Submission:
    """Read and check a submission file: raises SubmissionError listing every problem found."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    problems: list[Problem] = []
    if os.path.isdir(path):
        raise SubmissionError(path, [Problem("(file)", "is a directory, not a submission file")])
    if not os.path.exists(path):
        raise SubmissionError(path, [Problem("(file)", "no such file")])
    if not os.path.isfile(path):
        raise SubmissionError(path, [Problem("(file)", "not a regular file")])
    size = os.path.getsize(path)
    if size > MAX_BYTES:
        raise SubmissionError(path, [Problem("(file)", f"{size} bytes: larger than the {MAX_BYTES >> 20} MiB limit")])
    with open(path, "rb") as f:
        raw = f.read()
    try:
        pf = pq.ParquetFile(pa.BufferReader(raw))
        schema = pf.schema_arrow
    except Exception as e:  # pyarrow raises several types for a corrupt file
        raise SubmissionError(path, [Problem("(file)", f"not a readable parquet file: {str(e)[:200]}")]) from None
    rows = pf.metadata.num_rows
    if rows > MAX_ROWS:
        raise SubmissionError(path, [Problem("(file)", f"{rows} rows: more than the {MAX_ROWS} a submission can hold")])
    if rows == 0:
        raise SubmissionError(path, [Problem("(file)", "the submission has no rows")])
    meta_raw = (schema.metadata or {}).get(METADATA_KEY)
    meta = None
    if meta_raw is None:
        problems.append(Problem("(metadata)", f"no {METADATA_KEY.decode()!r} key in the parquet schema metadata"))
    else:
        meta, found = parse_metadata(meta_raw)
        problems += found
        if meta is not None:
            problems += metadata_problems(meta)
    allowed = {*ID_COLUMNS, *SCORE_COLUMNS, *extra_columns}
    names = schema.names
    for c in (*ID_COLUMNS, *SCORE_COLUMNS):
        if c not in names:
            problems.append(Problem(f"column {c}", "missing"))
    for c in names:
        if c not in allowed:
            problems.append(Problem(f"column {ascii(c)[1:-1][:60]}", "unexpected column"))
    if len(set(names)) != len(names):
        problems.append(Problem("(columns)", "duplicate column names"))
    for c in names:
        if c in allowed:
            t = schema.field(c).type
            want_float = c in SCORE_COLUMNS
            ok = (pa.types.is_floating(t) or pa.types.is_integer(t)) if want_float else pa.types.is_integer(t)
            if not ok:
                problems.append(Problem(f"column {c}", f"type {t} (expected {'float64' if want_float else 'integer'})"))
    if problems:
        raise SubmissionError(path, problems)
    try:
        table = pf.read()
    except Exception as e:
        raise SubmissionError(path, [Problem("(file)", f"unreadable data: {str(e)[:200]}")]) from None
    col = lambda c, dt: table.column(c).to_numpy(zero_copy_only=False).astype(dt)  # noqa: E731
    nulls = [c for c in (*ID_COLUMNS, *extra_columns) if c in names and table.column(c).null_count]
    if nulls:
        raise SubmissionError(path, [Problem(f"column {c}", "contains nulls") for c in nulls])
    scores = np.stack(
        [np.asarray(table.column(c).to_numpy(zero_copy_only=False), dtype=np.float64) for c in SCORE_COLUMNS], 1
    )
    extra = {c: col(c, np.int64) for c in extra_columns if c in names}
    return Submission(
        path,
        col("conversation_id", np.int64),
        col("turn", np.int64),
        scores,
        meta,
        hashlib.sha256(raw).hexdigest(),
        extra,
    )


def _ids(conv: np.ndarray, turn: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(f"{c}-{t}" for c, t in zip(conv[:limit], turn[:limit]))
    return shown + (f" … ({len(conv)} in all)" if len(conv) > limit else "")


def align(sub: Submission, truth, exact: bool) -> tuple[np.ndarray, np.ndarray, list[Problem]]:
    """(rows of the truth's test split covered, their scores (m, 4), problems). `exact`: the ids must
    equal the track's test ids (none missing, none extra, no duplicates); otherwise a subset is allowed
    (smoke). Scores must be finite on every present candidate and NaN on absent ones."""
    problems: list[Problem] = []
    index = truth.index()
    keys = list(zip(sub.conversation_id.tolist(), sub.turn.tolist()))
    seen: dict[tuple[int, int], int] = {}
    dup_rows = []
    for r, k in enumerate(keys):
        if k in seen:
            dup_rows.append(r)
        else:
            seen[k] = r
    if dup_rows:
        d = np.array(dup_rows)
        problems.append(Problem("rows", f"duplicate comparisons: {_ids(sub.conversation_id[d], sub.turn[d])}"))
    pos = np.array([index.get(k, -1) for k in keys], dtype=np.int64)
    extra = np.flatnonzero(pos < 0)
    if len(extra):
        other = truth_other_splits(truth)
        where = [other.get(int(c), "no split of this dataset") for c in sub.conversation_id[extra]]
        kinds = sorted(set(where))
        problems.append(
            Problem(
                "rows",
                f"{len(extra)} comparison(s) not in the {truth.protocol['track']} track's test split "
                f"(found in: {', '.join(kinds)}): {_ids(sub.conversation_id[extra], sub.turn[extra])}",
            )
        )
    covered = np.zeros(len(truth.test.turn), dtype=bool)
    covered[pos[pos >= 0]] = True
    if exact and not covered.all():
        miss = np.flatnonzero(~covered)
        problems.append(
            Problem(
                "rows",
                f"{len(miss)} test comparison(s) missing: {_ids(truth.test.conversation_id[miss], truth.test.turn[miss])}",
            )
        )
    keep = np.flatnonzero(pos >= 0)
    if dup_rows:
        keep = np.array(sorted(seen[k] for k in seen if index.get(k, -1) >= 0), dtype=np.int64)
    rows = pos[keep]
    scores = sub.scores[keep]
    present = truth.test.data.present[rows]
    bad = present & ~np.isfinite(scores)
    if bad.any():
        r = keep[np.flatnonzero(bad.any(1))]
        problems.append(Problem("scores", f"NaN or ±inf on a present candidate (row, comparison): {_rows_ids(r, sub)}"))
    stray = ~present & ~np.isnan(scores)
    if stray.any():
        r = keep[np.flatnonzero(stray.any(1))]
        problems.append(Problem("scores", f"a score where the candidate is absent (must be NaN): {_rows_ids(r, sub)}"))
    order = np.argsort(rows, kind="stable")
    return rows[order], scores[order], problems


def _rows_ids(rows: np.ndarray, sub: Submission, limit: int = 5) -> str:
    shown = ", ".join(f"row {r} ({sub.conversation_id[r]}-{sub.turn[r]})" for r in rows[:limit])
    return shown + (f" … ({len(rows)} rows)" if len(rows) > limit else "")


def truth_other_splits(truth) -> dict[int, str]:
    """conversation id → where it is, for the conversations outside the evaluated test rows."""
    return truth.outside
