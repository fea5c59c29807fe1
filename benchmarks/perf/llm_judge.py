"""LLM-judge throughput: our scorer vs a naive loop, same model, same prompts, same comparisons.

ours      `LLMJudgeScorer.score`: every distinct prompt once, equal-length batches (no padding), only
          the last position's logits (`logits_to_keep=1`), inference_mode; prompt building included
baseline  the same prompts in file order, padded batches, full-vocabulary logits at every position,
          no deduplication, torch.no_grad — the loop a first LLM-as-judge script usually is
Prints comparisons/s of both (the baseline's including the same prompt building), the speed-up, and
the largest difference between the two score matrices (the same numbers up to round-off).

CPU (what this project's machine measures; the model is the untrained tiny Qwen2, its scores are
meaningless, only the speed is):
    python benchmarks/perf/llm_judge.py [--comparisons 200] [--batch-size 8] [--max-length 1024] \\
        [--conditioning none|country|demographics]

GPU (no GPU was lent to this project: documented, not measured): a randomly initialised model with
Llama-3-8B's shape in bf16, and a 4,096-token byte-level BPE trained locally on the sample (no
download; prompt lengths differ from Llama-3's own tokenizer's: the "tokens/prompt" line says what
was run; a random model computes as fast as a trained one of the same shape):
    python benchmarks/perf/llm_judge.py --arch llama-8b --device cuda --comparisons 1000 \\
        --batch-size 16 --max-length 4096 --max-candidate-tokens 768
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import torch

LLAMA_8B = dict(
    hidden_size=4096,
    intermediate_size=14336,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=8,
    vocab_size=128256,
    max_position_embeddings=8192,
    rope_theta=500000.0,
    rms_norm_eps=1e-5,
    tie_word_embeddings=False,
)


def build_model(arch: str, texts: list[str], out_dir: str, device: str, layers: int | None, hidden: int | None):
    """(model, tokenizer, description): the tiny Qwen2 (fp32) or a random Llama-8B-shaped model (bf16
    on a GPU), both with a byte-level BPE trained on `texts`."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

    from community_alignment.models.loading import build_tiny_causal_lm, load_causal_lm

    vocab = 2048 if arch == "tiny" else 4096
    build_tiny_causal_lm(out_dir, texts, vocab_size=vocab)
    if arch == "tiny":
        loaded = load_causal_lm(out_dir, dtype=torch.float32)
        return loaded.model.to(device), loaded.tokenizer, "tiny Qwen2 (2 layers, hidden 64), fp32"
    tok = AutoTokenizer.from_pretrained(out_dir)
    shape = dict(LLAMA_8B)
    if layers:
        shape["num_hidden_layers"] = layers
    if hidden:
        heads = max(1, hidden // 128)
        shape.update(
            hidden_size=hidden,
            intermediate_size=int(hidden * 3.5),
            num_attention_heads=heads,
            num_key_value_heads=max(1, heads // 4),
        )
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    cfg = LlamaConfig(**shape, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, bos_token_id=None)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(cfg, dtype=dtype)
    n = sum(p.numel() for p in model.parameters()) / 1e9
    desc = (
        f"random Llama ({shape['num_hidden_layers']} layers, hidden {shape['hidden_size']}, {n:.2f} B params), {dtype}"
    )
    return model.eval(), tok, desc


def naive_letter_logprobs(model, sequences, letter_ids, pad_id: int, batch_size: int, device) -> np.ndarray:
    """File order, right-padded batches, full logits everywhere, the last real position read."""
    out = []
    with torch.no_grad():
        for s in range(0, len(sequences), batch_size):
            chunk = sequences[s : s + batch_size]
            width = max(map(len, chunk))
            ids = torch.tensor([q + [pad_id] * (width - len(q)) for q in chunk], device=device)
            att = torch.tensor([[1] * len(q) + [0] * (width - len(q)) for q in chunk], device=device)
            logits = model(input_ids=ids, attention_mask=att).logits.float()
            last = logits[torch.arange(len(chunk), device=device), att.sum(1) - 1]
            out.append(torch.log_softmax(last, -1)[:, letter_ids].cpu().numpy())
    return np.concatenate(out).astype(np.float64)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--comparisons", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-length", type=int, default=1024)
    ap.add_argument("--max-candidate-tokens", type=int, default=160)
    ap.add_argument("--conditioning", choices=["none", "country", "demographics"], default="none")
    ap.add_argument("--arch", choices=["tiny", "llama-8b"], default="tiny")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=2, help="alternate ours/baseline this often; report the best")
    ap.add_argument("--num-layers", type=int, default=None, help="override the Llama shape (smoke tests)")
    ap.add_argument("--hidden-size", type=int, default=None, help="override the Llama shape (smoke tests)")
    args = ap.parse_args()

    from community_alignment.data.builder import CommunityAlignment
    from community_alignment.scoring.base import ComparisonBatch
    from community_alignment.scoring.llm_judge import INSTRUCTION, QUESTION, JudgeConfig, LLMJudgeScorer

    b = CommunityAlignment(config_name="comparisons", source="sample")
    b.download_and_prepare()
    ds = b.as_dataset()
    train = ComparisonBatch.from_dataset(ds["train"].select(range(400)))
    texts = [m["content"] for c in train.contexts for m in c] + [t for cs in train.candidates for t in cs if t]
    texts += [INSTRUCTION, QUESTION] * 50
    batch = ComparisonBatch.from_dataset(ds["test"].select(range(args.comparisons)))
    device = torch.device(args.device)

    tmp = tempfile.TemporaryDirectory()
    model, tok, desc = build_model(
        args.arch, texts, os.path.join(tmp.name, "lm"), args.device, args.num_layers, args.hidden_size
    )
    cfg = JudgeConfig(
        conditioning=args.conditioning,
        max_length=args.max_length,
        max_candidate_tokens=args.max_candidate_tokens,
        batch_size=args.batch_size,
    )

    from accelerate import Accelerator

    acc = Accelerator(cpu=device.type == "cpu")
    scorer = LLMJudgeScorer(model, tok, "bench", cfg, accelerator=acc)
    if device.type == "cuda":
        scorer.score(batch.select(np.arange(min(8, len(batch.candidates)))))  # warm-up (kernels, allocator)
        torch.cuda.synchronize()

    t_ours = t_base = t_build = float("inf")
    for _ in range(args.repeats):  # alternate, keep the best of each: the machine may be shared
        t = time.perf_counter()
        ours = scorer.score(batch)
        t_ours = min(t_ours, time.perf_counter() - t)
        st = scorer.stats

        t = time.perf_counter()
        prompts = scorer.build_prompts(batch)
        build = time.perf_counter() - t
        t = time.perf_counter()
        letters = list(scorer.letter_ids.values())
        logp = naive_letter_logprobs(model, prompts.sequences, letters, tok.pad_token_id, args.batch_size, device)
        base = scorer.scores_from_letter_logprobs(prompts, logp)
        if device.type == "cuda":
            torch.cuda.synchronize()
        t_base, t_build = min(t_base, time.perf_counter() - t + build), min(t_build, build)

    n = len(batch.candidates)
    lengths = np.array([len(s) for s in prompts.sequences])
    diff = float(np.nanmax(np.abs(np.exp(ours) - np.exp(base))))
    print(f"model {desc}; device {args.device}; torch threads {torch.get_num_threads()}")
    print(
        f"comparisons {n}, prompts {len(lengths)} (distinct {st['distinct_prompts']}), tokens/prompt "
        f"median {int(np.median(lengths))} max {lengths.max()}, max_length {args.max_length}, batch {args.batch_size}, "
        f"conditioning {args.conditioning}; "
        f"truncated {st['comparisons_truncated']}, candidates cut {st['candidates_cut']}"
    )
    print(f"prompt building      {t_build:7.1f} s  (in both totals)")
    print(f"ours      {t_ours:7.1f} s  {n / t_ours:8.2f} comparisons/s  ({n / t_ours * 3.6:.1f}k/h)")
    print(f"baseline  {t_base:7.1f} s  {n / t_base:8.2f} comparisons/s")
    print(f"speed-up  {t_base / t_ours:.2f}×;  time per 1,000 comparisons: ours {1000 * t_ours / n:.0f} s")
    print(f"max |Δ probability| ours vs baseline: {diff:.2e}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
