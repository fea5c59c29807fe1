"""Scorer builders of the benchmark, registered by method (`scoring.registry`): each loads (and, unless
`skip_training`, trains through TRL) a model and returns (scorer, the submission's model block, training
stats)."""

from __future__ import annotations

import hashlib
import os

from ..scoring.registry import register
from .config import BenchmarkArguments


def model_name(b: BenchmarkArguments, fallback: str) -> str:
    """The model's own name: --model_name, else a Hub id scored as is, else local/<run name>."""
    if b.model_name:
        return b.model_name
    if b.skip_training and not os.path.exists(fallback) and fallback != "default":
        return fallback
    return f"local/{b.name}"


def _adopt_trained(loaded, trainer, out_dir: str, holder: dict) -> None:
    """Keep the trained (unwrapped) model, the trainer's accelerator, and save model + tokenizer once."""
    holder["accelerator"] = trainer.accelerator
    loaded.model = trainer.accelerator.unwrap_model(trainer.model)
    if trainer.accelerator.is_main_process:
        loaded.model.save_pretrained(out_dir, safe_serialization=True)
        loaded.tokenizer.save_pretrained(out_dir)
    trainer.accelerator.wait_for_everyone()


def accelerator(holder: dict):
    if holder.get("accelerator") is None:
        from accelerate import Accelerator

        holder["accelerator"] = Accelerator()
    return holder["accelerator"]


def _weights(b: BenchmarkArguments, loaded_path: str) -> str | None:
    from ..models.loading import weights_sha256

    return weights_sha256(loaded_path if b.skip_training else os.path.join(b.output_dir, "model"))


@register("reward")
def reward_scorer(b: BenchmarkArguments, training_args, holder: dict, load_train_pairs):
    from ..models import loading
    from ..scoring.reward_model import RewardModelScorer

    max_length = int(training_args.max_length)  # tokens per (context, candidate) sequence
    loaded = loading.load_reward_model(b.model, b.model_revision)
    stats = None
    if not b.skip_training:
        from ..training.reward import train_reward

        trainer, stats = train_reward(loaded, load_train_pairs(), training_args, b.conditioning, max_length)
        _adopt_trained(loaded, trainer, os.path.join(b.output_dir, "model"), holder)
    acc = accelerator(holder)
    loaded.model.to(acc.device)
    scorer = RewardModelScorer(
        loaded.model, loaded.tokenizer, loaded.name, max_length, b.score_batch_size, b.conditioning, acc
    )
    base = loaded.name
    model = {
        "name": model_name(b, base),
        "base_model": base if not b.skip_training else None,
        "revision": loading.resolved_revision(base, b.model_revision) if b.skip_training else None,
        "base_revision": None if b.skip_training else loading.resolved_revision(base, b.model_revision),
        "weights_sha256": _weights(b, loaded.path),
        "method": "reward",
        "conditioning": b.conditioning,
        "ref_model": None,
        "beta": None,
        "max_length": max_length,
        "chat_template_hash": scorer.encoder.template_hash(),
    }
    return scorer, model, stats


@register("dpo")
def dpo_scorer(b: BenchmarkArguments, training_args, holder: dict, load_train_pairs):
    from ..models import loading
    from ..scoring.dpo import DPOScorer, ReferenceFreeDPOScorer

    policy_path = _tiny_policy(b, training_args.seed, load_train_pairs) if b.model == "default" else b.model
    policy = loading.load_causal_lm(policy_path, b.model_revision)
    ref = loading.load_causal_lm(b.ref_model or policy_path)
    stats = None
    if not b.skip_training:
        from ..training.dpo import train_dpo

        trainer, stats = train_dpo(policy, ref, load_train_pairs(), training_args, b.conditioning)
        _adopt_trained(policy, trainer, os.path.join(b.output_dir, "model"), holder)
    acc = accelerator(holder)
    policy.model.to(acc.device)
    ref.model.to(acc.device)
    beta = getattr(training_args, "beta", 0.1)
    base = "tiny-causal-lm" if b.model == "default" else policy_path
    common = dict(max_length=int(training_args.max_length), accelerator=acc, conditioning=b.conditioning)
    if b.reference_free:
        scorer = ReferenceFreeDPOScorer(policy.model, policy.tokenizer, base, beta, **common)
    else:
        scorer = DPOScorer(policy.model, ref.model, policy.tokenizer, base, beta, **common)
    ref_name = b.ref_model or (f"local/{b.name}-reference" if b.model == "default" else policy_path)
    model = {
        "name": model_name(b, base),
        "base_model": base,
        "revision": None,
        "base_revision": loading.resolved_revision(policy_path, b.model_revision),
        "weights_sha256": _weights(b, policy_path),
        "method": scorer.kind,
        "conditioning": b.conditioning,
        "ref_model": None if b.reference_free else ref_name,
        "beta": beta,
        "max_length": int(training_args.max_length),
        "chat_template_hash": hashlib.sha256((policy.tokenizer.chat_template or "").encode()).hexdigest()[:16],
    }
    return scorer, model, stats


def _tiny_policy(b: BenchmarkArguments, seed: int, load_train_pairs) -> str:
    """Build (once per run folder) the tiny causal LM, its tokenizer trained on the train split's text."""
    from ..models.loading import build_tiny_causal_lm

    path = os.path.join(b.output_dir, "initial_policy")
    if not os.path.exists(os.path.join(path, "model.safetensors")):
        pairs = load_train_pairs()
        texts = [m["content"] for p in pairs.select(range(min(2000, len(pairs)))) for m in (*p["prompt"], *p["chosen"])]
        build_tiny_causal_lm(path, texts, seed=seed)
    return path


@register("llm_judge")
def llm_judge_scorer(b: BenchmarkArguments, training_args, holder: dict, load_train_pairs):
    """A causal LM as the judge (scored, never trained here): permutation-averaged letter probabilities."""
    from ..models import loading
    from ..scoring.llm_judge import JudgeConfig, load_llm_judge

    config = JudgeConfig(
        conditioning=b.conditioning,
        elicitation=b.judge_elicitation,
        n_samples=b.judge_samples,
        permutations=b.judge_permutations,
        max_length=b.judge_max_length,
        max_candidate_tokens=b.judge_max_candidate_tokens,
        batch_size=b.score_batch_size,
        seed=int(training_args.seed),
    )
    scorer = load_llm_judge(b.model, b.model_revision, config, accelerator(holder))
    is_dir = os.path.isdir(b.model)
    model = {
        "name": model_name(b, b.model),
        "base_model": None,
        "revision": None if is_dir else loading.resolved_revision(b.model, b.model_revision),
        "base_revision": None,
        "weights_sha256": loading.weights_sha256(b.model) if is_dir else None,
        "method": "llm_judge",
        "conditioning": b.conditioning,
        "ref_model": None,
        "beta": None,
        "max_length": b.judge_max_length,
        "chat_template_hash": scorer.stats.get("template_hash") if scorer.stats else None,
    }
    return scorer, model, None
