"""DPO training: TRL's DPOTrainer with an explicit reference model (recorded in the results)."""

from __future__ import annotations

from ..data.schema import decode_labels
from .conditioning import condition


def conversational_pairs(pairs, conditioning: str):
    """prompt / chosen / rejected columns only, with the profile system message on the prompt."""

    def cond(batch: dict) -> dict:
        batch = decode_labels(batch, pairs.features)  # country / language names for the profile
        keys = list(batch)
        rows = [dict(zip(keys, vals)) for vals in zip(*(batch[k] for k in keys))]
        return {"prompt": [condition(r["prompt"], r, conditioning) for r in rows]}

    keep = ["prompt", "chosen", "rejected"]
    out = pairs.map(cond, batched=True, load_from_cache_file=False, keep_in_memory=True, desc="conditioning pairs")
    return out.remove_columns([c for c in out.column_names if c not in keep])


def train_dpo(policy, ref, train_pairs, training_args, conditioning: str):
    """Train `policy.model` against `ref.model`; returns (trainer, stats)."""
    from trl import DPOTrainer

    data = conversational_pairs(train_pairs, conditioning)
    trainer = DPOTrainer(
        model=policy.model,
        ref_model=ref.model,
        args=training_args,
        train_dataset=data,
        processing_class=policy.tokenizer,
    )
    out = trainer.train()
    stats = {
        "train_pairs": len(data),
        "max_length": training_args.max_length,
        "truncation_mode": training_args.truncation_mode,
        "beta": training_args.beta,
        "train_loss": float(out.training_loss),
        "steps": int(out.global_step),
        "runtime_s": float(out.metrics.get("train_runtime", 0.0)),
    }
    return trainer, stats
