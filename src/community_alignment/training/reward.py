"""Reward-model training: TRL's RewardTrainer on pairs we tokenize ourselves.

We pre-tokenize (`chosen_ids` / `rejected_ids`) with the same `Encoder` the scorer uses, so the text
a model is trained on and scored on is identical, and long pairs are *truncated and counted* instead
of silently dropped (TRL's own `max_length` drops them).
"""

from __future__ import annotations

from ..data.schema import decode_labels
from ..models.encoding import Encoder
from .conditioning import condition


def tokenize_pairs(pairs, encoder: Encoder, conditioning: str):
    """Dataset with chosen_ids / rejected_ids (conditioning applied to the prompt)."""

    def tok(batch: dict) -> dict:
        batch = decode_labels(batch, pairs.features)  # country / language names for the profile
        keys = list(batch)
        chosen, rejected = [], []
        for vals in zip(*(batch[k] for k in keys)):
            r = dict(zip(keys, vals))
            ctx = condition(r["prompt"], r, conditioning)
            chosen.append(encoder.encode(ctx, r["chosen"][0]["content"]))
            rejected.append(encoder.encode(ctx, r["rejected"][0]["content"]))
        return {
            "chosen_ids": chosen,
            "rejected_ids": rejected,
            "length": [max(len(c), len(r)) for c, r in zip(chosen, rejected)],  # for group_by_length batches
        }

    return pairs.map(
        tok,
        batched=True,
        remove_columns=pairs.column_names,
        load_from_cache_file=False,
        keep_in_memory=True,
        desc="tokenizing pairs",
    )


def train_reward(loaded, train_pairs, training_args, conditioning: str, max_length: int):
    """Train `loaded.model` on `train_pairs`; returns (trainer, stats)."""
    from trl import RewardTrainer

    encoder = Encoder(loaded.tokenizer, max_length=max_length)
    data = tokenize_pairs(train_pairs, encoder, conditioning)
    training_args.max_length = None  # already truncated (and counted) by the encoder
    # keep the `length` column for the length-grouped sampler (TRL keeps only chosen/rejected ids otherwise)
    training_args.remove_unused_columns = False
    trainer = RewardTrainer(
        model=loaded.model, args=training_args, train_dataset=data, processing_class=loaded.tokenizer
    )
    out = trainer.train()
    stats = {
        "train_pairs": len(data),
        **{f"train_{k}": v for k, v in encoder.stats().items()},
        "max_length": max_length,
        "train_loss": float(out.training_loss),
        "steps": int(out.global_step),
        "runtime_s": float(out.metrics.get("train_runtime", 0.0)),
    }
    return trainer, stats
