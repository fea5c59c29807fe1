"""Training-path overhead: our reward training (conditioning, our profile-preserving encoder, TRL) vs
a bare script (the HF tokenizer's own truncation, then TRL's RewardTrainer) on the same pairs, same
model, same max_length and steps. Both run in this process, one after the other, each from a fresh
copy of the model; the times include tokenisation and training.

    python benchmarks/perf/train_overhead.py [--pairs 400] [--max-length 128]
"""

from __future__ import annotations

import argparse
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=400)
    ap.add_argument("--max-length", type=int, default=128)
    args = ap.parse_args()

    from trl import RewardConfig, RewardTrainer

    from community_alignment.models.loading import load_reward_model
    from community_alignment.training.data import DataSelection, load_config, subsample
    from community_alignment.training.reward import train_reward

    pairs = subsample(load_config(DataSelection(), "pairwise")["train"], args.pairs, 0)

    def config(out):
        return RewardConfig(
            output_dir=out,
            use_cpu=True,
            bf16=False,
            report_to="none",
            save_strategy="no",
            per_device_train_batch_size=8,
            num_train_epochs=1,
            learning_rate=1e-4,
            logging_steps=1000,
            max_length=args.max_length,
            disable_tqdm=True,
            seed=0,
            **{"activation_checkpointing": False},
        )

    with tempfile.TemporaryDirectory() as d:
        # bare TRL: the user's own truncating tokenisation (HF tokenizer, max_length), then RewardTrainer
        m = load_reward_model("default")
        t = time.perf_counter()

        def tok(batch):
            out = {"chosen_ids": [], "rejected_ids": []}
            for p, c, r in zip(batch["prompt"], batch["chosen"], batch["rejected"]):
                ctx = "\n".join(f"{x['role']}: {x['content']}" for x in p)
                for key, resp in (("chosen_ids", c), ("rejected_ids", r)):
                    out[key].append(
                        m.tokenizer(ctx, resp[0]["content"], truncation=True, max_length=args.max_length)["input_ids"]
                    )
            return out

        bare = pairs.map(tok, batched=True, remove_columns=pairs.column_names, keep_in_memory=True)
        cfg = config(d + "/bare")
        cfg.max_length = None
        RewardTrainer(model=m.model, args=cfg, train_dataset=bare, processing_class=m.tokenizer).train()
        t_bare = time.perf_counter() - t

        m = load_reward_model("default")
        t = time.perf_counter()
        _, stats = train_reward(m, pairs, config(d + "/ours"), "none", args.max_length)
        t_ours = time.perf_counter() - t

    print(f"pairs {len(pairs)}, max_length {args.max_length}, all-MiniLM-L6-v2, batch 8, fp32 CPU, same steps")
    print(f"bare TRL  {t_bare:7.1f} s  (HF tokenizer truncation + RewardTrainer)")
    print(
        f"ours      {t_ours:7.1f} s  (sampling, profile-preserving encoder, RewardTrainer; {stats['sequences_truncated']} truncated)"
    )
    print(f"overhead  {100 * (t_ours / t_bare - 1):+.1f}%  (goal ≤ +5%)")


if __name__ == "__main__":
    main()
