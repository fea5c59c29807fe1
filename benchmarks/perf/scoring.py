"""Scoring throughput: our scorer vs a RewardBench-style loop, same model, same comparisons.

ours      each candidate scored once (≤ 4 sequences per comparison), length-bucketed batches
baseline  each pair's chosen and rejected scored separately (6 sequences per comparison), batches in
          file order padded to their longest member — the loop RewardBench-style scripts use
Prints pairs/s of both, the speed-up, and checks that both give the same pairwise accuracy.

    python benchmarks/perf/scoring.py [--comparisons 300] [--batch-size 32] [--max-length 128]
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
    ap.add_argument("--max-length", type=int, default=128)
    args = ap.parse_args()

    from community_alignment.data.builder import CommunityAlignment
    from community_alignment.metrics.accuracy import pairwise_credit
    from community_alignment.models.encoding import Encoder
    from community_alignment.models.loading import load_reward_model
    from community_alignment.scoring.base import ComparisonBatch
    from community_alignment.scoring.reward_model import RewardModelScorer

    b = CommunityAlignment(config_name="comparisons", source="sample")
    b.download_and_prepare()
    batch = ComparisonBatch.from_dataset(b.as_dataset()["test"].select(range(args.comparisons)))
    m = load_reward_model("default")
    torch.set_num_threads(torch.get_num_threads())

    t = time.perf_counter()
    ours = RewardModelScorer(m.model, m.tokenizer, "m", args.max_length, args.batch_size).score(batch)
    t_ours = time.perf_counter() - t
    credit, pairs = pairwise_credit(ours, batch.chosen)

    # RewardBench-style: pairs in file order, chosen and rejected each scored, padded per batch
    enc = Encoder(m.tokenizer, max_length=args.max_length)
    mask = batch.scoreable()
    items = [(i, j) for i in range(len(batch)) for j in range(4) if j != batch.chosen[i] and mask[i, j]]
    seqs_c = [enc.encode(batch.contexts[i], batch.candidates[i][batch.chosen[i]]) for i, _ in items]
    seqs_r = [enc.encode(batch.contexts[i], batch.candidates[i][j]) for i, j in items]
    pad = m.tokenizer.pad_token_id
    t = time.perf_counter()
    wins = []
    with torch.no_grad():
        for s in range(0, len(items), args.batch_size):
            out = []
            for seqs in (seqs_c[s : s + args.batch_size], seqs_r[s : s + args.batch_size]):
                width = max(map(len, seqs))
                ids = torch.tensor([q + [pad] * (width - len(q)) for q in seqs])
                att = torch.tensor([[1] * len(q) + [0] * (width - len(q)) for q in seqs])
                out.append(m.model(input_ids=ids, attention_mask=att).logits[:, 0].numpy())
            wins += list((out[0] > out[1]) + 0.5 * (out[0] == out[1]))
    t_base = time.perf_counter() - t
    acc_ours, acc_base = credit.sum() / pairs.sum(), float(np.mean(wins))
    n_pairs = len(items)
    print(f"comparisons {len(batch)}, pairs {n_pairs}, model all-MiniLM-L6-v2, max_length {args.max_length}")
    print(f"ours      {t_ours:7.1f} s  {n_pairs / t_ours:7.1f} pairs/s  pairwise accuracy {acc_ours:.4f}")
    print(f"baseline  {t_base:7.1f} s  {n_pairs / t_base:7.1f} pairs/s  pairwise accuracy {acc_base:.4f}")
    print(f"speed-up  {t_base / t_ours:.2f}×  (goal ≥ 2×);  accuracy identical: {abs(acc_ours - acc_base) < 1e-9}")


if __name__ == "__main__":
    main()
