"""Length-bucketed, distributed, inference-mode scoring of token sequences (shared by the scorers).

Sequences are sorted by length and cut into batches of *equal-length* sequences (no padding at all),
at most `batch_size` each; batch k goes to process k mod world, and every process gathers all
(index, score) pairs, so each rank returns the full score vector. The batches are the same whatever
the number of processes, and without padding a sequence's score does not depend on its neighbours:
a 2-process run gives the same numbers as a 1-process run (same thread count), and the batch size only
changes how many equal-length sequences are stacked, which moves a score by BLAS round-off (~1e-8),
never a decision (tests/test_scoring.py, tests/test_benchmark.py). Padding-bucketing of the kind
RewardBench uses can change scores by far more.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def length_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Indices grouped by exact length, cut into chunks of at most `batch_size`, shortest first."""
    order = np.argsort(lengths, kind="stable")
    batches = []
    for length in np.unique(lengths):
        same = order[lengths[order] == length]
        batches += [same[s : s + batch_size] for s in range(0, len(same), batch_size)]
    return batches


def score_sequences(
    sequences: list[list[int]],
    forward: Callable,
    batch_size: int = 32,
    accelerator=None,
    progress: bool = False,
    desc: str = "scoring",
) -> np.ndarray:
    """Apply `forward(input_ids, attention_mask) -> (batch,) tensor` to every sequence; returns float64."""
    import torch

    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    rank, world = (accelerator.process_index, accelerator.num_processes) if accelerator else (0, 1)
    mine = length_batches(lengths, batch_size)[rank::world]
    device = accelerator.device if accelerator else torch.device("cpu")
    if progress and rank == 0:
        from tqdm.auto import tqdm

        mine = tqdm(mine, desc=desc, unit="batch")
    out_idx, out_val = [np.zeros(0, np.int64)], [np.zeros(0)]
    with torch.inference_mode():
        for idx in mine:
            ids = torch.tensor([sequences[i] for i in idx], dtype=torch.long, device=device)
            vals = forward(ids, torch.ones_like(ids)).float().cpu().numpy()
            out_idx.append(idx)
            out_val.append(vals.astype(np.float64))
    pairs = (np.concatenate(out_idx), np.concatenate(out_val))
    if world > 1:
        from accelerate.utils import gather_object

        gathered = gather_object([pairs])
        pairs = (np.concatenate([g[0] for g in gathered]), np.concatenate([g[1] for g in gathered]))
    result = np.full(len(sequences), np.nan)
    result[pairs[0]] = pairs[1]
    return result
