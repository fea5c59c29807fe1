"""Check submission files for the leaderboard: everything a hostile submitter could get wrong.

A submission is a `submission.parquet` (protocol v2, `protocol.submission`). `check_submission` runs,
in order, and lists every problem with its location (`Problem(where, message)`):

1. the file itself: it exists, is a regular file (not a directory, FIFO or device), is not empty;
   a JSON file is a results summary, not a submission — schema v1 gets the "re-evaluate with
   `community-alignment evaluate`" message (`results.io.read_results`);
2. `read_submission`: size limit, parquet schema and column types, strict JSON metadata (no duplicate
   keys, no NaN, depth and size limits) and `metadata_problems` (complete, typed, strict names and
   revisions, a protocol id consistent with its fields, smoke vs ranked, synthetic vs source);
3. what only the leaderboard adds: no metadata key outside the submission format (a submission
   carries no summary: every number is recomputed), no invisible or bidirectional-override character
   in any string;
4. the data is what it claims: the embedded sample's fingerprint is computed from the data; the
   real data's comes from `protocol.fingerprints.KNOWN_FINGERPRINTS` or, until it is shipped, from
   `--fingerprint` (recorded as such) — never from the submission alone;
5. on the data itself: fingerprint and protocol id, then the rows. Tracks `main`, `en`, `smoke`
   (`check_against_truth`): comparison ids exactly the track's test ids (none missing or extra, no
   train/validation id, no duplicate), no k-shot column, scores finite on every present candidate and
   NaN on absent ones. Track `unseen_annotators` (`check_individual`, layout in
   `protocol.individual`): population rows (k = 0) of every validation and test comparison once,
   k-shot rows only of the sweep's k, complete and inside the episodes, no duplicate, the same score
   rules; `rows`/`scores` are then its population test rows (what the ranking evaluates).

Nothing here raises on bad input: a file that breaks a check in an unforeseen way is reported as a
problem of that file, and the other files are still checked.
"""

from __future__ import annotations

import json
import os
import stat
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from ..protocol.fingerprints import known_fingerprint
from ..protocol.individual import EXTRA_COLUMNS
from ..protocol.individual import TRACK as INDIVIDUAL_TRACK
from ..protocol.submission import MAX_BYTES, Problem, Submission, SubmissionError, read_submission
from ..protocol.truth import Truth

MAX_JSON_BYTES = 16 << 20
_INVISIBLE = ("Cc", "Cf", "Co", "Cs", "Zl", "Zp")


def safe_text(s: object, limit: int = 300) -> str:
    """Text safe to show anywhere (terminal, page, Markdown source): control, format (bidi overrides,
    zero-width), private-use and line/paragraph separator characters become `\\uXXXX`; cut at `limit`."""
    out = []
    for ch in str(s):
        if unicodedata.category(ch) in _INVISIBLE:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    text = "".join(out)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Checked:
    """The outcome of checking one file: its problems, and when it passed, what the ranking needs."""

    path: str
    problems: list[Problem] = field(default_factory=list)
    submission: Submission | None = None
    truth: Truth | None = None
    rows: np.ndarray | None = None  # rows of truth.test covered, ascending
    scores: np.ndarray | None = None  # (len(rows), 4)
    fingerprint_source: str | None = None  # where the fingerprint checked against came from

    @property
    def ok(self) -> bool:
        return not self.problems and self.submission is not None and self.truth is not None

    @property
    def protocol_id(self) -> str | None:
        return self.truth.protocol["id"] if self.truth is not None else None


class TruthCache:
    """One `Truth` per (track, source, revision, split scheme, data path), loaded once; a failure is
    remembered too (one unreachable Hub is one message, not one timeout per file)."""

    def __init__(self, data_path: str | None = None):
        self.data_path = data_path
        self._cache: dict[tuple, Truth | Exception] = {}

    def get(self, sub: Submission) -> Truth:
        from ..protocol.evaluate import truth_for

        ds = sub.metadata["protocol"]["dataset"]
        key = (
            sub.track,
            ds["source"],
            ds["revision"],
            ds["split_by"],
            self.data_path if ds["source"] == "local" else None,
        )
        if key not in self._cache:
            try:
                self._cache[key] = truth_for(sub, self.data_path)
            except Exception as e:  # the data cannot be loaded: remembered and reported per file
                self._cache[key] = e
        got = self._cache[key]
        if isinstance(got, Exception):
            raise got
        return got


