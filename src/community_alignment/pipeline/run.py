"""The benchmark: data → (train) → score model + references → metrics → results.json, scores, report."""

from __future__ import annotations

import logging
import os
import time

import numpy as np

from ..data.builder import read_meta
from ..metrics.accuracy import TIE_POLICY
from ..results import io as rio
from ..scoring import baselines
from ..scoring.base import ComparisonBatch
from ..training.data import DataSelection, apply_filters, load_config, subsample
from . import evaluate
from .config import BenchmarkArguments

logger = logging.getLogger(__name__)


def _selection(b: BenchmarkArguments) -> DataSelection:
    return DataSelection(
        source=b.source,
        data_path=b.data_path,
        revision=b.data_revision,
        split_by=b.split_by,
        countries=b.countries,
        languages=b.languages,
        turns=b.turns,
    )


def load_eval_data(b: BenchmarkArguments, seed: int):
    """(validation batch, eval batch, train (turn, chosen) for the position prior, dataset meta)."""
    sel = _selection(b)
    comps = load_config(sel, "comparisons")
    meta = read_meta(comps["train"].info)
    val = subsample(apply_filters(comps["validation"], sel), b.max_val_comparisons, seed)
    test = subsample(apply_filters(comps[b.eval_split], sel), b.max_eval_comparisons, seed + 1)
    train = apply_filters(comps["train"], sel)
    if len(test) == 0:
        raise ValueError("no evaluation comparisons left after the filters")
    prior = (np.asarray(train["turn"]), np.asarray(train["chosen_index"]))
    return ComparisonBatch.from_dataset(val), ComparisonBatch.from_dataset(test), prior, meta


def load_train_pairs(b: BenchmarkArguments, seed: int):
    sel = _selection(b)
    pairs = apply_filters(load_config(sel, "pairwise")["train"], sel)
    return subsample(pairs, b.max_train_pairs, seed)


def reference_scorers(b: BenchmarkArguments, prior, seed: int) -> list:
    refs = [baselines.RandomScorer(seed), baselines.LengthScorer(), baselines.PositionPriorScorer(*prior)]
    if b.source == "sample":
        from ..synthetic.sample import sample_probs_path

        refs += [
            baselines.OracleScorer(sample_probs_path(), "true"),
            baselines.OracleScorer(sample_probs_path(), "country"),
            baselines.OracleScorer(sample_probs_path(), "pooled"),
        ]
    return refs


def train_or_load(b: BenchmarkArguments, training_args, accelerator_holder: dict):
    """Returns (main scorer, config fields, training stats, dtype). Training goes through TRL."""
    dtype = "bfloat16" if getattr(training_args, "bf16", False) else "float32"
    build = _reward_scorer if b.method == "reward" else _dpo_scorer
    return (*build(b, training_args, accelerator_holder), dtype)


def _adopt_trained(loaded, trainer, out_dir: str, holder: dict) -> None:
    """Keep the trained (unwrapped) model, the trainer's accelerator, and save model + tokenizer once."""
    holder["accelerator"] = trainer.accelerator
    loaded.model = trainer.accelerator.unwrap_model(trainer.model)
    if trainer.accelerator.is_main_process:
        loaded.model.save_pretrained(out_dir, safe_serialization=True)
        loaded.tokenizer.save_pretrained(out_dir)


def _reward_scorer(b: BenchmarkArguments, training_args, holder: dict):
    from ..models import loading
    from ..scoring.reward_model import RewardModelScorer

    max_length = int(training_args.max_length)  # tokens per (context, candidate) sequence
    loaded = loading.load_reward_model(b.model, b.model_revision)
    stats = None
    if not b.skip_training:
        from ..training.reward import train_reward

        trainer, stats = train_reward(
            loaded, load_train_pairs(b, training_args.seed), training_args, b.conditioning, max_length
        )
        _adopt_trained(loaded, trainer, os.path.join(b.output_dir, "model"), holder)
    acc = _accelerator(holder)
    loaded.model.to(acc.device)
    scorer = RewardModelScorer(
        loaded.model, loaded.tokenizer, loaded.name, max_length, b.score_batch_size, b.conditioning, acc
    )
    fields = {
        "model_name": loaded.name,
        "model_sha": b.model_revision,
        "ref_model": None,
        "beta": None,
        "chat_template_hash": scorer.encoder.template_hash(),
        "method": "reward",
    }
    return scorer, fields, stats


def _dpo_scorer(b: BenchmarkArguments, training_args, holder: dict):
    import hashlib

    from ..models import loading
    from ..scoring.dpo import DPOScorer, ReferenceFreeDPOScorer

    policy_path = _tiny_policy(b, training_args.seed) if b.model == "default" else b.model
    policy = loading.load_causal_lm(policy_path, b.model_revision)
    ref = loading.load_causal_lm(b.ref_model or policy_path)
    stats = None
    if not b.skip_training:
        from ..training.dpo import train_dpo

        trainer, stats = train_dpo(policy, ref, load_train_pairs(b, training_args.seed), training_args, b.conditioning)
        _adopt_trained(policy, trainer, os.path.join(b.output_dir, "model"), holder)
    acc = _accelerator(holder)
    policy.model.to(acc.device)
    ref.model.to(acc.device)
    beta = getattr(training_args, "beta", 0.1)
    name = policy_path if b.model != "default" else "tiny-causal-lm (built locally)"
    common = dict(max_length=int(training_args.max_length), accelerator=acc, conditioning=b.conditioning)
    if b.reference_free:
        scorer = ReferenceFreeDPOScorer(policy.model, policy.tokenizer, name, beta, **common)
    else:
        scorer = DPOScorer(policy.model, ref.model, policy.tokenizer, name, beta, **common)
    fields = {
        "model_name": name,
        "model_sha": b.model_revision,
        "ref_model": b.ref_model or policy_path,
        "beta": beta,
        "chat_template_hash": hashlib.sha256((policy.tokenizer.chat_template or "").encode()).hexdigest()[:16],
        "method": scorer.kind,
    }
    return scorer, fields, stats


