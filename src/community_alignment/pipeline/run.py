"""The benchmark: data → (train) → score the track's whole test split → submission.parquet →
`evaluate` (the contract) → results.json, report, plots.

The run writes its scores as a submission first and computes every number from that file with the
same function `community-alignment evaluate` uses, so a run and a re-evaluation of its submission
give identical results.
"""

from __future__ import annotations

import logging
import os
import time

import numpy as np

from ..protocol.evaluate import evaluate_submission, write_evaluation
from ..protocol.submission import SUBMISSION_FILE, build_metadata, write_submission
from ..protocol.tracks import TRACKS
from ..protocol.truth import Truth, load_truth
from ..results.types import Results
from ..scoring.base import ComparisonBatch
from ..scoring.registry import builder
from ..training.data import DataSelection, apply_filters, load_config, subsample
from . import builders  # noqa: F401  (registers the scorer builders)
from .config import BenchmarkArguments

logger = logging.getLogger(__name__)


def selection(b: BenchmarkArguments) -> DataSelection:
    return DataSelection(
        source=b.source,
        data_path=b.data_path,
        revision=b.data_revision,
        split_by=b.split_by,
        countries=b.countries,
        languages=b.languages,
        turns=b.turns,
    )


def placebo(b: BenchmarkArguments, ds):
    """The placebo arm's model inputs: profiles permuted across annotators (`--placebo_seed`)."""
    if b.placebo_seed is None:
        return ds
    from ..training.conditioning import PROFILE_FIELDS, apply_placebo, placebo_profiles

    comps = load_config(selection(b), "comparisons")
    from datasets import concatenate_datasets

    cols = ["annotator_id", *[f for f in PROFILE_FIELDS if f in ds.column_names]]
    every = concatenate_datasets([comps[s].select_columns(cols) for s in comps]).to_dict()
    return apply_placebo(ds, placebo_profiles(every["annotator_id"], every, b.placebo_seed))


def load_eval_data(b: BenchmarkArguments, seed: int) -> ComparisonBatch:
    """The track's test comparisons — the whole split, unless a subsample or filter makes the run a
    smoke run. (No validation pass: the evaluator cross-fits the temperature on the test scores.)"""
    sel = selection(b)
    test = apply_filters(load_config(sel, "comparisons")["test"], sel)
    track_languages = TRACKS[b.track].languages
    if track_languages:
        test = apply_filters(test, DataSelection(languages=list(track_languages)))
    test = subsample(test, b.max_eval_comparisons, seed + 1)
    if len(test) == 0:
        raise ValueError("no evaluation comparisons left after the filters")
    return ComparisonBatch.from_dataset(placebo(b, test))


def load_train_pairs(b: BenchmarkArguments, seed: int):
    sel = selection(b)
    pairs = apply_filters(load_config(sel, "pairwise")["train"], sel)
    return placebo(b, subsample(pairs, b.max_train_pairs, seed))


def truth_of(b: BenchmarkArguments) -> Truth:
    return load_truth(b.evaluated_track, b.source, b.data_path, b.data_revision, b.split_by)


def run(b: BenchmarkArguments, training_args) -> Results | None:
    """The whole benchmark; returns the results on the main process (None elsewhere)."""
    if b.track == "unseen_annotators":  # the individual track: validation + test annotators, k-shot episodes
        from .individual import run_individual

        return run_individual(b, training_args)
    t0 = time.time()
    holder: dict = {}
    seed = int(training_args.seed)
    build = builder(b.method)
    scorer, model, stats = build(b, training_args, holder, lambda: load_train_pairs(b, seed))
    dtype = "bfloat16" if getattr(training_args, "bf16", False) else "float32"
    acc = holder.get("accelerator")
    try:
        return score_and_evaluate(b, scorer, {**model, "dtype": dtype}, stats, seed, acc, t0)
    finally:
        shut_down(acc)


def shut_down(acc) -> None:
    """Every process waits for the main one (which evaluates after the gather), then the process group
    is destroyed: a rank exiting with a live gloo group can abort ("terminate called …")."""
    if acc is not None and acc.num_processes > 1:
        acc.wait_for_everyone()
        acc.end_training()


def score_and_evaluate(
    b: BenchmarkArguments,
    scorer,
    model: dict,
    training: dict | None,
    seed: int,
    acc=None,
    t0: float | None = None,
) -> Results | None:
    """Score the evaluation comparisons, write the submission, evaluate it with the contract and write
    the run folder."""
    t0 = t0 or time.time()
    test = load_eval_data(b, seed)
    test_scores = scorer.score(test)
    truncation = scorer.truncation_stats() if hasattr(scorer, "truncation_stats") else None
    if acc is not None and not acc.is_main_process:
        return None
    truth = truth_of(b)
    evaluation = {
        "subsample": b.max_eval_comparisons or None,
        # the track's own language definition (e.g. `--track en --languages en`) is not a filter
        "filters": {"countries": b.countries, "languages": b.languages if b.smoke else None, "turns": b.turns},
    }
    training = {**(training or {}), "train_pairs_requested": b.max_train_pairs, "seed": seed}
    if b.placebo_seed is not None:
        training["placebo_seed"] = b.placebo_seed  # profiles permuted across annotators
    scoring = getattr(scorer, "stats", None) if getattr(scorer, "kind", "") == "llm_judge" else None
    if scoring and not model.get("chat_template_hash"):
        model = {**model, "chat_template_hash": scoring.get("template_hash")}
    meta = build_metadata(
        truth.protocol, {**model, "temperature": None}, truncation, training, evaluation, scoring=scoring
    )
    os.makedirs(b.output_dir, exist_ok=True)
    path = os.path.join(b.output_dir, SUBMISSION_FILE)
    conv = np.asarray(test.columns["conversation_id"], dtype=np.int64)
    write_submission(path, conv, test.turn, test_scores, meta)
    # the bootstrap seed is the protocol's (0), not the training seed: `evaluate` reproduces the run
    results = evaluate_submission(path, truth=truth, resamples=b.bootstrap_resamples, seed=0)
    results.wall_time_s = round(time.time() - t0, 1)
    write_evaluation(results, b.output_dir)
    return results
