"""The one vocabulary of scoring methods and scorer kinds, and the registry of scorer builders.

`METHODS` is what a submission's `model.method` may say; `SCORER_KINDS` what a results block's `kind`
may say. Builders (method → function building the scorer of a benchmark run) register themselves with
`register`; `pipeline.run` looks them up with `builder(method)`.
"""

from __future__ import annotations

from collections.abc import Callable

METHODS: dict[str, str] = {
    "reward": "sequence-classification reward model: the logit of (context, candidate), one pass per candidate",
    "dpo": "DPO policy: implicit reward β·Σ(log π − log π_ref) over the candidate, reference model required",
    "dpo_reference_free": "DPO policy scored by β·Σ log π alone (no reference): labelled apart from dpo",
    "llm_judge": "a causal LM choosing among the candidates labelled A–D (letter probabilities, permutation-averaged)",
    "personalized": "a model whose user part is fitted from the annotator's support choices (individual track)",
    "other": "scores produced by code outside this package (described in the submission's training block)",
}
SCORER_KINDS = ("model", "baseline", "oracle")
#: methods whose scores are the model's own log-probabilities: evaluated at temperature 1 (their
#: distribution is the claim); every other method's scores get a temperature cross-fitted by the evaluator
LOG_PROBABILITY_METHODS = ("llm_judge",)
TRAINABLE = ("reward", "dpo", "personalized")


def fixed_temperature(method: str) -> float | None:
    """The temperature a method's scores are evaluated at: 1 for log-probabilities, else None (fitted
    by the evaluator on held-out rows; a submitted temperature is never used)."""
    return 1.0 if method in LOG_PROBABILITY_METHODS else None


_BUILDERS: dict[str, Callable] = {}


def register(method: str) -> Callable[[Callable], Callable]:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; add it to METHODS first")

    def deco(fn: Callable) -> Callable:
        _BUILDERS[method] = fn
        return fn

    return deco


def builder(method: str) -> Callable:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {sorted(METHODS)}")
    if method not in _BUILDERS:
        raise ValueError(f"method {method!r} has no scorer builder in this package (scores come from elsewhere)")
    return _BUILDERS[method]
