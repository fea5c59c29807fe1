"""Reference scorers: random, length (longer wins), position prior (letter frequencies per turn),
and, on the synthetic sample, the generator's oracle probabilities."""

from __future__ import annotations

import numpy as np

from .base import ComparisonBatch, mask_scores


class RandomScorer:
    kind = "baseline"

    def __init__(self, seed: int = 0):
        self.name, self.seed = "random", seed

    def score(self, batch: ComparisonBatch) -> np.ndarray:
        return mask_scores(np.random.default_rng(self.seed).random((len(batch), 4)), batch)


class LengthScorer:
    """Score = number of characters: the longer candidate wins (CA's candidates grow from a to d)."""

    kind = "baseline"
    name = "length"

    def score(self, batch: ComparisonBatch) -> np.ndarray:
        lengths = np.array([[len(c) if c else 0 for c in cands] for cands in batch.candidates], dtype=np.float64)
        return mask_scores(lengths, batch)


class PositionPriorScorer:
    """Score = log frequency of each letter being chosen at that turn, estimated on the train split."""

    kind = "baseline"
    name = "position_prior"

    def __init__(self, train_turn: np.ndarray, train_chosen: np.ndarray):
        counts = np.ones((5, 4))  # add-one smoothing; row = turn (1..4)
        np.add.at(counts, (np.asarray(train_turn), np.asarray(train_chosen)), 1.0)
        self.log_freq = np.log(counts / counts.sum(1, keepdims=True))

    def score(self, batch: ComparisonBatch) -> np.ndarray:
        return mask_scores(self.log_freq[batch.turn], batch)


class OracleScorer:
    """log of the generator's true choice probabilities (synthetic sample only): the ceiling."""

    kind = "oracle"

    def __init__(self, probs_path: str, level: str = "true"):
        import pandas as pd

        if level not in ("true", "country", "pooled"):
            raise ValueError(f"level must be true, country or pooled, got {level!r}")
        self.name = f"oracle_{level}"
        df = pd.read_csv(probs_path)
        keys = df.conversation_id.astype(str) + "-" + df.turn.astype(str)
        self.table = dict(zip(keys, df[[f"p_{level}_{x}" for x in "abcd"]].to_numpy()))

    def score(self, batch: ComparisonBatch) -> np.ndarray:
        ids = batch.columns["comparison_id"]
        missing = [i for i in ids if i not in self.table]
        if missing:
            raise KeyError(f"{len(missing)} comparisons have no oracle probabilities (e.g. {missing[0]})")
        with np.errstate(divide="ignore"):
            return mask_scores(np.log(np.stack([self.table[i] for i in ids])), batch)
