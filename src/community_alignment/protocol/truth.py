"""The ground truth of a protocol evaluation, read from the dataset itself (never from a submission):
which comparisons a track evaluates, their labels, annotators, prompt groups, candidate sets and
groups, plus what the contract's references need (candidate lengths, the train split's letter
frequencies, the validation split for the length baseline's temperature, and on the synthetic sample
the generator's true choice probabilities)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np

from ..metrics.contract import EvalData
from ..metrics.groups import AXES, group_labels
from ..scoring.baselines import candidate_lengths
from .tracks import PROTOCOL_VERSION, Track, get_track, protocol_id

GROUP_COLUMNS = sorted({c for cols in AXES.values() for c in cols} - {"turn"})


def set_keys(contexts: list, candidates: list) -> np.ndarray:
    """Identity of the shown item (context + ordered candidates): the unit of distributional fit."""
    return np.array(
        [
            hashlib.sha1(json.dumps([c, k], ensure_ascii=False).encode()).hexdigest()[:16]
            for c, k in zip(contexts, candidates)
        ],
        dtype=object,
    )


def same_text(candidates: list) -> np.ndarray:
    """(n, 4, 4) bool: candidates j and k are both present and have identical text."""
    out = np.zeros((len(candidates), 4, 4), dtype=bool)
    for i, cands in enumerate(candidates):
        for j in range(4):
            for k in range(4):
                out[i, j, k] = cands[j] is not None and cands[j] == cands[k]
    return out


def _present(candidates: list) -> np.ndarray:
    return np.array([[c is not None for c in cands] for cands in candidates], dtype=bool)


@dataclass
class SplitTruth:
    """One split's comparisons, label side."""

    conversation_id: np.ndarray  # int64
    turn: np.ndarray  # int64
    data: EvalData
    lengths: np.ndarray  # (n, 4) characters per candidate (NaN absent)
    language: np.ndarray

    @property
    def comparison_ids(self) -> np.ndarray:
        return np.array([f"{c}-{t}" for c, t in zip(self.conversation_id, self.turn)], dtype=object)

    def select(self, sel: np.ndarray) -> SplitTruth:
        return SplitTruth(
            self.conversation_id[sel], self.turn[sel], self.data.select(sel), self.lengths[sel], self.language[sel]
        )


def _column(ds, name: str) -> np.ndarray:
    """One column of a Dataset as numpy, straight from Arrow (no per-row Python formatting)."""
    return ds.select_columns([name]).with_format("arrow")[:][name].to_numpy(zero_copy_only=False)


def split_truth(ds, sets: bool = True) -> SplitTruth:
    """Build the label side of one split from a `comparisons` Dataset (`sets=False`: without the
    candidate-set keys and groups, which need the contexts — enough for a temperature fit)."""
    cols = ["conversation_id", "turn", "annotator_id", "prompt_group", "chosen_index", "candidates"]
    if sets:
        cols += ["context", *[c for c in GROUP_COLUMNS if c in ds.column_names]]
    else:
        cols += [c for c in ("assigned_lang",) if c in ds.column_names]
    data = ds.select_columns(cols).to_dict()
    cands = [list(c) for c in data["candidates"]]
    columns = {k: np.asarray(data[k], dtype=object) for k in GROUP_COLUMNS if k in data}
    columns["turn"] = np.asarray(data["turn"], dtype=np.int64)
    groups = (
        {axis: group_labels(columns, axis) for axis in AXES if all(c in columns for c in AXES[axis])} if sets else {}
    )
    conv = np.asarray(data["conversation_id"], dtype=np.int64)
    turn = np.asarray(data["turn"], dtype=np.int64)
    ids = np.array([f"{c}-{t}" for c, t in zip(conv, turn)], dtype=object)
    ev = EvalData(
        chosen=np.asarray(data["chosen_index"], dtype=np.int64),
        present=_present(cands),
        annotators=np.asarray(data["annotator_id"], dtype=np.int64),
        prompts=np.asarray(data["prompt_group"], dtype=object),
        same_text=same_text(cands),
        set_keys=set_keys(data["context"], cands) if sets else None,
        groups=groups,
        ids=ids,
    )
    lang = np.asarray(data.get("assigned_lang", [None] * len(conv)), dtype=object)
    return SplitTruth(conv, turn, ev, candidate_lengths(cands), lang)