def file_problems(path: str) -> list[Problem]:
    """Problems of the path itself (without opening it)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return [Problem("(file)", "no such file" + (" (a dangling symbolic link)" if os.path.islink(path) else ""))]
    except OSError as e:
        return [Problem("(file)", f"cannot stat: {e.strerror}")]
    if stat.S_ISDIR(st.st_mode):
        return [Problem("(file)", "a directory, not a submission file")]
    if not stat.S_ISREG(st.st_mode):
        return [Problem("(file)", "not a regular file (FIFO, socket or device): not read")]
    if st.st_size == 0:
        return [Problem("(file)", "empty file (0 bytes)")]
    if st.st_size > MAX_BYTES:
        return [Problem("(file)", f"{st.st_size} bytes: larger than the {MAX_BYTES >> 20} MiB limit")]
    return []


def _looks_like_json(path: str) -> bool:
    if path.lower().endswith(".json"):
        return True
    with open(path, "rb") as f:
        head = f.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head[:1] in (b"{", b"[")


def results_file_problems(path: str) -> list[Problem]:
    """A JSON file is not a submission; a results.json gets the message that says what to do."""
    from ..results.io import ResultsVersionError, read_results

    not_sub = "a JSON file, not a submission.parquet"
    if os.path.getsize(path) > MAX_JSON_BYTES:
        return [Problem("(file)", f"{not_sub} (and larger than {MAX_JSON_BYTES >> 20} MiB: not read)")]
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read().decode("utf-8"))
    except RecursionError:
        return [Problem("(file)", f"{not_sub} (nested too deep to read)")]
    except (ValueError, UnicodeDecodeError) as e:
        return [Problem("(file)", f"{not_sub} (not valid JSON: {safe_text(e, 120)})")]
    version = data.get("schema_version") if isinstance(data, dict) else None
    if not isinstance(version, int) or isinstance(version, bool):
        return [Problem("(file)", f"{not_sub} (no results schema_version)")]
    try:
        read_results(path)
    except ResultsVersionError as e:
        message = str(e)
        message = message[len(path) + 2 :] if message.startswith(f"{path}: ") else message
        return [Problem("(file)", message)]
    except Exception:  # a v2-numbered file that does not parse as results
        return [Problem("(file)", f"{not_sub} (a malformed results file)")]
    return [
        Problem(
            "(file)",
            "a results.json (schema v2) is a summary, and the leaderboard never reads summaries: submit the "
            "submission.parquet it was computed from (`community-alignment evaluate` recomputes the results)",
        )
    ]


def fingerprint_check(sub: Submission, fingerprints: tuple[str, ...] = ()) -> tuple[list[Problem], str | None]:
    """(problems, where the expected fingerprint came from). The sample's is computed from the data
    later (`check_against_truth`); hub/local ones must equal the shipped or the `--fingerprint` value."""
    ds = sub.metadata["protocol"]["dataset"]
    claimed = ds["fingerprint"]
    if ds["source"] == "sample":
        return [], "computed from the embedded sample"
    shipped = known_fingerprint(ds["source"], ds["revision"], ds["split_by"], claimed)
    where = "/protocol/dataset/fingerprint"
    what = f"{ds['source']} data" + (f" at revision {ds['revision']}" if ds["revision"] else "")
    if shipped is not None:
        if claimed != shipped:
            return [Problem(where, f"{claimed[:16]}… is not the test split of the {what} ({shipped[:16]}…)")], None
        return [], "shipped with the package (protocol.fingerprints)"
    if not fingerprints:
        return [
            Problem(
                where,
                f"the test-split fingerprint of the {what} (split by {ds['split_by']}) is not shipped with this "
                "package yet: pass --fingerprint FP (`community-alignment info --source hub --json` prints it) to "
                "check the submission against it",
            )
        ], None
    if claimed not in fingerprints:
        return [Problem(where, f"{claimed[:16]}… is none of the --fingerprint values given")], None
    return [], "given with --fingerprint (not yet shipped with the package)"


def check_submission(
    path: str, fingerprints: tuple[str, ...] = (), data_path: str | None = None, truths: TruthCache | None = None
) -> Checked:
    """Every problem of one file (never raises)."""
    out = Checked(path)
    try:
        _check(out, tuple(fingerprints), truths or TruthCache(data_path))
    except Exception as e:  # a check broke on input nobody foresaw: that file is rejected, the rest go on
        out.problems.append(Problem("(file)", f"could not be checked ({type(e).__name__}: {safe_text(e, 160)})"))
    return out


def _check(out: Checked, fingerprints: tuple[str, ...], truths: TruthCache) -> None:
    out.problems += file_problems(out.path)
    if out.problems:
        return
    if _looks_like_json(out.path):
        out.problems += results_file_problems(out.path)
        return
    try:
        sub = read_submission(out.path, extra_columns=EXTRA_COLUMNS)
    except SubmissionError as e:
        out.problems += e.problems
        return
    out.submission = sub
    found, source = fingerprint_check(sub, fingerprints)
    if found:
        out.problems += found
        return
    try:
        truth = truths.get(sub)
    except SubmissionError as e:
        out.problems += e.problems
        return
    except Exception as e:
        out.problems.append(
            Problem(
                "(data)",
                "the data this submission claims cannot be loaded, so its comparison ids cannot be verified: "
                + safe_text(e, 240),
            )
        )
        return
    from ..protocol.evaluate import check_against_truth, check_individual

    out.truth = truth
    check = check_individual if sub.track == INDIVIDUAL_TRACK else check_against_truth
    try:
        out.rows, out.scores = check(sub, truth)
    except SubmissionError as e:
        out.problems += e.problems
        return
    out.fingerprint_source = source


def duplicate_key(c: Checked) -> tuple:
    m = c.submission.metadata["model"]
    version = m.get("revision") or m.get("weights_sha256") or ""
    return (c.protocol_id, str(m["name"]).casefold(), version, m["method"], m["conditioning"])


def check_many(
    paths: list[str],
    fingerprints: tuple[str, ...] = (),
    data_path: str | None = None,
    truths: TruthCache | None = None,
    shown: dict[str, str] | None = None,
) -> list[Checked]:
    """`check_submission` for each path (in order), then duplicates among the files that passed: the
    same file content twice, or the same protocol, model name, revision (or weights hash), method and
    conditioning — the later file is rejected. `shown`: how to name a path in messages."""
    truths = truths or TruthCache(data_path)
    name = lambda p: safe_text((shown or {}).get(p, p))  # noqa: E731
    checked = [check_submission(p, fingerprints, data_path, truths) for p in paths]
    by_key: dict[tuple, str] = {}
    by_hash: dict[str, str] = {}
    for c in checked:
        if not c.ok:
            continue
        sha = c.submission.sha256
        key = duplicate_key(c)
        if sha in by_hash:
            c.problems.append(Problem("(file)", f"the same file as {name(by_hash[sha])}"))
        elif key in by_key:
            c.problems.append(
                Problem(
                    "/model",
                    f"duplicate of {name(by_key[key])} (same protocol, model name, revision or weights hash, "
                    "method and conditioning)",
                )
            )
        else:
            by_hash[sha], by_key[key] = c.path, c.path
    return checked


def format_report(c: Checked, shown_path: str | None = None) -> list[str]:
    """Terminal lines for one file: `PATH: OK (…)` or `PATH: N problem(s)` and one line per problem."""
    name = safe_text(shown_path or c.path)
    if c.ok:
        sub = c.submission
        fp = sub.metadata["protocol"]["dataset"]["fingerprint"]
        return [
            f"{name}: OK ({safe_text(sub.metadata['model']['name'])}, protocol {c.protocol_id}, "
            f"{len(c.rows)} comparisons; fingerprint {fp} {c.fingerprint_source})"
        ]
    lines = [f"{name}: {len(c.problems)} problem(s)"]
    lines += [f"  {safe_text(p.where, 120)}: {safe_text(p.message, 600)}" for p in c.problems]
    return lines