def _tiny_policy(b: BenchmarkArguments, seed: int) -> str:
    """Build (once per run folder) the tiny causal LM, its tokenizer trained on the train split's text."""
    from ..models.loading import build_tiny_causal_lm

    path = os.path.join(b.output_dir, "initial_policy")
    if not os.path.exists(os.path.join(path, "model.safetensors")):
        pairs = load_train_pairs(b, seed)
        texts = [m["content"] for p in pairs.select(range(min(2000, len(pairs)))) for m in (*p["prompt"], *p["chosen"])]
        build_tiny_causal_lm(path, texts, seed=seed)
    return path


def _accelerator(holder: dict):
    if holder.get("accelerator") is None:
        from accelerate import Accelerator

        holder["accelerator"] = Accelerator()
    return holder["accelerator"]


def run(b: BenchmarkArguments, training_args) -> dict | None:
    """The whole benchmark; returns the results dict on the main process (None elsewhere)."""
    t0 = time.time()
    holder: dict = {}
    scorer, fields, stats, dtype = train_or_load(b, training_args, holder)
    return evaluate_run(b, scorer, fields, stats, dtype, int(training_args.seed), _accelerator(holder), t0)


def evaluate_run(
    b: BenchmarkArguments,
    scorer,
    fields: dict,
    stats: dict | None,
    dtype: str,
    seed: int,
    acc=None,
    t0: float | None = None,
) -> dict | None:
    """Score the eval split with `scorer` and the references, compute the metrics, write the run folder."""
    t0 = t0 or time.time()
    val, test, prior, meta = load_eval_data(b, seed)
    main_val, main_test = scorer.score(val), scorer.score(test)
    # metrics leave out rejected candidates identical to the chosen text (no label between them)
    main_val = np.where(val.duplicates_of_chosen(), np.nan, main_val)
    main_test = np.where(test.duplicates_of_chosen(), np.nan, main_test)
    if acc is not None and not acc.is_main_process:
        return None
    keys = evaluate.set_keys(test)
    main = evaluate.evaluate_scores(main_val, val, main_test, test, keys, b.bootstrap_resamples, seed)
    refs, ref_test = {}, {}
    for r in reference_scorers(b, prior, seed):
        rv = np.where(val.duplicates_of_chosen(), np.nan, r.score(val))
        rt = np.where(test.duplicates_of_chosen(), np.nan, r.score(test))
        ref_test[r.name] = rt
        refs[r.name] = {
            "kind": r.kind,
            **evaluate.evaluate_scores(rv, val, rt, test, keys, b.bootstrap_resamples, seed),
        }
    baseline_scores = {k: v for k, v in ref_test.items() if refs[k]["kind"] == "baseline"}
    results = {
        "schema_version": rio.SCHEMA_VERSION,
        "config": {
            **fields,
            "model_dtype": dtype,
            "conditioning": b.conditioning,
            "tie_policy": TIE_POLICY,
            "seed": seed,
            "git_sha": rio.git_sha(),
            "package_versions": rio.package_versions(),
            "benchmark_args": b.to_dict(),
            "dataset": {
                "source": meta["source"],
                "revision": meta["revision"],
                "synthetic": meta["synthetic"],
                "schema_version": meta["schema_version"],
                "split": b.eval_split,
                "split_by": b.split_by,
                "split_fingerprint": meta["split_manifest"]["fingerprints"][b.eval_split],
                "comparisons": len(test),
                "validation_comparisons": len(val),
                "filters": {"countries": b.countries, "languages": b.languages, "turns": b.turns},
            },
        },
        "temperature": main["temperature"],
        "overall": main["overall"],
        "results": evaluate.flat_results(main),
        "summary": main["summary"],
        "distributional": main["distributional"],
        "reference": refs,
        "significance": evaluate.significance(main_test, baseline_scores, test, b.bootstrap_resamples, seed),
        "training": stats,
        "wall_time_s": round(time.time() - t0, 1),
    }
    return write_run(b.output_dir, results, test, {"model": main_test, **ref_test})


def write_run(out_dir: str, results: dict, test: ComparisonBatch, scores: dict) -> dict:
    from ..io_utils import atomic_write_text
    from ..results.plots import write_plots
    from ..results.report import render_report

    os.makedirs(out_dir, exist_ok=True)
    results = rio.write_results(os.path.join(out_dir, "results.json"), results)
    ids = {
        k: test.columns[k]
        for k in (
            "comparison_id",
            "conversation_id",
            "annotator_id",
            "annotator_country",
            "assigned_lang",
            "prompt_group",
        )
    }
    ids["turn"], ids["chosen_index"] = test.turn, test.chosen
    ids["set_key"] = evaluate.set_keys(test)
    rio.write_scores(os.path.join(out_dir, "scores.parquet"), ids, scores)
    plots = write_plots(results, out_dir)
    atomic_write_text(os.path.join(out_dir, "report.md"), render_report(results, plots))
    return results
