"""The metric functions and the contract on inputs whose answers are known by hand."""

import numpy as np
import pytest

from community_alignment.metrics import accuracy, bootstrap, contract, distributional, groups

nan = np.nan
ALL = np.ones((1, 4), bool)


def _valid(scores):
    return ~np.isnan(np.asarray(scores, dtype=float))


def test_pairwise_credit_counts_ties_as_half_and_skips_absent():
    scores = np.array([[1.0, 1.0, 0.0, nan], [0.0, 2.0, 1.0, 3.0]])
    credit, pairs = accuracy.pairwise_credit(scores, np.array([0, 2]), _valid(scores))
    assert credit.tolist() == [1.5, 1.0] and pairs.tolist() == [2, 3]


def test_top1_gives_one_over_k_for_ties():
    scores = np.array([[2.0, 2.0, 1.0, 0.0], [1.0, 3.0, 3.0, 3.0], [5.0, 1.0, nan, 0.0], [0.0, 1.0, 2.0, 3.0]])
    got = accuracy.top1_credit(scores, np.array([0, 1, 0, 0]), _valid(scores))
    assert got.tolist() == [0.5, 1 / 3, 1.0, 0.0]


def test_a_constant_scorer_gets_exactly_the_random_expectation():
    valid = np.array([[1, 1, 1, 1], [1, 1, 0, 1], [1, 1, 0, 0]], bool)
    zeros = np.where(valid, 0.0, nan)
    chosen = np.array([2, 0, 1])
    assert accuracy.top1_credit(zeros, chosen, valid).tolist() == [1 / 4, 1 / 3, 1 / 2]
    credit, pairs = accuracy.pairwise_credit(zeros, chosen, valid)
    assert (credit / pairs).tolist() == [0.5, 0.5, 0.5]
    assert np.allclose(accuracy.nll(zeros, chosen, valid), np.log([4, 3, 2]))


@pytest.mark.parametrize("where", ["rejected", "all_rejected", "chosen"])
@pytest.mark.parametrize("bad", [nan, np.inf, -np.inf])
def test_non_finite_scores_on_present_candidates_are_errors_naming_the_rows(where, bad):
    scores = np.tile([3.0, 2.0, 1.0, 0.0], (5, 1))
    if where == "rejected":
        scores[3, 2] = bad
    elif where == "all_rejected":
        scores[3, 1:] = bad
    else:
        scores[3, 0] = bad
    chosen = np.zeros(5, int)
    for fn in (accuracy.top1_credit, accuracy.pairwise_credit, accuracy.nll):
        with pytest.raises(accuracy.ScoreError, match="rows 3"):
            fn(scores, chosen, np.ones((5, 4), bool))
    data = contract.EvalData(chosen, np.ones((5, 4), bool), np.arange(5), ids=np.array([f"c{i}-1" for i in range(5)]))
    with pytest.raises(accuracy.ScoreError, match="c3-1"):
        contract.Evaluation(data, resamples=0).block(scores)


def test_duplicates_of_the_chosen_text_are_left_out_not_tied():
    same = np.zeros((1, 4, 4), bool)
    same[0, 0, 2] = same[0, 2, 0] = True
    for j in range(4):
        same[0, j, j] = True
    data = contract.EvalData(np.array([0]), np.ones((1, 4), bool), np.array([1]), same_text=same)
    assert data.valid.tolist() == [[True, True, False, True]]
    scores = np.array([[1.0, 0.0, 1.0, 0.5]])  # the copy ties with the chosen text: no label between them
    assert accuracy.top1_credit(scores, data.chosen, data.valid).tolist() == [1.0]


def test_temperature_fit_is_relative_to_the_score_scale_and_reports_bounds():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(20000, 4)) * 2
    valid = np.ones_like(logits, bool)
    p = accuracy.choice_probabilities(logits, valid, 2.5)
    chosen = (rng.random((20000, 1)) > p.cumsum(1)).sum(1)
    for scale in (1.0, 1e-6, 1e6):  # the same scores in other units: the same fit, in those units
        t, note = accuracy.fit_temperature(logits * scale, chosen, valid)
        assert abs(t / scale - 2.5) < 0.15 and note is None
    assert accuracy.expected_calibration_error(logits, chosen, valid, 2.5) < 0.02
    noise = rng.normal(size=(20000, 4))  # no signal: the fit runs to the upper bound and says so
    t, note = accuracy.fit_temperature(noise, chosen, valid)
    assert "upper bound" in note
    assert accuracy.nll(noise, chosen, valid, t).mean() == pytest.approx(np.log(4), abs=1e-3)
    t, note = accuracy.fit_temperature(np.zeros((10, 4)), chosen[:10], valid[:10])
    assert t == 1.0 and "constant" in note


