"""DPO implicit reward: β · Σ_completion (log π(y_t | x, y_<t) − log π_ref(y_t | x, y_<t)).

The reference model is required (`DPOScorer`). A reference-free variant (β · Σ log π) exists only
as its own type, `ReferenceFreeDPOScorer`, with `kind = "dpo_reference_free"`, so results can never
mix the two silently.
"""

from __future__ import annotations

import numpy as np

from ..training.conditioning import condition
from .base import ComparisonBatch, mask_scores
from .engine import score_sequences
from .reward_model import row_dicts


def completion_sequences(batch: ComparisonBatch, tokenizer, conditioning: str, max_length: int):
    """(prompt+completion ids, completion start) per present candidate, via the chat template."""
    mask = batch.present()
    rows = row_dicts(batch)
    where, seqs = [], []
    stats = dict(
        sequences=0, truncated=0, candidates=0, candidates_whole=0, candidate_tokens=0, candidate_tokens_kept=0
    )
    for i in range(len(batch)):
        ctx = condition(batch.contexts[i], rows[i], conditioning)
        prompt = list(tokenizer.apply_chat_template(ctx, add_generation_prompt=True, tokenize=True, return_dict=False))
        for j in range(4):
            if not mask[i, j]:
                continue
            full = list(
                tokenizer.apply_chat_template(
                    [*ctx, {"role": "assistant", "content": batch.candidates[i][j]}], tokenize=True, return_dict=False
                )
            )
            if full[: len(prompt)] != prompt:
                raise ValueError("the chat template does not render the prompt as a prefix of the full conversation")
            completion = full[len(prompt) :]
            keep_prompt = max(0, max_length - len(completion))
            kept = completion[:max_length]
            seq = (prompt[-keep_prompt:] if keep_prompt else []) + kept
            where.append((i, j))
            seqs.append((seq, len(seq) - len(kept)))
            stats["sequences"] += 1
            stats["candidates"] += 1
            stats["truncated"] += int(len(full) > max_length)
            stats["candidates_whole"] += int(len(kept) == len(completion))
            stats["candidate_tokens"] += len(completion)
            stats["candidate_tokens_kept"] += len(kept)
    return where, seqs, stats


def sequence_logprob(model, ids, mask, starts):
    """Σ log p(token) over positions ≥ start (the completion), per row."""
    import torch

    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
    logp = torch.log_softmax(logits, -1).gather(-1, ids[:, 1:, None])[..., 0]
    pos = torch.arange(1, ids.shape[1], device=ids.device)[None]
    keep = (pos >= starts[:, None]) & (mask[:, 1:] == 1)
    return (logp * keep).sum(1)


class DPOScorer:
    kind = "dpo"
    requires_ref = True

    def __init__(
        self,
        policy,
        ref_model,
        tokenizer,
        name: str,
        beta: float,
        max_length: int = 256,
        batch_size: int = 16,
        conditioning: str = "none",
        accelerator=None,
    ):
        if self.requires_ref and ref_model is None:
            raise ValueError("DPOScorer needs the reference model; use ReferenceFreeDPOScorer for the labelled variant")
        self.policy, self.tokenizer, self.name, self.beta = policy.eval(), tokenizer, name, beta
        self.ref = ref_model.eval() if ref_model is not None else None
        self.max_length, self.batch_size, self.conditioning, self.accelerator = (
            max_length,
            batch_size,
            conditioning,
            accelerator,
        )
        self.stats: dict[str, int] = {}

    def truncation_stats(self) -> dict[str, int]:
        return dict(self.stats)

    def _logratio(self, ids, mask, starts):
        out = sequence_logprob(self.policy, ids, mask, starts)
        if self.ref is not None:
            out = out - sequence_logprob(self.ref, ids, mask, starts)
        return self.beta * out

    def score(self, batch: ComparisonBatch) -> np.ndarray:
        import torch

        where, seqs, self.stats = completion_sequences(batch, self.tokenizer, self.conditioning, self.max_length)
        # encode the completion start as the sequence's first element so the engine keeps it aligned
        packed = [[start, *seq] for seq, start in seqs]

        def forward(ids, mask):
            starts, ids, mask = ids[:, 0], ids[:, 1:], mask[:, 1:]
            return self._logratio(ids, mask, starts.to(torch.long))

        vals = score_sequences(packed, forward, self.batch_size, self.accelerator, desc=f"scoring {self.name}")
        out = np.full((len(batch), 4), np.nan)
        for (i, j), v in zip(where, vals):
            out[i, j] = v
        return mask_scores(out, batch)


class ReferenceFreeDPOScorer(DPOScorer):
    kind = "dpo_reference_free"
    requires_ref = False

    def __init__(self, policy, tokenizer, name: str, beta: float, **kw):
        super().__init__(policy, None, tokenizer, name, beta, **kw)
