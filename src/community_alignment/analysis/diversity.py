"""Diversity of candidate sets: embedding distance (all-MiniLM-L6-v2, offline) and lexical distinctness."""

from __future__ import annotations

import re
from itertools import combinations

import numpy as np


class Embedder:
    """Sentence embeddings: mean-pooled, L2-normalised all-MiniLM-L6-v2 (how sentence-transformers uses it)."""

    def __init__(self, model: str = "default", batch_size: int = 32, max_length: int = 256):
        import torch
        from transformers import AutoModel, AutoTokenizer

        from ..models.loading import resolve_reward_model

        path, _ = resolve_reward_model(model)
        self.tok = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path, use_safetensors=True).eval()
        self.batch_size, self.max_length, self.torch = batch_size, max_length, torch

    def __call__(self, texts: list[str]) -> np.ndarray:
        out = []
        with self.torch.inference_mode():
            for s in range(0, len(texts), self.batch_size):
                enc = self.tok(
                    texts[s : s + self.batch_size],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                h = self.model(**enc).last_hidden_state
                m = enc["attention_mask"][..., None].float()
                e = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
                out.append(self.torch.nn.functional.normalize(e, dim=-1).numpy())
        return np.concatenate(out) if out else np.zeros((0, 384))


def mean_cosine_distance(emb: np.ndarray) -> float:
    """Mean over pairs of 1 − cosine similarity (rows already unit-norm)."""
    sims = [float(emb[i] @ emb[j]) for i, j in combinations(range(len(emb)), 2)]
    return float(1.0 - np.mean(sims)) if sims else float("nan")


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def lexical_distinctness(texts: list[str]) -> float:
    """Mean over pairs of 1 − Jaccard similarity of the word sets (1 = no word in common)."""
    sets = [set(_tokens(t)) for t in texts]
    vals = [1 - len(a & b) / len(a | b) if a | b else 0.0 for a, b in combinations(sets, 2)]
    return float(np.mean(vals)) if vals else float("nan")


def distinct_n(texts: list[str], n: int = 2) -> float:
    """Unique n-grams / all n-grams across the set."""
    grams = [tuple(t[i : i + n]) for t in map(_tokens, texts) for i in range(len(t) - n + 1)]
    return len(set(grams)) / len(grams) if grams else float("nan")


def set_diversity(rows: list[dict], embedder=None) -> list[dict]:
    """Per candidate set: method, cosine distance, lexical distinctness, distinct-2."""
    embedder = embedder or Embedder()
    out = []
    for r in rows:
        cands = [c for c in (r.get("candidates") or []) if c]
        if len(cands) < 2:
            continue
        out.append(
            {
                "prompt_id": r.get("prompt_id"),
                "method": r.get("method", "?"),
                "embedding_distance": mean_cosine_distance(embedder(cands)),
                "lexical_distinctness": lexical_distinctness(cands),
                "distinct_2": distinct_n(cands, 2),
            }
        )
    return out


def summarize(per_set: list[dict]) -> dict:
    """Mean of each measure per method (NC vs independent side by side)."""
    by = {}
    for r in per_set:
        by.setdefault(r["method"], []).append(r)
    return {
        m: {
            "sets": len(v),
            **{
                k: float(np.mean([x[k] for x in v]))
                for k in ("embedding_distance", "lexical_distinctness", "distinct_2")
            },
        }
        for m, v in by.items()
    }
