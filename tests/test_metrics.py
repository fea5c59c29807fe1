"""Metric functions on inputs whose answers are known by hand."""

import numpy as np
import pytest

from community_alignment.metrics import accuracy, bootstrap, distributional, groups

nan = np.nan


def test_pairwise_credit_counts_ties_as_half_and_skips_missing():
    scores = np.array([[1.0, 1.0, 0.0, nan], [0.0, 2.0, 1.0, 3.0]])
    credit, pairs = accuracy.pairwise_credit(scores, np.array([0, 2]))
    assert credit.tolist() == [1.5, 1.0] and pairs.tolist() == [2, 3]


def test_top1_gives_one_over_k_for_ties():
    scores = np.array([[2.0, 2.0, 1.0, 0.0], [1.0, 3.0, 3.0, 3.0], [5.0, 1.0, nan, 0.0], [0.0, 1.0, 2.0, 3.0]])
    assert accuracy.top1_credit(scores, np.array([0, 1, 0, 0])).tolist() == [0.5, 1 / 3, 1.0, 0.0]


def test_chosen_without_score_is_an_error():
    with pytest.raises(ValueError, match="chosen candidate has no score"):
        accuracy.top1_credit(np.array([[nan, 1, 2, 3.0]]), np.array([0]))


def test_temperature_fit_recovers_the_generating_temperature():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(20000, 4)) * 2
    p = accuracy.choice_probabilities(logits, 2.5)
    chosen = (rng.random((20000, 1)) > p.cumsum(1)).sum(1)
    T = accuracy.fit_temperature(logits, chosen)
    assert abs(T - 2.5) < 0.15
    assert accuracy.nll(logits, chosen, T).mean() <= accuracy.nll(logits, chosen, 1.0).mean()
    assert accuracy.expected_calibration_error(logits, chosen, T) < 0.02


def test_nll_of_uniform_scores_is_log4():
    assert np.allclose(accuracy.nll(np.zeros((3, 4)), np.array([0, 1, 2])), np.log(4))


def test_clustered_bootstrap_is_wider_when_annotators_are_homogeneous():
    rng = np.random.default_rng(1)
    ann = np.repeat(np.arange(40), 25)
    per_annotator = rng.random(40) < 0.5
    values = per_annotator[ann].astype(float)  # perfectly correlated within annotator
    v, lo, hi = bootstrap.ratio_ci(values, np.ones_like(values), ann, resamples=500)
    _, lo_iid, hi_iid = bootstrap.ratio_ci(values, np.ones_like(values), np.arange(len(values)), resamples=500)
    assert lo < v < hi and (hi - lo) > 2.5 * (hi_iid - lo_iid)


def test_holm_adjustment():
    out = bootstrap.holm({"a": 0.01, "b": 0.04, "c": 0.03})
    assert out["a"]["p_holm"] == pytest.approx(0.03)
    assert out["c"]["p_holm"] == pytest.approx(0.06) and out["b"]["p_holm"] == pytest.approx(0.06)
    assert [out[k]["significant"] for k in "abc"] == [True, False, False]


def test_paired_difference_detects_a_real_gap():
    rng = np.random.default_rng(2)
    ann = np.repeat(np.arange(60), 20)
    a = (rng.random(1200) < 0.7).astype(float)
    b = (rng.random(1200) < 0.4).astype(float)
    d, p = bootstrap.paired_difference_pvalue(a, b, np.ones(1200), ann, resamples=500)
    assert 0.2 < d < 0.4 and p < 0.01
    d0, p0 = bootstrap.paired_difference_pvalue(a, a[::-1].copy(), np.ones(1200), ann, resamples=500)
    assert p0 > 0.05


def test_js_distance_bounds():
    p = np.array([[1.0, 0, 0, 0], [0.25, 0.25, 0.25, 0.25]])
    assert np.allclose(distributional.js_distance(p, p), 0)
    assert np.isclose(distributional.js_distance(np.array([[1.0, 0, 0, 0]]), np.array([[0, 1.0, 0, 0]]))[0], 1.0)


def test_set_fit_uses_only_sets_with_enough_raters():
    keys = np.array(["s1"] * 10 + ["s2"] * 3)
    chosen = np.array([0] * 5 + [1] * 5 + [2] * 3)
    probs = np.tile([0.5, 0.5, 0, 0], (13, 1))
    k, fit, raters = distributional.set_fit(probs, chosen, keys, min_raters=10)
    assert k.tolist() == ["s1"] and np.allclose(fit, 1.0) and raters.tolist() == [10]


def test_group_labels_and_axis_summary():
    cols = {
        "annotator_country": np.array(["india", "india", "france"], dtype=object),
        "annotator_ethnicity": np.array(["Dravidian", None, "Immigrant"], dtype=object),
        "is_pregenerated_first_prompt": np.array([True, False, True], dtype=object),
        "turn": np.array([1, 2, 1]),
    }
    assert groups.group_labels(cols, "ethnicity_within_country").tolist() == [
        "india / Dravidian",
        "(missing)",
        "france / Immigrant",
    ]
    assert groups.group_labels(cols, "prompt_origin").tolist() == ["pregenerated", "annotator-written", "pregenerated"]
    assert groups.group_labels(cols, "turn").tolist() == ["turn_1", "turn_2", "turn_1"]
    block = lambda v, n: {"n": n, "top1_accuracy": {"value": v}, "pairwise_accuracy": {"value": v}}
    summ = groups.summarize_axis(
        {"a": block(0.5, 100), "b": block(0.3, 100), "c": block(0.1, 5), "(missing)": block(0.0, 200)},
        {"top1_accuracy": {"value": 0.4}, "pairwise_accuracy": {"value": 0.4}},
    )
    assert summ["top1_accuracy"]["worst_group"] == "b" and summ["top1_accuracy"]["gap"] == pytest.approx(0.2)
    assert summ["top1_accuracy"]["macro"] == pytest.approx(0.4) and summ["eligible_groups"] == ["a", "b"]


def test_evaluate_groups_numbers_match_direct_computation():
    rng = np.random.default_rng(3)
    n = 300
    scores = rng.normal(size=(n, 4))
    chosen = rng.integers(4, size=n)
    cols = {c: np.array(["x"] * n, dtype=object) for cols in groups.AXES.values() for c in cols}
    cols["annotator_country"] = np.where(np.arange(n) < 150, "india", "brazil").astype(object)
    cols["turn"] = np.ones(n, int)
    cols["wave"] = np.ones(n, int)
    overall, res, summ = groups.evaluate_groups(scores, chosen, np.arange(n) // 10, cols, 1.0, resamples=100)
    india = np.arange(n) < 150
    top1 = (scores.argmax(1) == chosen).astype(float)
    assert res["country"]["india"]["top1_accuracy"]["value"] == pytest.approx(top1[india].mean())
    assert overall["top1_accuracy"]["value"] == pytest.approx(top1.mean())
    assert res["country"]["india"]["n"] == 150 and res["country"]["india"]["annotators"] == 15
