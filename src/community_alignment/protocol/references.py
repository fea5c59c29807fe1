"""The references every evaluation reports beside the submitted model, computed by the contract from
the dataset alone (never taken from a submission):

- `random`: the expected value of a uniformly random scorer — exactly a constant score under the tie
  policy (top-1 1/k, pairwise ½, NLL log k) — not one draw.
- `length`: more characters wins (CA's candidates grow from a to d); temperature fitted on validation.
- `position_prior`: log letter frequency per turn on the train split.
- On the synthetic sample, oracles from the generator's probabilities; their accuracy metrics are
  **expected values** Σ_j p_true(j)·credit(j) under the annotator's true choice probabilities, not
  scored on the drawn choices:
  `oracle_individual` (the annotator's own probabilities: the ceiling), `oracle_letter_blind` (the
  annotator's own utilities without the letter bias), `oracle_country` (averaged over the annotator's
  country), `oracle_language` (a pooled model that reads the text's language: averaged over the
  annotators of that language — the fair ceiling of a pooled text model, which can see the
  language), `oracle_pooled` (averaged over everybody: the best one-size-fits-all choice).
"""

from __future__ import annotations

import numpy as np

from ..metrics.accuracy import fit_temperature
from ..metrics.contract import ScorerInput
from ..scoring.baselines import letter_log_frequencies
from .truth import SplitTruth, Truth

ORACLES = {
    "oracle_individual": "p_true",
    "oracle_letter_blind": "p_letter_blind",
    "oracle_country": "p_country",
    "oracle_language": "p_language",
    "oracle_pooled": "p_pooled",
}
BASELINES = ("random", "length", "position_prior")


def length_scores(split: SplitTruth) -> np.ndarray:
    return np.where(split.data.present, split.lengths, np.nan)


def position_scores(truth: Truth, split: SplitTruth) -> np.ndarray:
    log_freq = letter_log_frequencies(truth.train_turn, truth.train_chosen)
    return np.where(split.data.present, log_freq[split.turn], np.nan)


def reference_inputs(truth: Truth, rows: np.ndarray | None = None) -> dict[str, ScorerInput]:
    """ScorerInputs of every reference on the test comparisons (or the `rows` of them)."""
    test = truth.test if rows is None else truth.test.select(rows)
    present = test.data.present
    val = truth.validation
    t_len, note = (1.0, None)
    if len(val.data):
        t_len, note = fit_temperature(np.nan_to_num(length_scores(val)), val.data.chosen, val.data.valid)
    refs = {
        "random": ScorerInput(np.where(present, 0.0, np.nan), "baseline"),
        "length": ScorerInput(length_scores(test), "baseline", t_len, temperature_note=note),
        "position_prior": ScorerInput(position_scores(truth, test), "baseline"),
    }
    if truth.oracle:
        p_true = truth.oracle["p_true"] if rows is None else truth.oracle["p_true"][rows]
        # a cell the file shows as empty (the "EMPTY STRING" quirk) is absent for the annotator too:
        # the true choice distribution is renormalised over the present candidates
        p_true = np.where(present, p_true, 0.0)
        p_true = p_true / p_true.sum(1, keepdims=True)
        for name, level in ORACLES.items():
            p = truth.oracle[level] if rows is None else truth.oracle[level][rows]
            scores = np.where(present, np.log(np.clip(p, 1e-12, None)), np.nan)
            refs[name] = ScorerInput(scores, "oracle", 1.0, truth=p_true)
    return refs