def test_two_way_weights_are_products_of_annotator_and_prompt_counts():
    ann, prm = np.meshgrid(np.arange(7), np.arange(5), indexing="ij")  # one row per (annotator, prompt) cell
    reps = bootstrap.Replicates.two_way(ann.ravel(), prm.ravel(), resamples=50, seed=3)
    assert reps.weights.shape == (50, 35)
    # on a full grid, Σ_rows w = (Σ annotator counts)(Σ prompt counts) = 7 · 5 in every replicate
    assert np.allclose(reps.weights.sum(1), 35)
    w = reps.weights.reshape(50, 7, 5)  # rank one per replicate: w[a, p] = wa[a] · wp[p]
    assert np.allclose(w[:, :, :1] * w[:, :1, :], w * w[:, :1, :1])


def test_one_product_replicates_equal_per_group_ratio_replicates():
    rng = np.random.default_rng(2)
    n = 300
    ann, prm = rng.integers(30, size=n), rng.integers(12, size=n)
    codes = rng.integers(3, size=n)
    data = contract.EvalData(
        rng.integers(4, size=n), np.ones((n, 4), bool), ann, prompts=prm, groups={"g": codes.astype(str).astype(object)}
    )
    ev = contract.Evaluation(data, resamples=100, axes=("g",))
    v = ev.values(rng.normal(size=(n, 4)))
    reps = ev.replicates(v)
    for metric, (num, den) in ev._metric_inputs(v).items():
        direct = bootstrap.ratio_replicates(num, den, ev.reps)
        assert np.allclose(reps[metric]["overall"], direct, rtol=1e-5)
        for g in range(3):
            sel = codes == g
            direct = bootstrap.ratio_replicates(num[sel], den[sel], ev.reps.subset(sel))
            assert np.allclose(reps[metric]["g"][:, g], direct, rtol=1e-5, equal_nan=True)


def test_holm_adjusts_and_orders():
    out = bootstrap.holm({"a": 0.01, "b": 0.04, "c": 0.03})
    assert out["a"]["p_holm"] == pytest.approx(0.03)
    assert out["c"]["p_holm"] == pytest.approx(0.06) and out["b"]["p_holm"] == pytest.approx(0.06)
    assert out["a"]["significant"] and not out["b"]["significant"]


def test_js_distance_bounds():
    p = np.array([[1.0, 0, 0, 0]])
    assert distributional.js_distance(p, p)[0] == 0
    assert distributional.js_distance(p, np.array([[0, 1.0, 0, 0]]))[0] == pytest.approx(1.0)


def test_sets_qualify_by_distinct_annotators_not_by_rows():
    keys = np.array(["s"] * 12 + ["t"] * 10)
    ann = np.array([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4] + list(range(10, 20)))  # s: 12 rows, 4 annotators
    codes, n = distributional.qualifying_sets(keys, ann, 10)
    assert n == 1 and (codes[:12] == -1).all() and (codes[12:] == 0).all()


def test_distributional_fit_is_one_when_the_model_reproduces_the_shares():
    keys = np.array(["s"] * 10)
    chosen = np.array([0] * 5 + [1] * 3 + [3] * 2)
    probs = np.tile([0.5, 0.3, 0.0, 0.2], (10, 1))
    codes, n = distributional.qualifying_sets(keys, np.arange(10), 10)
    out = distributional.fit_summary(probs, chosen, codes, n, bootstrap.Replicates.two_way(np.arange(10), None, 200))
    assert out["sets"] == 1 and out["value"] == pytest.approx(1.0)
    assert out["ci_low"] <= 1.0 + 1e-9 and out["ci_high"] == pytest.approx(1.0)


def test_group_labels_and_missing():
    cols = {
        "annotator_country": np.array(["india", "france", None], dtype=object),
        "annotator_ethnicity": np.array(["Dravidian", None, "x"], dtype=object),
    }
    assert groups.group_labels(cols, "country").tolist() == ["india", "france", groups.MISSING]
    assert groups.group_labels(cols, "ethnicity_within_country").tolist() == [
        "india / Dravidian",
        groups.MISSING,
        groups.MISSING,
    ]


def _synthetic_data(n_ann=48, n_prompts=30, per=15, seed=0):
    rng = np.random.default_rng(seed)
    ann = np.repeat(np.arange(n_ann), per)
    prm = rng.integers(n_prompts, size=len(ann))
    country = np.where(ann % 4 == 0, "a", np.where(ann % 4 == 1, "b", np.where(ann % 4 == 2, "c", "d")))
    chosen = rng.integers(4, size=len(ann))
    data = contract.EvalData(
        chosen,
        np.ones((len(ann), 4), bool),
        ann,
        prompts=prm,
        groups={"country": country.astype(object)},
        set_keys=np.array([f"s{p}" for p in prm], dtype=object),
    )
    return data, rng