@dataclass
class Truth:
    """Everything a protocol evaluation reads from the dataset."""

    track: Track
    protocol: dict  # id, version, track, ranked, dataset{source, revision, synthetic, split_by, split, fingerprint}
    test: SplitTruth
    validation: SplitTruth
    train_turn: np.ndarray  # the train split's turns and chosen letters (the position prior)
    train_chosen: np.ndarray
    oracle: dict[str, np.ndarray] = field(default_factory=dict)  # level → (n_test, 4) probabilities
    outside: dict[int, str] = field(default_factory=dict)  # conversation id → where it is, if not evaluated

    def index(self) -> dict[tuple[int, int], int]:
        return {(int(c), int(t)): i for i, (c, t) in enumerate(zip(self.test.conversation_id, self.test.turn))}


def load_truth(
    track: str = "main",
    source: str = "sample",
    data_path: str | None = None,
    revision: str | None = None,
    split_by: str | None = None,
    cache_dir: str | None = None,
) -> Truth:
    """The truth of `track` on a data source (prepared through the `datasets` builder). `split_by`
    only matters for a track that does not fix it (smoke)."""
    from ..data.builder import read_meta
    from ..training.data import DataSelection, load_config

    t = get_track(track)
    split_by = t.split_by or split_by or "prompt"
    sel = DataSelection(source=source, data_path=data_path, revision=revision, split_by=split_by, cache_dir=cache_dir)
    comps = load_config(sel, "comparisons")
    meta = read_meta(comps["train"].info)
    test = split_truth(comps["test"])
    validation = split_truth(comps["validation"], sets=False)
    if t.languages:
        other = ~np.isin(test.language, t.languages)
        outside_track = {int(c): "test (outside this track)" for c in test.conversation_id[other]}
        test = test.select(np.flatnonzero(np.isin(test.language, t.languages)))
        validation = validation.select(np.flatnonzero(np.isin(validation.language, t.languages)))
    outside = dict.fromkeys(np.unique(_column(comps["train"], "conversation_id")).tolist(), "train")
    outside.update(dict.fromkeys(np.unique(_column(comps["validation"], "conversation_id")).tolist(), "validation"))
    fingerprint = meta["split_manifest"]["fingerprints"]["test"]
    dataset = {
        "source": meta["source"],
        "revision": meta.get("revision"),
        "synthetic": bool(meta["synthetic"]),
        "split_by": split_by,
        "split": "test",
        "fingerprint": fingerprint,
    }
    protocol = {
        "id": protocol_id(t.name, dataset["source"], dataset["revision"], dataset["synthetic"], split_by, fingerprint),
        "version": PROTOCOL_VERSION,
        "track": t.name,
        "ranked": t.ranked,
        "dataset": dataset,
    }
    if t.languages:
        outside.update(outside_track)
    truth = Truth(
        t,
        protocol,
        test,
        validation,
        _column(comps["train"], "turn").astype(np.int64),
        _column(comps["train"], "chosen_index").astype(np.int64),
        outside=outside,
    )
    if dataset["synthetic"] and source == "sample" and not data_path:
        truth.oracle = sample_oracle(test)
    return truth


def sample_oracle(test: SplitTruth, probs_path: str | None = None) -> dict[str, np.ndarray]:
    """The generator's probability vectors for the test comparisons of the embedded sample (or of a
    synthetic file written by `make-sample --out`, from its `.probs.csv` beside it)."""
    import pandas as pd

    from ..synthetic.generate import PROBABILITY_LEVELS
    from ..synthetic.sample import sample_probs_path

    df = pd.read_csv(probs_path or sample_probs_path())
    pos = {(int(c), int(t)): i for i, (c, t) in enumerate(zip(df.conversation_id, df.turn))}
    idx = np.array([pos.get((int(c), int(t)), -1) for c, t in zip(test.conversation_id, test.turn)])
    if (idx < 0).any():
        raise ValueError(f"{int((idx < 0).sum())} test comparisons have no generator probabilities")
    return {lvl: df[[f"{lvl}_{x}" for x in "abcd"]].to_numpy(dtype=np.float64)[idx] for lvl in PROBABILITY_LEVELS}
