"""Training-path overhead: our reward training (sampling, conditioning, our tokenization, TRL) vs a
bare TRL RewardTrainer script on the same pairs, same model, same steps. Both run in this process,
one after the other, each from a fresh copy of the model.

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
        # bare TRL: text pairs, a minimal chat template so TRL tokenizes the conversations itself
        m = load_reward_model("default")
        m.tokenizer.chat_template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
        bare = pairs.select_columns(["prompt", "chosen", "rejected"])
        t = time.perf_counter()
        trainer = RewardTrainer(
            model=m.model, args=config(d + "/bare"), train_dataset=bare, processing_class=m.tokenizer
        )
        trainer.train()
        t_bare = time.perf_counter() - t
        kept = len(trainer.train_dataset)

        m = load_reward_model("default")
        t = time.perf_counter()
        _, stats = train_reward(m, pairs, config(d + "/ours"), "none", args.max_length)
        t_ours = time.perf_counter() - t

    print(f"pairs {len(pairs)}, max_length {args.max_length}, all-MiniLM-L6-v2, batch 8, fp32 CPU")
    print(f"bare TRL  {t_bare:7.1f} s  (TRL dropped {len(pairs) - kept} over-long pairs, trained on {kept})")
    print(
        f"ours      {t_ours:7.1f} s  (truncated {stats['sequences_truncated']} sequences, trained on {stats['train_pairs']})"
    )
    print(
        f"overhead  {100 * (t_ours / t_bare - 1):+.1f}%  per pair: {100 * ((t_ours / stats['train_pairs']) / (t_bare / max(kept, 1)) - 1):+.1f}%"
        "  (goal ≤ +5%)"
    )


if __name__ == "__main__":
    main()
