"""Coverage of the contract's 95% CIs when annotators and prompts both shift the outcome (crossed
random effects), as in CA.

Accuracy: a comparison is "correct" with probability logistic(μ + a_i + p_j), a ~ N(0, 0.8²),
p ~ N(0, 0.8²); the estimand is the population accuracy E[logistic(μ + a + p)] over new annotators and
new prompts (what a benchmark number claims to estimate). Two designs: dense (40 annotators × 30
prompts, 15 comparisons each) and sparse like CA's test split (150 annotators, 400 prompt groups, 6
comparisons per annotator, ≈ 2 per prompt group), 300 simulated benchmarks each, 200 replicates.
The contract's CI (pigeonhole replicates calibrated to the two-way clustered variance) covers ≈ 0.95
in both; resampling annotators alone does not.

Distributional fit: sets nested in prompt groups, each judged by ~12 raters drawn from the set's true
distribution; the estimand is the expected fit of a fixed model over new sets and new votes.
"""

import numpy as np
import pytest

from community_alignment.metrics import contract, distributional
from community_alignment.metrics.bootstrap import Replicates, percentile_ci, ratio_replicates

SD, MU, REPS, B = 0.8, 0.4, 300, 200


def _population_mean() -> float:
    rng = np.random.default_rng(99)
    a, p = rng.normal(0, SD, 2_000_000), rng.normal(0, SD, 2_000_000)
    return float(np.mean(1 / (1 + np.exp(-(MU + a + p)))))


TRUTH = _population_mean()


def _design(rng, n_ann, n_prompt, per):
    a, p = rng.normal(0, SD, n_ann), rng.normal(0, SD, n_prompt)
    ann = np.repeat(np.arange(n_ann), per)
    prm = np.concatenate([rng.choice(n_prompt, per, replace=False) for _ in range(n_ann)])
    y = rng.random(len(ann)) < 1 / (1 + np.exp(-(MU + a[ann] + p[prm])))
    return ann, prm, y


def _contract_ci(ann, prm, y, seed):
    """The overall top-1 CI exactly as the contract computes it (scores whose top-1 credit is y)."""
    n = len(y)
    data = contract.EvalData(np.zeros(n, int), np.ones((n, 4), bool), ann, prompts=prm)
    scores = np.where(y[:, None], np.eye(4)[0], np.eye(4)[1])
    block, _ = contract.Evaluation(data, resamples=B, seed=seed, axes=(), permutations=0).block(scores, temperature=1.0)
    e = block.overall.top1_accuracy
    return e.ci_low, e.ci_high


def _coverage(n_ann, n_prompt, per, method: str) -> float:
    rng = np.random.default_rng(n_ann * 7 + per)
    hits = 0
    for r in range(REPS):
        ann, prm, y = _design(rng, n_ann, n_prompt, per)
        if method == "contract":
            lo, hi = _contract_ci(ann, prm, y, r)
        else:  # the pigeonhole bootstrap over annotators alone, uncalibrated
            reps = Replicates.two_way(ann, None, resamples=B, seed=r)
            lo, hi = percentile_ci(ratio_replicates(y.astype(float), np.ones(len(y)), reps))
        hits += lo <= TRUTH <= hi
    return hits / REPS


def test_the_contracts_ci_covers_near_95_in_dense_and_sparse_designs():
    dense = _coverage(40, 30, 15, "contract")
    sparse = _coverage(150, 400, 6, "contract")
    annotator_only = _coverage(40, 30, 15, "annotators")
    # ± 3 binomial standard errors around 0.95 (SE ≈ 0.0126 at 300 simulations)
    assert 0.91 <= dense <= 0.99, dense
    assert 0.91 <= sparse <= 0.99, sparse
    assert annotator_only < 0.91, annotator_only  # ≥ 3 standard errors below the nominal 0.95
    assert dense - annotator_only > 0.04


def test_the_distributional_fit_ci_covers_the_expected_fit():
    n_prompts, sets_per_prompt, raters = 60, 3, 12
    model = np.array([0.4, 0.3, 0.2, 0.1])

    def simulate(rng):
        truth = rng.dirichlet(np.full(4, 2.0), size=n_prompts * sets_per_prompt)
        codes = np.repeat(np.arange(len(truth)), raters)
        chosen = np.array([rng.choice(4, p=truth[s]) for s in codes])
        prompts = codes // sets_per_prompt
        return codes, chosen, prompts

    big = np.random.default_rng(1)
    estimand = np.mean(
        [
            distributional.set_fits(np.tile(model, (len(c), 1)), ch, c, c.max() + 1).mean()
            for c, ch, _ in (simulate(big) for _ in range(200))
        ]
    )
    rng = np.random.default_rng(2)
    hits, sims = 0, 200
    for r in range(sims):
        codes, chosen, prompts = simulate(rng)
        reps = Replicates.two_way(np.arange(len(codes)), prompts, resamples=B, seed=r)
        value, boot = distributional.fit_replicates(
            np.tile(model, (len(codes), 1)), chosen, codes, codes.max() + 1, reps
        )
        lo, hi = percentile_ci(boot)
        hits += lo <= estimand <= hi
        assert lo <= value <= hi  # the estimate lies inside its own interval (the review's finding 2)
    assert 0.90 <= hits / sims <= 0.99, hits / sims


@pytest.mark.parametrize("seed_sd", [0.2, 1.0, 4.0, 10.0])
def test_combining_seeds_covers_near_95(seed_sd):
    """compare.combine_seeds: S = 3 seeds share one test sample (a common error, known from its
    bootstrap half-width) and differ by training noise (estimated from the seeds). The interval must
    cover the true difference at ≥ 95% (and not wildly more) whether the test sample or the seeds
    dominate; its p-value must agree with the interval."""
    from community_alignment.pipeline.compare import combine_seeds
    from community_alignment.results.types import Difference, Estimate

    rng = np.random.default_rng(7)
    test_sd, truth, sims, hits = 1.0, 0.3, 4000, 0
    for i in range(sims):
        common = rng.normal(0, test_sd)
        ests = truth + common + rng.normal(0, seed_sd, 3)
        half = 1.959964 * test_sd
        c = combine_seeds(
            with_p=i % 50 == 0,
            per_seed=[Difference(Estimate(float(e), float(e - half), float(e + half)), 0.5, 0.5, False) for e in ests],
        )
        hits += c["ci_low"] <= truth <= c["ci_high"]
        if i % 50 == 0:
            assert (c["p"] < 0.05) == (not c["ci_low"] <= 0 <= c["ci_high"])
    coverage = hits / sims
    assert 0.94 <= coverage <= 0.985, coverage  # ≥ nominal − 3 binomial SE (0.0034); conservative between the extremes
