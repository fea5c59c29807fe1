"""The individual track's benchmark run (`--track unseen_annotators`).

- `--method reward` / `dpo`: train the population model on the train annotators (TRL, as on track
  main), score every comparison of the validation and test annotators, write the submission
  (population rows), evaluate it: group-level results on unseen people plus the contract's k-shot
  adaptation of those scores with its controls (protocol.individual).
- `--method personalized`: train the low-rank personalized model (scoring/personalized.py) on the
  train annotators, choose its prior scale on the validation annotators' episodes, write population
  rows (the population mean user) and k-shot rows (every test episode, own and random-other support),
  evaluate through the same contract.
- `--seen_submission PATH` (a track-`main` submission, e.g. `runs/default/submission.parquet`): its
  seen-annotator view is reported beside, labelled (results.extras["individual_seen"]).
"""

from __future__ import annotations

import logging
import os
import time

import numpy as np

from ..metrics.accuracy import nll
from ..protocol.episodes import CONTROL_OTHER, CONTROL_OWN, Episodes, build_episodes
from ..protocol.evaluate import evaluate_submission, truth_for, write_evaluation
from ..protocol.individual import TRACK, individual_block
from ..protocol.submission import SUBMISSION_FILE, build_metadata, read_submission, write_submission
from ..protocol.truth import SplitTruth, Truth, load_truth
from ..results.types import Results
from ..scoring.base import ComparisonBatch
from .config import BenchmarkArguments

logger = logging.getLogger(__name__)


def _aligned(ds, split: SplitTruth, name: str) -> ComparisonBatch:
    batch = ComparisonBatch.from_dataset(ds)
    conv = np.asarray(batch.columns["conversation_id"], dtype=np.int64)
    if not (np.array_equal(conv, split.conversation_id) and np.array_equal(batch.turn, split.turn)):
        raise RuntimeError(f"the {name} comparisons are not in the truth's order (builder changed under the run?)")
    return batch


def run_individual(b: BenchmarkArguments, training_args) -> Results | None:
    """The whole track run; returns the results on the main process (None elsewhere)."""
    from .run import shut_down

    holder: dict = {}
    try:
        return _run_individual(b, training_args, holder)
    finally:
        shut_down(holder.get("accelerator"))


def _run_individual(b: BenchmarkArguments, training_args, holder: dict) -> Results | None:
    from ..training.data import load_config
    from .run import load_train_pairs, selection

    t0 = time.time()
    seed = int(training_args.seed)
    truth = load_truth(TRACK, b.source, b.data_path, b.data_revision)
    comps = load_config(selection(b), "comparisons")
    val = _aligned(comps["validation"], truth.validation, "validation")
    test = _aligned(comps["test"], truth.test, "test")
    extra_rows: list[tuple[np.ndarray, np.ndarray, int, int, int]] = []
    truncation = None
    if b.method == "personalized":
        val_scores, test_scores, extra_rows, model, training = personalized_scores(b, truth, comps, val, test, seed)
    else:
        from ..scoring.registry import builder
        from . import builders  # noqa: F401  (registers the scorer builders)

        scorer, model, training = builder(b.method)(b, training_args, holder, lambda: load_train_pairs(b, seed))
        model = {**model, "dtype": "bfloat16" if getattr(training_args, "bf16", False) else "float32"}
        val_scores = scorer.score(val)
        test_scores = scorer.score(test)
        truncation = scorer.truncation_stats() if hasattr(scorer, "truncation_stats") else None
        acc = holder.get("accelerator")
        if acc is not None and not acc.is_main_process:
            return None
    # no temperature: the evaluator fits it on the validation annotators' rows (a submitted one is never used)
    evaluation = {"subsample": None, "filters": {}}
    training = {**(training or {}), "seed": seed}
    if b.method != "personalized":
        training["train_pairs_requested"] = b.max_train_pairs
    meta = build_metadata(truth.protocol, {**model, "temperature": None}, truncation, training, evaluation)
    os.makedirs(b.output_dir, exist_ok=True)
    path = os.path.join(b.output_dir, SUBMISSION_FILE)
    conv = [truth.test.conversation_id, truth.validation.conversation_id]
    turn = [truth.test.turn, truth.validation.turn]
    scores = [test_scores, val_scores]
    ks = [np.zeros(len(truth.test.turn) + len(truth.validation.turn), dtype=np.int64)]
    draws, controls = [ks[0]], [ks[0]]
    for rows, s, k, d, c in extra_rows:
        conv.append(truth.test.conversation_id[rows])
        turn.append(truth.test.turn[rows])
        scores.append(s)
        ks.append(np.full(len(rows), k))
        draws.append(np.full(len(rows), d))
        controls.append(np.full(len(rows), c))
    extra = {"k": np.concatenate(ks), "draw": np.concatenate(draws), "control": np.concatenate(controls)}
    write_submission(path, np.concatenate(conv), np.concatenate(turn), np.concatenate(scores), meta, extra)
    results = evaluate_submission(path, truth=truth, resamples=b.bootstrap_resamples, seed=seed)
    if b.seen_submission:
        results.extras["individual_seen"] = seen_view(b.seen_submission, b.bootstrap_resamples, seed)
    results.wall_time_s = round(time.time() - t0, 1)
    write_evaluation(results, b.output_dir)
    return results


def seen_view(path: str, resamples: int = 1000, seed: int = 0):
    """The seen-annotator view of a track-`main` submission (the prompt split), for the report."""
    sub = read_submission(path)
    if sub.track != "main":
        raise ValueError(f"{path}: --seen_submission must be a track-'main' submission, not {sub.track!r}")
    return individual_block(sub, truth_for(sub), resamples, seed)


