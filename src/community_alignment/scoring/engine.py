"""Length-bucketed, distributed, inference-mode scoring of token sequences (shared by the scorers).

Each process scores the sequences `order[rank::world]` (order = indices sorted by length, so a batch
holds sequences of nearly equal length and padding is small), then every process gathers all
(index, score) pairs, so each rank returns the full score vector. Right padding with an attention
mask: a sequence's score does not depend on its batch neighbours (tests/test_scoring.py checks
batch-size invariance).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def score_sequences(
    sequences: list[list[int]],
    forward: Callable,
    pad_id: int,
    batch_size: int = 32,
    accelerator=None,
    progress: bool = False,
    desc: str = "scoring",
) -> np.ndarray:
    """Apply `forward(input_ids, attention_mask) -> (batch,) tensor` to every sequence; returns float64."""
    import torch

    lengths = np.array([len(s) for s in sequences])
    order = np.argsort(lengths, kind="stable")
    rank, world = (accelerator.process_index, accelerator.num_processes) if accelerator else (0, 1)
    mine = order[rank::world]
    device = accelerator.device if accelerator else torch.device("cpu")
    out_idx, out_val = [], []
    starts = range(0, len(mine), batch_size)
    if progress and rank == 0:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc=desc, unit="batch")
    with torch.inference_mode():
        for s in starts:
            idx = mine[s : s + batch_size]
            width = int(lengths[idx].max())
            ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for r, i in enumerate(idx):
                ids[r, : lengths[i]] = torch.tensor(sequences[i])
                mask[r, : lengths[i]] = 1
            vals = forward(ids.to(device), mask.to(device)).float().cpu().numpy()
            out_idx.append(idx)
            out_val.append(vals.astype(np.float64))
    pairs = (
        np.concatenate(out_idx) if out_idx else np.zeros(0, int),
        np.concatenate(out_val) if out_val else np.zeros(0),
    )
    if world > 1:
        from accelerate.utils import gather_object

        gathered = gather_object([pairs])
        pairs = (np.concatenate([g[0] for g in gathered]), np.concatenate([g[1] for g in gathered]))
    result = np.full(len(sequences), np.nan)
    result[pairs[0]] = pairs[1]
    return result
