"""Deterministic train/validation/test assignment, disjoint by first-turn prompt or by annotator.

A group key (the normalised first-turn prompt, or the annotator id) is hashed with BLAKE2b and a
salt; the first 8 bytes, read as an unsigned integer and divided by 2**64, give a number u in [0, 1)
that is the same on every machine, process and version. u < 0.8 → train, u < 0.9 → validation, else
test. Only the distinct keys are hashed (≈33k prompts on the real file), never each row.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .reader import one_array

SPLITS = ("train", "validation", "test")
SPLIT_BY = ("prompt", "annotator")
DEFAULT_SALT = "community-alignment-v1"
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)


_QUOTES_SINGLE = "[\u2018\u2019\u201a\u201b\u2032\u0060\u00b4]"
_QUOTES_DOUBLE = "[\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb]"
_DASHES = "[\u2010\u2011\u2012\u2013\u2014\u2015\u2212]"


def normalise_prompt(prompts: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
    """The split key of a first-turn prompt, so near-identical prompts share a group: Unicode NFKC
    (NFC = NFD, full-width = ASCII), curly quotes and primes → ' and ", dashes and minus → -,
    lower case, white space collapsed, trailing punctuation (?, !, ., ।, …) and spaces stripped.
    Each distinct prompt is normalised once (a prompt is asked in several conversations)."""
    distinct = pc.dictionary_encode(one_array(prompts) if isinstance(prompts, pa.ChunkedArray) else prompts)
    return pa.chunked_array([_normalised(distinct.dictionary).take(distinct.indices)])


def _normalised(prompts: pa.Array) -> pa.Array:
    key = pc.utf8_normalize(prompts, form="NFKC")
    key = pc.replace_substring_regex(key, _QUOTES_SINGLE, "'")
    key = pc.replace_substring_regex(key, _QUOTES_DOUBLE, '"')
    key = pc.replace_substring_regex(key, _DASHES, "-")
    key = pc.utf8_lower(key)
    key = pc.replace_substring_regex(key, r"\s+", " ")
    key = pc.replace_substring_regex(key, r"[\s\p{P}]+$", "")
    return pc.utf8_trim_whitespace(key)


def _unit_interval(keys: list[str], salt: str) -> np.ndarray:
    out = np.empty(len(keys), dtype=np.float64)
    for i, key in enumerate(keys):
        digest = hashlib.blake2b(f"{salt}\x00{key}".encode(), digest_size=8).digest()
        out[i] = int.from_bytes(digest, "big") / 2.0**64
    return out


def group_ids(keys: pa.ChunkedArray) -> pa.Array:
    """A short stable id per distinct key (16 hex digits of BLAKE2b), mapped back onto the rows."""
    uniq = pc.unique(keys)
    ids = [hashlib.blake2b(k.encode(), digest_size=8).hexdigest() for k in uniq.to_pylist()]
    return pc.take(pa.array(ids, pa.string()), pc.index_in(keys, value_set=uniq))


def assign_splits(
    conversations: pa.Table,
    split_by: str = "prompt",
    salt: str = DEFAULT_SALT,
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
    prompt_keys: pa.ChunkedArray | None = None,
) -> pa.Array:
    """Return the split name of each conversation (a string array aligned with the table).

    `prompt_keys`: `normalise_prompt` of the first-turn prompts when already computed."""
    if split_by not in SPLIT_BY:
        raise ValueError(f"split_by must be one of {SPLIT_BY}, got {split_by!r}")
    if abs(sum(fractions) - 1.0) > 1e-9 or min(fractions) < 0:
        raise ValueError(f"split fractions must be non-negative and sum to 1, got {fractions}")
    if split_by == "prompt":
        keys = normalise_prompt(conversations["first_turn_prompt"]) if prompt_keys is None else prompt_keys
    else:
        keys = pc.cast(conversations["annotator_id"], pa.string())
    uniq = pc.unique(keys)
    u = _unit_interval([str(k) for k in uniq.to_pylist()], f"{salt}:{split_by}")
    cuts = np.cumsum(fractions)[:-1]
    code = np.searchsorted(cuts, u, side="right")
    per_row = code[pc.index_in(keys, value_set=uniq).to_numpy(zero_copy_only=False)]
    return pa.array(np.asarray(SPLITS)[per_row], pa.string())


def manifest(conversations: pa.Table, split_names: pa.Array, split_by: str, salt: str = DEFAULT_SALT) -> dict:
    """Per-split sorted conversation ids hashed into fingerprints; the benchmark pins `test`."""
    ids = conversations["conversation_id"].to_numpy()
    names = np.asarray(split_names.to_numpy(zero_copy_only=False))
    out: dict = {"split_by": split_by, "salt": salt, "fingerprints": {}, "conversations": {}}
    for s in SPLITS:
        sel = np.sort(ids[names == s]).astype("<i8")
        out["fingerprints"][s] = hashlib.sha256(sel.tobytes()).hexdigest()
        out["conversations"][s] = int(len(sel))
    out["fingerprint"] = hashlib.sha256(json.dumps(out["fingerprints"], sort_keys=True).encode()).hexdigest()
    return out
