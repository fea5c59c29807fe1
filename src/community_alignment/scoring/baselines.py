"""Simple scorers: the definitions of the length and position-prior baselines.

The contract reports them as references on every evaluation (`protocol.references`, from the dataset
alone); the scorer classes wrap the same definitions for use as a cheap "model" (tests, smoke runs).
The random baseline is not a scorer: its expected value is a constant score (`protocol.references`).
"""

from __future__ import annotations

import numpy as np

from .base import ComparisonBatch, mask_scores


def candidate_lengths(candidates: list[list[str | None]]) -> np.ndarray:
    """(n, 4) characters per candidate (NaN where absent): the length baseline's score."""
    return np.array([[len(c) if c is not None else np.nan for c in cands] for cands in candidates], dtype=np.float64)


def letter_log_frequencies(train_turn: np.ndarray, train_chosen: np.ndarray) -> np.ndarray:
    """(5, 4) log frequency of each letter being chosen per turn (row = turn 1..4), add-one smoothed."""
    counts = np.ones((5, 4))
    np.add.at(counts, (np.asarray(train_turn, dtype=np.int64), np.asarray(train_chosen, dtype=np.int64)), 1.0)
    return np.log(counts / counts.sum(1, keepdims=True))


class LengthScorer:
    """Score = number of characters: the longer candidate wins (CA's candidates grow from a to d)."""

    kind = "baseline"
    name = "length"

    def score(self, batch: ComparisonBatch) -> np.ndarray:
        return mask_scores(candidate_lengths(batch.candidates), batch)


class PositionPriorScorer:
    """Score = log frequency of each letter being chosen at that turn, estimated on the train split."""

    kind = "baseline"
    name = "position_prior"

    def __init__(self, train_turn: np.ndarray, train_chosen: np.ndarray):
        self.log_freq = letter_log_frequencies(train_turn, train_chosen)

    def score(self, batch: ComparisonBatch) -> np.ndarray:
        return mask_scores(self.log_freq[batch.turn], batch)