def test_summary_eligibility_counts_distinct_annotators():
    data, rng = _synthetic_data()
    labels = data.groups["country"].copy()
    labels[data.annotators < 2] = "tiny"  # 2 annotators, 30 comparisons: reported, not eligible
    data.groups["country"] = labels
    block, _ = contract.Evaluation(data, resamples=100).block(rng.normal(size=(len(data), 4)))
    axis = block.axes["country"]
    assert axis.groups["tiny"].n == 30 and not axis.groups["tiny"].eligible
    assert sorted(axis.eligible_groups) == ["a", "b", "c", "d"]
    vals = [axis.groups[g].top1_accuracy.value for g in axis.eligible_groups]
    assert axis.top1_accuracy.macro.value == pytest.approx(np.mean(vals))
    assert axis.top1_accuracy.gap.value == pytest.approx(max(vals) - min(vals))
    s = axis.top1_accuracy
    assert s.worst.ci_low <= s.worst.value <= s.worst.ci_high and s.gap.ci_low <= s.gap.value <= s.gap.ci_high


def test_oracle_expectation_replaces_sampled_choices():
    data, rng = _synthetic_data()
    truth = rng.dirichlet(np.ones(4), size=len(data))
    ev = contract.Evaluation(data, resamples=0)
    block, _ = ev.block(np.log(truth), "oracle", truth=truth)
    expected = truth[np.arange(len(data)), truth.argmax(1)].mean()
    assert block.expected and block.overall.top1_accuracy.value == pytest.approx(expected)
    ce = -(truth * np.log(truth)).sum(1).mean()  # expected NLL of the truth itself = its entropy
    assert block.overall.nll.value == pytest.approx(ce)


def test_paired_difference_of_a_scorer_with_itself_is_zero_and_not_significant():
    data, rng = _synthetic_data()
    s = rng.normal(size=(len(data), 4))
    res = contract.evaluate(
        data, {"model": contract.ScorerInput(s), "copy": contract.ScorerInput(s.copy())}, resamples=200
    )
    d = res.versus["copy"]
    assert d["overall"].difference.value == 0 and not d["overall"].significant
    assert all(not x.significant for x in d.values())


def test_agreement_is_symmetric_on_shared_comparisons_and_randomises_ties():
    a = {"x": np.array([1, 0, 0, 0.0]), "y": np.array([0, 1, 0, 0.0]), "z": np.array([0.5, 0.5, 0, 0])}
    b = {"x": np.array([1, 0, 0, 0.0]), "y": np.array([1, 0, 0, 0.0])}  # b never scored z
    out = contract.agreement({"A": a, "B": b})
    assert out["matrix"] == [[pytest.approx((1 + 1 + 0.5) / 3), 0.5], [0.5, 1.0]]
    assert out["shared"] == [[3, 2], [2, 2]] and out["mean_pairwise"] == 0.5


def test_pick_distribution_splits_ties():
    d = contract.pick_distribution(np.array([[1.0, 1.0, 0.0, nan]]), np.array([[1, 1, 1, 0]], bool))
    assert d.tolist() == [[0.5, 0.5, 0.0, 0.0]]


def test_pairwise_auc_is_half_for_ties_and_one_for_a_perfect_margin():
    data, rng = _synthetic_data()
    ev = contract.Evaluation(data, resamples=50)
    assert ev.values(np.zeros((len(data), 4))).auc.value == pytest.approx(0.5)
    perfect = np.eye(4)[data.chosen]
    auc = ev.values(perfect).auc
    assert auc.value == pytest.approx(1.0) and auc.ci_low == pytest.approx(1.0)


def test_monoculture_view_compares_models_distributions_with_the_votes():
    data, rng = _synthetic_data()
    data.set_keys = np.array(["s"] * len(data), dtype=object)  # one set judged by everybody
    shares = np.bincount(data.chosen, minlength=4) / len(data)
    matching = np.tile(np.log(shares), (len(data), 1))  # reproduces the vote shares
    uniform = np.zeros((len(data), 4))
    view = contract.monoculture_view(data, {"match": matching, "uniform": uniform, "copy": matching.copy()})
    d = view["distributions"]
    assert d["fit_to_votes"]["match"] == pytest.approx(1.0) and d["fit_to_votes"]["uniform"] < 1.0
    assert d["similarity"][0][2] == pytest.approx(1.0) and d["similarity"][0][1] == d["similarity"][1][0] < 1.0
    assert view["annotators"]["sets"] == 1 and view["models"]["matrix"][0][2] == pytest.approx(1.0)