# --- the personalized model ------------------------------------------------------------------


def _choice_data(batch: ComparisonBatch, embed):
    from ..scoring.baselines import candidate_lengths
    from ..scoring.personalized import choice_data

    return choice_data(
        batch.candidates,
        candidate_lengths(batch.candidates),
        batch.turn,
        batch.valid(),
        batch.chosen,
        np.asarray(batch.columns["annotator_id"], dtype=np.int64),
        embed,
    )


def tune_prior_scale(model, data, episodes: Episodes) -> tuple[float, dict]:
    """The prior scale minimising the validation annotators' mean query NLL (averaged over k > 0)."""
    grid = {}
    for s in model.config.prior_scales:
        per_k = []
        for k in episodes.design.k_sweep:
            ats = episodes.at(k)
            if k == 0 or not ats:
                continue
            draws = episodes.draws(k)
            W = model.user_weights(data, [episodes.annotators[a].support(k, d) for a in ats for d in range(draws)], s)
            per_ann = []
            for i, a in enumerate(ats):
                q = episodes.annotators[a].query
                vals = [
                    nll(np.nan_to_num(model.utilities(data, q, W[i * draws + d])), data.chosen[q], data.valid[q]).mean()
                    for d in range(draws)
                ]
                per_ann.append(np.mean(vals))
            per_k.append(float(np.mean(per_ann)))
        grid[str(s)] = float(np.mean(per_k)) if per_k else float("nan")
    finite = {float(k): v for k, v in grid.items() if v == v}
    return (min(finite, key=finite.get) if finite else 1.0), grid


def kshot_rows(model, data, episodes: Episodes) -> list[tuple[np.ndarray, np.ndarray, int, int, int]]:
    """(test rows, scores, k, draw, control) of every test episode: the query scored with the user part
    fitted on the annotator's own support and on the random other user's (the same fit that user's own
    episode uses: the prior is the same for everybody)."""
    out = []
    for k in episodes.design.k_sweep:
        ats = episodes.at(k)
        if k == 0 or not ats:
            continue
        draws = episodes.draws(k)
        W = model.user_weights(data, [episodes.annotators[a].support(k, d) for a in ats for d in range(draws)])
        fitted = {(a, d): W[i * draws + d] for i, a in enumerate(ats) for d in range(draws)}
        others = episodes.others(k)
        for a in ats:
            q = episodes.annotators[a].query
            for d in range(draws):
                out.append((q, model.utilities(data, q, fitted[(a, d)]), k, d, CONTROL_OWN))
                b = others[(a, d)]
                if b is not None:
                    out.append((q, model.utilities(data, q, fitted[(b, d)]), k, d, CONTROL_OTHER))
    return out


def personalized_scores(
    b: BenchmarkArguments, truth: Truth, comps, val: ComparisonBatch, test: ComparisonBatch, seed: int
):
    """Train the personalized model on the train annotators; (val scores, test scores, k-shot rows,
    the submission's model block, training stats)."""
    from ..models.features import embed_texts, get_extractor
    from ..models.loading import DEFAULT_REWARD_MODEL, weights_sha256
    from ..scoring.personalized import LowRankPersonalizedModel, PersonalizedConfig
    from ..training.data import subsample
    from .builders import model_name

    t0 = time.time()
    cfg = PersonalizedConfig(features=b.features, hashing_dim=b.hashing_dim, rank=b.rank, seed=seed)
    extractor = get_extractor(cfg.features, cfg.hashing_dim, progress=True)
    cache = b.feature_cache or os.path.join(b.runs_dir, ".feature_cache")

    def embed(texts):
        return embed_texts(extractor, texts, cache)

    train_ds = subsample(comps["train"], b.max_train_comparisons, seed)
    train = _choice_data(ComparisonBatch.from_dataset(train_ds), embed)
    vdata, tdata = _choice_data(val, embed), _choice_data(test, embed)
    t_features = time.time() - t0
    model = LowRankPersonalizedModel(cfg).fit(train)
    t_fit = time.time() - t0 - t_features
    v = truth.validation
    v_eps = build_episodes(v.conversation_id, v.turn, v.data.annotators, v.data.informative)
    model.prior_scale, grid = tune_prior_scale(model, vdata, v_eps)
    folder = os.path.join(b.output_dir, "model")
    model.save(folder)
    t = truth.test
    t_eps = build_episodes(t.conversation_id, t.turn, t.data.annotators, t.data.informative)
    rows = kshot_rows(model, tdata, t_eps)
    all_v, all_t = np.arange(len(vdata)), np.arange(len(tdata))
    block = {
        "name": model_name(b, "personalized"),
        "base_model": DEFAULT_REWARD_MODEL if cfg.features == "minilm" else None,
        "revision": None,
        "base_revision": None,
        "weights_sha256": weights_sha256(folder),
        "method": "personalized",
        "conditioning": "none",
        "ref_model": None,
        "beta": None,
        "dtype": "none",
        "max_length": getattr(extractor, "max_length", None),
        "chat_template_hash": None,
    }
    training = {
        **cfg.to_dict(),
        **model.train_stats,
        "features_id": extractor.name,
        "prior_scale": model.prior_scale,
        "prior_scale_grid": grid,
        "prior_scale_criterion": "validation annotators' mean query NLL over the k > 0 of the sweep",
        "features_s": round(t_features, 1),
        "fit_s": round(t_fit, 1),
        "total_s": round(time.time() - t0, 1),
    }
    return model.utilities(vdata, all_v), model.utilities(tdata, all_t), rows, block, training
