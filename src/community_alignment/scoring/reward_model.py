"""Score candidates with a sequence-classification reward model (one forward pass per candidate)."""

from __future__ import annotations

import numpy as np

from ..models.encoding import Encoder
from ..training.conditioning import condition
from .base import ComparisonBatch, mask_scores
from .engine import score_sequences


def row_dicts(batch: ComparisonBatch) -> list[dict]:
    keys = list(batch.columns)
    return [dict(zip(keys, vals)) for vals in zip(*(batch.columns[k] for k in keys))]


def candidate_sequences(batch: ComparisonBatch, encoder: Encoder, conditioning: str):
    """Token ids of every present candidate (4 per comparison at most) and their (i, j) positions."""
    mask = batch.present()
    rows = row_dicts(batch)
    where, seqs = [], []
    for i in range(len(batch)):
        ctx = condition(batch.contexts[i], rows[i], conditioning)
        for j in range(4):
            if mask[i, j]:
                where.append((i, j))
                seqs.append(encoder.encode(ctx, batch.candidates[i][j]))
    return where, seqs


class RewardModelScorer:
    kind = "reward_model"

    def __init__(
        self,
        model,
        tokenizer,
        name: str,
        max_length: int = 256,
        batch_size: int = 32,
        conditioning: str = "none",
        accelerator=None,
        progress: bool = False,
    ):
        self.model, self.name = model.eval(), name
        self.encoder = Encoder(tokenizer, max_length=max_length)
        self.batch_size, self.conditioning = batch_size, conditioning
        self.accelerator, self.progress = accelerator, progress

    def _forward(self, ids, mask):
        return self.model(input_ids=ids, attention_mask=mask).logits[:, 0]

    def truncation_stats(self) -> dict[str, int]:
        """What the model saw in the last `score` call (counts of sequences and candidate tokens)."""
        return self.encoder.stats()

    def score(self, batch: ComparisonBatch) -> np.ndarray:
        self.encoder.reset_stats()
        where, seqs = candidate_sequences(batch, self.encoder, self.conditioning)
        vals = score_sequences(
            seqs,
            self._forward,
            self.batch_size,
            self.accelerator,
            self.progress,
            desc=f"scoring {self.name}",
        )
        out = np.full((len(batch), 4), np.nan)
        for (i, j), v in zip(where, vals):
            out[i, j] = v
        return mask_scores(out, batch)
