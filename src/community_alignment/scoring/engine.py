"""Length-bucketed, distributed, inference-mode scoring of token sequences (shared by every scorer).

1. Identical token sequences are scored **once**: two candidates with the same tokens (the same text,
   or different texts that truncate to the same tokens) get bit-identical scores, so their tie is
   exact and no round-off can break it differently from one run to the next.
2. The distinct sequences are sorted by length and cut into batches of *equal-length* sequences (no
   padding), at most `batch_size` each. Without padding a sequence's score does not depend on its
   neighbours.
3. Batch k goes to process k mod world; every process gathers all (index, output) pairs, so each rank
   returns the full result. The batches are the same whatever the number of processes: a 2-process
   run gives the same numbers as a 1-process run with the same thread count.
The batch size (and the BLAS thread count) changes only how many equal-length sequences are stacked,
which moves a float32 score by round-off (≲ 1e-6 relative); distinct sequences essentially never sit
that close, so decisions do not change (tests/test_scoring.py, tests/test_benchmark.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

#: The stated tolerance for continuous outputs across batch sizes, thread and process counts.
SCORE_RTOL = 1e-5


def length_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Indices grouped by exact length, cut into chunks of at most `batch_size`, shortest first."""
    order = np.argsort(lengths, kind="stable")
    batches = []
    for length in np.unique(lengths):
        same = order[lengths[order] == length]
        batches += [same[s : s + batch_size] for s in range(0, len(same), batch_size)]
    return batches


def unique_sequences(sequences: Sequence[Sequence[int]]) -> tuple[list[tuple[int, ...]], np.ndarray]:
    """(distinct sequences in first-seen order, index of each input sequence among them)."""
    index: dict[tuple[int, ...], int] = {}
    inverse = np.empty(len(sequences), dtype=np.int64)
    for i, s in enumerate(sequences):
        inverse[i] = index.setdefault(tuple(s), len(index))
    return list(index), inverse


def score_sequences(
    sequences: Sequence[Sequence[int]],
    forward: Callable,
    batch_size: int = 32,
    accelerator=None,
    progress: bool = False,
    desc: str = "scoring",
) -> np.ndarray:
    """Apply `forward(input_ids, attention_mask) -> (batch,) or (batch, m) tensor` to every distinct
    sequence; returns float64 of shape (len(sequences),) or (len(sequences), m)."""
    import torch

    distinct, inverse = unique_sequences(sequences)
    lengths = np.array([len(s) for s in distinct], dtype=np.int64)
    rank, world = (accelerator.process_index, accelerator.num_processes) if accelerator else (0, 1)
    mine = length_batches(lengths, batch_size)[rank::world]
    device = accelerator.device if accelerator else torch.device("cpu")
    if progress and rank == 0:
        from ..progress import progress_bar

        mine = progress_bar(mine, desc=desc, unit="batch")
    out_idx, out_val = [], []
    with torch.inference_mode():
        for idx in mine:
            ids = torch.tensor([distinct[i] for i in idx], dtype=torch.long, device=device)
            vals = forward(ids, torch.ones_like(ids)).float().cpu().numpy()
            out_idx.append(idx)
            out_val.append(vals.astype(np.float64))
    if world > 1:
        from accelerate.utils import gather_object

        gathered = gather_object([(out_idx, out_val)])
        out_idx = [i for g in gathered for i in g[0]]
        out_val = [v for g in gathered for v in g[1]]
    if not out_val:  # no sequences at all
        return np.zeros(0)
    tail = out_val[0].shape[1:]
    result = np.full((len(distinct), *tail), np.nan)
    for idx, vals in zip(out_idx, out_val):
        result[idx] = vals
    return result[inverse]
