"""The scorer interface and the view of comparisons every scorer reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass
class ComparisonBatch:
    """Plain-Python view of evaluation comparisons (a few thousand rows: held in memory)."""

    contexts: list[list[dict]]
    candidates: list[list[str | None]]
    chosen: np.ndarray
    turn: np.ndarray
    columns: dict[str, np.ndarray]  # metadata: comparison_id, annotator_id, demographics, …

    def __len__(self) -> int:
        return len(self.chosen)

    @classmethod
    def from_dataset(cls, ds) -> ComparisonBatch:
        from ..data.schema import decode_labels

        data = decode_labels(ds.to_dict(), ds.features)  # country / language names, not ClassLabel ids
        cols = {k: np.asarray(v, dtype=object) for k, v in data.items() if k not in ("context", "candidates")}
        return cls(
            contexts=data["context"],
            candidates=[list(c) for c in data["candidates"]],
            chosen=np.asarray(data["chosen_index"], dtype=np.int64),
            turn=np.asarray(data["turn"], dtype=np.int64),
            columns=cols,
        )

    def select(self, idx: np.ndarray) -> ComparisonBatch:
        idx = np.asarray(idx)
        return ComparisonBatch(
            contexts=[self.contexts[i] for i in idx],
            candidates=[self.candidates[i] for i in idx],
            chosen=self.chosen[idx],
            turn=self.turn[idx],
            columns={k: v[idx] for k, v in self.columns.items()},
        )

    def present(self) -> np.ndarray:
        """(n, 4) mask of the candidates that exist (a scorer gives each of them a finite score)."""
        return np.array([[c is not None for c in cands] for cands in self.candidates], dtype=bool)

    def duplicates_of_chosen(self) -> np.ndarray:
        """(n, 4) mask of rejected candidates whose text equals the chosen one (no label between them).
        Metrics leave them out; scorers never look at the label."""
        out = np.zeros((len(self), 4), dtype=bool)
        for i, (cands, ch) in enumerate(zip(self.candidates, self.chosen)):
            for j, c in enumerate(cands):
                out[i, j] = j != ch and c is not None and c == cands[ch]
        return out

    def valid(self) -> np.ndarray:
        """(n, 4) the candidates competing with the chosen one (present, not a copy of its text)."""
        return self.present() & ~self.duplicates_of_chosen()


class Scorer(Protocol):
    """Anything that gives each present candidate of each comparison a finite real score (higher =
    preferred) and NaN where a candidate is absent. It never reads the label (`chosen`)."""

    name: str
    kind: str

    def score(self, batch: ComparisonBatch) -> np.ndarray: ...


def mask_scores(scores: np.ndarray, batch: ComparisonBatch) -> np.ndarray:
    """NaN where a candidate is absent."""
    return np.where(batch.present(), scores, np.nan)
