"""`community-alignment evaluate`: a submission file → results (schema v2), with the contract alone.

The benchmark pipeline writes its results through the same function, so anyone holding a
`submission.parquet` reproduces every number of a run.
"""

from __future__ import annotations

import os
import time

import numpy as np

from ..metrics.contract import ScorerInput, evaluate
from ..results.types import Results
from ..scoring.registry import fixed_temperature
from .individual import EXTRA_COLUMNS, check_rows, individual_block
from .individual import TRACK as INDIVIDUAL_TRACK
from .references import reference_inputs
from .submission import Problem, Submission, SubmissionError, align, read_submission
from .truth import Truth, load_truth


def scorer_temperature(metadata: dict) -> float | None:
    """The temperature the contract evaluates a submission at: 1 for a method whose scores are its own
    log-probabilities, else None (cross-fitted by the evaluator; a submitted temperature is never used)."""
    return fixed_temperature(metadata["model"]["method"])


def truth_for(sub: Submission, data_path: str | None = None, cache_dir: str | None = None) -> Truth:
    """The truth the submission claims to be evaluated on (its track, source, revision and split)."""
    ds = sub.metadata["protocol"]["dataset"]
    if ds["source"] == "local" and not data_path:
        raise SubmissionError(
            sub.path, [Problem("/protocol/dataset/source", "a 'local' submission needs --data-path FILE to evaluate")]
        )
    return load_truth(
        sub.track,
        source=ds["source"],
        data_path=data_path if ds["source"] == "local" else None,
        revision=ds["revision"] if ds["source"] == "hub" else None,
        split_by=ds["split_by"],
        cache_dir=cache_dir,
    )


def protocol_problems(sub: Submission, truth: Truth) -> list[Problem]:
    """The submission's split fingerprint and protocol id must be the truth's."""
    problems = []
    claimed = sub.metadata["protocol"]["dataset"]["fingerprint"]
    actual = truth.protocol["dataset"]["fingerprint"]
    if claimed != actual:
        problems.append(
            Problem(
                "/protocol/dataset/fingerprint",
                f"{claimed[:16]}… is not the test split of this dataset ({actual[:16]}…): the submission was "
                "scored on other data or other splits",
            )
        )
    if sub.metadata["protocol"]["id"] != truth.protocol["id"]:
        problems.append(
            Problem("/protocol/id", f"{sub.metadata['protocol']['id']!r} ≠ this dataset's {truth.protocol['id']!r}")
        )
    return problems


def check_against_truth(sub: Submission, truth: Truth) -> tuple[np.ndarray, np.ndarray]:
    """(truth rows, aligned scores) or SubmissionError: the split fingerprint must match, and the ids
    must equal the track's test ids (a subset for the smoke track)."""
    problems = protocol_problems(sub, truth)
    if sub.extra:
        problems += [
            Problem(f"column {c}", f"k-shot columns belong to track {INDIVIDUAL_TRACK!r}, not {sub.track!r}")
            for c in sub.extra
        ]
    rows, scores, found = align(sub, truth, exact=truth.track.ranked)
    problems += found
    if problems:
        raise SubmissionError(sub.path, problems)
    return rows, scores


def population_test_rows(sub: Submission, truth: Truth) -> tuple[np.ndarray, np.ndarray]:
    """(truth test rows, their scores) of a track-`unseen_annotators` submission: its population rows
    (k = 0, or every row without a k column) on the test annotators' comparisons, in truth order. The
    validation rows and the k-shot rows are left out. Assumes the rows were checked (`check_rows`)."""
    k = sub.extra.get("k")
    population = np.ones(len(sub), dtype=bool) if k is None else k == 0
    index = truth.index()
    pos = np.array([index.get((int(c), int(t)), -1) for c, t in zip(sub.conversation_id, sub.turn)], dtype=np.int64)
    keep = np.flatnonzero(population & (pos >= 0))
    rows, scores = pos[keep], sub.scores[keep]
    order = np.argsort(rows, kind="stable")
    return rows[order], scores[order]


def check_individual(sub: Submission, truth: Truth) -> tuple[np.ndarray, np.ndarray]:
    """(truth test rows, aligned population scores) of a track-`unseen_annotators` submission, or
    SubmissionError listing every problem: the split fingerprint and protocol id, then every row
    (`individual.read_rows`: population rows of every validation and test comparison once, k-shot rows
    complete and inside the episodes, scores finite on present candidates and NaN on absent ones)."""
    problems = protocol_problems(sub, truth)
    if problems:
        raise SubmissionError(sub.path, problems)
    check_rows(sub, truth)
    return population_test_rows(sub, truth)


def _contract_results(
    sub: Submission, truth: Truth, rows: np.ndarray, scores: np.ndarray, resamples: int, seed: int
) -> Results:
    """The model's and the references' blocks on the test rows `rows` (the contract)."""
    data = truth.test.data.select(rows)
    scorers = {"model": ScorerInput(scores, "model", scorer_temperature(sub.metadata))}
    scorers.update(reference_inputs(truth, rows))
    return evaluate(
        data,
        scorers,
        protocol=truth.protocol,
        submission={**sub.metadata, "file": os.path.basename(sub.path), "sha256": sub.sha256},
        resamples=resamples,
        seed=seed,
    )


def evaluate_submission(
    sub: Submission | str,
    truth: Truth | None = None,
    resamples: int = 1000,
    seed: int = 0,
    data_path: str | None = None,
    cache_dir: str | None = None,
) -> Results:
    """Every number of a submission: the model's block, the references' blocks, paired differences."""
    t0 = time.time()
    if isinstance(sub, str):
        sub = read_submission(sub, extra_columns=EXTRA_COLUMNS)
    truth = truth or truth_for(sub, data_path, cache_dir)
    if sub.track == INDIVIDUAL_TRACK:
        return evaluate_individual(sub, truth, resamples, seed, t0)
    rows, scores = check_against_truth(sub, truth)
    results = _contract_results(sub, truth, rows, scores, resamples, seed)
    results.wall_time_s = round(time.time() - t0, 2)
    return results


def evaluate_individual(
    sub: Submission, truth: Truth, resamples: int = 1000, seed: int = 0, t0: float | None = None
) -> Results:
    """A track-`unseen_annotators` submission: the usual results on the test annotators' comparisons
    (population rows: group-level fit on people the model never saw) and `extras["individual"]`, the
    few-shot personalization block (protocol.individual)."""
    t0 = t0 or time.time()
    problems = protocol_problems(sub, truth)
    if problems:
        raise SubmissionError(sub.path, problems)
    block = individual_block(sub, truth, resamples, seed)  # validates every row (raises SubmissionError)
    rows, scores = population_test_rows(sub, truth)
    results = _contract_results(sub, truth, rows, scores, resamples, seed)
    results.extras["individual"] = block
    results.wall_time_s = round(time.time() - t0, 2)
    return results


def write_evaluation(results: Results, out_dir: str) -> dict[str, str]:
    """results.json (validated against schema v2), report.md and plots in `out_dir`."""
    from ..io_utils import atomic_write_text
    from ..results.io import write_results
    from ..results.plots import write_plots
    from ..results.report import render_report

    os.makedirs(out_dir, exist_ok=True)
    write_results(os.path.join(out_dir, "results.json"), results)
    plots = write_plots(results, out_dir)
    atomic_write_text(os.path.join(out_dir, "report.md"), render_report(results, plots))
    return {"results": os.path.join(out_dir, "results.json"), "report": os.path.join(out_dir, "report.md"), **plots}
