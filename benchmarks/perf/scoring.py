"""Scoring throughput: our scorer vs a RewardBench-style loop, same model, same comparisons, same
encoding (the default max_length, candidate-first truncation).

ours      each distinct (context, candidate) token sequence scored once (≤ 4 per comparison, fewer
          when candidate sets repeat), length-bucketed equal-length batches (no padding)
baseline  each pair's chosen and rejected scored separately (6 sequences per comparison), batches in
          file order padded to their longest member — the loop RewardBench-style scripts use
Prints pairs/s of both and the speed-up (goal ≥ 2×), and checks the decisions: every pair's
chosen-vs-rejected order must agree wherever ours is not an exact tie (ours scores identical token
sequences once, so their tie is exact; the padded loop breaks such ties by round-off).

    python benchmarks/perf/scoring.py [--comparisons 300] [--batch-size 32] [--max-length 384]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--comparisons", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=384)
    args = ap.parse_args()

    from community_alignment.data.builder import CommunityAlignment
    from community_alignment.models.encoding import Encoder
    from community_alignment.models.loading import load_reward_model
    from community_alignment.scoring.base import ComparisonBatch
    from community_alignment.scoring.reward_model import RewardModelScorer

    b = CommunityAlignment(config_name="comparisons", source="sample")
    b.download_and_prepare()
    batch = ComparisonBatch.from_dataset(b.as_dataset()["test"].select(range(args.comparisons)))
    m = load_reward_model("default")

    scorer = RewardModelScorer(m.model, m.tokenizer, "m", args.max_length, args.batch_size)
    t = time.perf_counter()
    ours = scorer.score(batch)
    t_ours = time.perf_counter() - t
    stats = scorer.truncation_stats()

    # RewardBench-style: pairs in file order, chosen and rejected each scored, padded per batch
    enc = Encoder(m.tokenizer, max_length=args.max_length)
    valid = batch.valid()
    items = [(i, j) for i in range(len(batch)) for j in range(4) if j != batch.chosen[i] and valid[i, j]]
    seqs_c = [enc.encode(batch.contexts[i], batch.candidates[i][batch.chosen[i]]) for i, _ in items]
    seqs_r = [enc.encode(batch.contexts[i], batch.candidates[i][j]) for i, j in items]
    pad = m.tokenizer.pad_token_id
    t = time.perf_counter()
    margins = []
    with torch.inference_mode():
        for s in range(0, len(items), args.batch_size):
            out = []
            for seqs in (seqs_c[s : s + args.batch_size], seqs_r[s : s + args.batch_size]):
                width = max(map(len, seqs))
                ids = torch.tensor([q + [pad] * (width - len(q)) for q in seqs])
                att = torch.tensor([[1] * len(q) + [0] * (width - len(q)) for q in seqs])
                out.append(m.model(input_ids=ids, attention_mask=att).logits[:, 0].double().numpy())
            margins += list(out[0] - out[1])
    t_base = time.perf_counter() - t
    ours_margin = np.array([ours[i, batch.chosen[i]] - ours[i, j] for i, j in items])
    base_margin = np.array(margins)
    tied = ours_margin == 0
    agree = np.sign(ours_margin[~tied]) == np.sign(base_margin[~tied])
    n_pairs = len(items)
    whole = stats["candidates_whole"] / max(stats["candidates"], 1)
    print(
        f"comparisons {len(batch)}, pairs {n_pairs}, model all-MiniLM-L6-v2, max_length {args.max_length}, "
        f"batch {args.batch_size}, threads {torch.get_num_threads()}; candidates seen whole {100 * whole:.1f}%"
    )
    print(f"ours      {t_ours:7.1f} s  {n_pairs / t_ours:7.1f} pairs/s  ({stats['sequences']} sequences)")
    print(f"baseline  {t_base:7.1f} s  {n_pairs / t_base:7.1f} pairs/s  ({2 * n_pairs} sequences)")
    print(f"speed-up  {t_base / t_ours:.2f}×  (goal ≥ 2×)")
    print(
        f"decisions: {int(agree.sum())} of {int((~tied).sum())} non-tied pairs agree"
        f" ({'identical' if agree.all() else 'DIFFERENT'}); {int(tied.sum())} exact ties in ours"
        f" (identical token sequences), the padded loop splits them by round-off"
    )


if __name__ == "__main__":
    main()
