"""The individual track: episodes, the choice model, the contract's k-shot adaptation and its controls,
the submission layout, results/report/plot, features and the personalized model.

Most tests run on a small synthetic world with known per-annotator preferences (numpy only, no
dataset build); one runs the real evaluation path on the embedded sample; the slow test trains the
personalized model on the sample and checks the ground truth (gap to the individual oracle closed)."""

from __future__ import annotations

import dataclasses
import json
import os
import types

import numpy as np
import pytest

from community_alignment.metrics.choice_model import candidate_features, fit_map, length_feature, log_softmax
from community_alignment.metrics.contract import EvalData
from community_alignment.protocol.episodes import DESIGN, build_episodes
from community_alignment.protocol.individual import TRACK, individual_block
from community_alignment.protocol.submission import Submission, SubmissionError
from community_alignment.protocol.tracks import TRACKS
from community_alignment.protocol.truth import SplitTruth, Truth

# --- the choice model -------------------------------------------------------------------------


def _simulate_choices(rng, w, m, p=3):
    X = rng.normal(size=(len(w), m, 4, p))
    valid = np.ones((len(w), m, 4), dtype=bool)
    valid[:, ::7, 3] = False  # some comparisons with three candidates
    u = np.einsum("emjp,ep->emj", X, w)
    P = np.exp(log_softmax(u, valid))
    chosen = (rng.random((len(w), m, 1)) > P.cumsum(-1)).sum(-1).clip(0, 3)
    chosen = np.where(valid[np.arange(len(w))[:, None], np.arange(m)[None], chosen], chosen, 0)
    return X, valid, chosen


def test_fit_map_recovers_weights_batched_and_is_the_posterior_mode():
    rng = np.random.default_rng(0)
    w_true = np.array([[1.0, -0.5, 0.0], [-1.0, 0.8, 0.3], [0.2, 0.2, -1.2]])
    X, valid, chosen = _simulate_choices(rng, w_true, 3000)
    lam = 0.5 * np.eye(3)
    w = fit_map(X, valid, chosen, np.zeros(3), lam)
    assert np.abs(w - w_true).max() < 0.12
    # batched = one problem at a time
    for e in range(3):
        one = fit_map(X[e : e + 1], valid[e : e + 1], chosen[e : e + 1], np.zeros(3), lam)
        assert np.allclose(one[0], w[e], atol=1e-6)

    # the gradient of the negative log-posterior vanishes at the answer (finite differences)
    def objective(v, e=0):
        lp = log_softmax(X[e] @ v, valid[e])
        return -lp[np.arange(len(chosen[e])), chosen[e]].sum() + 0.5 * v @ lam @ v

    for j in range(3):
        h = np.zeros(3)
        h[j] = 1e-5
        assert abs(objective(w[0] + h) - objective(w[0] - h)) / 2e-5 < 1e-3
    # no data: the prior mean; strong prior: stays at it
    mu = np.array([0.3, 0.1, -0.2])
    assert np.allclose(fit_map(X[:, :0], valid[:, :0], chosen[:, :0], mu, lam), mu)
    assert np.abs(fit_map(X[:, :5], valid[:, :5], chosen[:, :5], mu, 1e8 * np.eye(3)) - mu).max() < 1e-6
    with pytest.raises(ValueError, match="chosen candidate is not valid"):
        bad = valid.copy()
        bad[0, 0, chosen[0, 0]] = False
        fit_map(X, bad, chosen, np.zeros(3), lam)


def test_candidate_features_standardise_length_within_the_set_and_mark_letters():
    lengths = np.array([[100, 100, 100, 100], [10, 100, 1000, np.nan]], dtype=float)
    present = np.array([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=bool)
    z = length_feature(lengths, present)
    assert np.allclose(z[0], 0.0)  # equal lengths → 0
    assert z[1, 0] < 0 < z[1, 2] and z[1, 3] == 0.0 and abs(z[1, :3].sum()) < 1e-9
    x, names = candidate_features(lengths, present, np.array([1, 3]), letters_by_turn=True)
    assert names[0] == "log_length_z" and len(names) == 13 and x.shape == (2, 4, 13)
    assert x[0, 1, names.index("turn1_letter_b")] == 1 and x[1, 2, names.index("turn3_letter_c")] == 1
    assert x[1, 3].sum() == 0 and x[:, 0, 1:].sum() == 0  # absent candidate and letter a (the reference)


# --- episodes ---------------------------------------------------------------------------------


def _rows(n_conversations: dict[int, int], seed: int = 0):
    """conversation_id, turn, annotator arrays: annotator → number of conversations (1–4 turns each)."""
    rng = np.random.default_rng(seed)
    conv, turn, ann = [], [], []
    next_id = 1000
    for a, n in n_conversations.items():
        for _ in range(n):
            t = int(rng.integers(1, 5))
            conv += [next_id] * t
            turn += list(range(1, t + 1))
            ann += [a] * t
            next_id += 1
    return np.array(conv), np.array(turn), np.array(ann)


def test_episodes_split_by_conversation_fixed_query_nested_supports_and_deterministic():
    conv, turn, ann = _rows({1: 60, 2: 5, 3: 2, 4: 25, 5: 1})
    informative = np.ones(len(conv), dtype=bool)
    informative[::11] = False
    ep = build_episodes(conv, turn, ann, informative)
    assert ep.design.draws == DESIGN.draws and ep.design.k_sweep == (0, 1, 4, 16, 64)
    for a, e in ep.annotators.items():
        mine = np.flatnonzero((ann == a) & informative)
        assert set(e.query) | set(e.pool) == set(mine) and not set(e.query) & set(e.pool)
        assert not set(conv[e.query]) & set(conv[e.pool])  # a conversation never straddles
        n_conv = len(np.unique(conv[mine]))
        assert len(np.unique(conv[e.query])) == int(np.ceil(n_conv * DESIGN.query_share))
        for d in range(ep.design.draws):
            order = e.orders[d]
            assert sorted(order) == sorted(e.pool)
            for k in (1, 4, 16):
                if k <= len(e.pool):
                    s = e.support(k, d)
                    assert len(s) == k and set(s) <= set(e.pool)
                    assert np.array_equal(s, order[:k])  # nested: a prefix of the draw's order
            # turns of a conversation keep their order within the support order
            for c in np.unique(conv[order]):
                assert np.all(np.diff(turn[order][conv[order] == c]) > 0)
    big = ep.annotators[1]
    assert len({tuple(big.support(16, d)) for d in range(ep.design.draws)}) > 1  # draws differ
    with pytest.raises(ValueError, match="support pool"):
        ep.annotators[2].support(64, 0)
    # too few: listed with their numbers, never silently dropped
    few = {x["annotator"]: x for x in ep.too_few}
    assert 3 in few and few[3]["query"] < DESIGN.min_query and "query set" in few[3]["reason"]
    assert few[3]["comparisons"] == int(((ann == 3) & informative).sum())
    assert set(few) | set(ep.annotators) == {1, 2, 3, 4, 5} and not set(few) & set(ep.annotators)
    if 5 in ep.annotators:  # one conversation of four turns: evaluated at k = 0 only
        assert len(ep.annotators[5].pool) == 0 and 5 not in ep.at(1)
    summary = ep.summary()
    assert summary["too_few"]["count"] == len(ep.too_few) and summary["per_k"]["0"]["annotators"] == len(ep.annotators)
    assert ep.at(64) == [1] and summary["per_k"]["64"]["pool_smaller_than_k"] == len(ep.annotators) - 1
    assert 2 in ep.at(1) and 2 not in ep.at(16)  # 5 conversations: ≤ 3 in the pool, ≤ 12 comparisons
    # the same episodes whatever the row order (everything is keyed by ids, hashed)
    perm = np.random.default_rng(1).permutation(len(conv))
    ep2 = build_episodes(conv[perm], turn[perm], ann[perm], informative[perm])
    for a, e in ep.annotators.items():
        e2 = ep2.annotators[a]
        key = lambda rows, c=conv, t=turn: sorted(zip(c[rows], t[rows]))  # noqa: E731
        assert key(e.query) == key(e2.query, conv[perm], turn[perm])
        assert list(zip(conv[e.orders[3]], turn[e.orders[3]])) == list(
            zip(conv[perm][e2.orders[3]], turn[perm][e2.orders[3]])
        )


def test_random_other_user_is_another_annotator_reaching_k_and_varies_by_draw():
    conv, turn, ann = _rows({a: 30 if a < 6 else 6 for a in range(10)})
    ep = build_episodes(conv, turn, ann)
    at16 = ep.at(16)
    assert 0 < len(at16) < len(ep.at(1))
    others = ep.others(16)
    for (a, _d), b in others.items():
        assert b != a and b in at16
    assert len({others[(at16[0], d)] for d in range(ep.design.draws)}) > 1
    assert others == ep.others(16)  # deterministic
    lonely = build_episodes(*_rows({7: 30}))
    assert lonely.others(4) == {(7, d): None for d in range(lonely.design.draws)}


# --- a synthetic world with known individual preferences ---------------------------------------


def _softmax(u, valid):
    return np.exp(log_softmax(u, valid))


def _world(seed=0, individual=True, n_test=30, n_val=24, conversations=24):
    """Comparisons of validation and test annotators. Candidate attribute a ~ N(0, 1); annotator u
    chooses by softmax(2 β_u · a + 0.4 · z(log length)); β_u ~ N(0.5, 1) (individual) or β_u = 0.5 for
    everybody. The submitted population score is a itself."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, n_ann, base in (("test", n_test, 0), ("validation", n_val, 500)):
        conv, turn, ann = _rows({base + i: conversations for i in range(n_ann)}, seed=seed + base)
        conv = conv + 10_000 * (base + 1)
        n = len(conv)
        beta = {a: (rng.normal(0.5, 1.0) if individual else 0.5) for a in np.unique(ann)}
        attr = rng.normal(size=(n, 4))
        present = np.ones((n, 4), dtype=bool)
        present[::9, 3] = False
        lengths = np.where(present, rng.lognormal(5, 0.4, size=(n, 4)), np.nan)
        z = length_feature(lengths, present)

        def utilities(b, attr=attr, z=z):
            return 2 * b[:, None] * attr + 0.4 * z

        p_true = _softmax(utilities(np.array([beta[a] for a in ann])), present)
        chosen = (rng.random((n, 1)) > p_true.cumsum(1)).sum(1).clip(0, 3)
        chosen = np.where(present[np.arange(n), chosen], chosen, 0)
        country = np.array(["north" if a % 2 else "south" for a in ann], dtype=object)
        data = EvalData(
            chosen,
            present,
            ann,
            prompts=conv.astype(str),
            groups={"country": country, "language": np.array(["en"] * n, dtype=object)},
            ids=np.array([f"{c}-{t}" for c, t in zip(conv, turn)], dtype=object),
        )
        split = SplitTruth(conv, turn, data, lengths, np.array(["en"] * n, dtype=object))
        out[name] = dict(split=split, beta=beta, attr=attr, z=z, p_true=p_true, utilities=utilities)
    t = out["test"]
    pooled = _softmax(t["utilities"](np.full(len(t["attr"]), 0.5)), t["split"].data.present)
    oracle = {
        "p_true": t["p_true"],
        "p_letter_blind": t["p_true"],
        "p_country": pooled,
        "p_language": pooled,
        "p_pooled": pooled,
    }
    fp = "ab" * 32
    protocol = {
        "id": f"ca-v2/{TRACK}/sample/annotator/{fp[:16]}",
        "version": 2,
        "track": TRACK,
        "ranked": True,
        "dataset": {
            "source": "sample",
            "revision": None,
            "synthetic": True,
            "split_by": "annotator",
            "split": "test",
            "fingerprint": fp,
        },
    }
    truth = Truth(
        TRACKS[TRACK],
        protocol,
        t["split"],
        out["validation"]["split"],
        np.ones(4, int),
        np.zeros(4, int),
        oracle,
        {7: "train"},
    )
    return truth, out


def _submission(truth, out, native=None, drop=None, extra_rows=None):
    """A track submission: population rows = the attribute (NaN where absent), plus k-shot rows."""
    t, v = truth.test, truth.validation
    conv = [t.conversation_id, v.conversation_id]
    turn = [t.turn, v.turn]
    sc = [
        np.where(t.data.present, out["test"]["attr"], np.nan),
        np.where(v.data.present, out["validation"]["attr"], np.nan),
    ]
    k = [np.zeros(len(t.turn) + len(v.turn), dtype=np.int64)]
    d, c = [k[0]], [k[0]]
    for rows, scores, kk, dd, cc in native or []:
        conv.append(t.conversation_id[rows])
        turn.append(t.turn[rows])
        sc.append(scores)
        k.append(np.full(len(rows), kk))
        d.append(np.full(len(rows), dd))
        c.append(np.full(len(rows), cc))
    for rows in extra_rows or []:
        conv.append(t.conversation_id[rows[0]])
        turn.append(t.turn[rows[0]])
        sc.append(np.where(t.data.present[rows[0]], 0.0, np.nan))
        k.append(np.array(rows[1]))
        d.append(np.array(rows[2]))
        c.append(np.array(rows[3]))
    cols = [np.concatenate(x) for x in (conv, turn, sc, k, d, c)]
    if drop is not None:
        keep = np.ones(len(cols[0]), dtype=bool)
        keep[drop] = False
        cols = [x[keep] for x in cols]
    meta = {"model": {"temperature": 1.0}, "protocol": truth.protocol}
    return Submission(
        "sub.parquet", cols[0], cols[1], cols[2], meta, "0" * 64, {"k": cols[3], "draw": cols[4], "control": cols[5]}
    )


def _perfect_native(truth, out):
    """k-shot rows of a perfect personalizer: the annotator's true utilities (own support) and the
    random other user's true utilities (control)."""
    t = truth.test
    ep = build_episodes(t.conversation_id, t.turn, t.data.annotators, t.data.informative)
    beta, util = out["test"]["beta"], out["test"]["utilities"]
    rows = []
    for k in (1, 4, 16):
        others = ep.others(k)
        for a in ep.at(k):
            q = ep.annotators[a].query
            for d in range(ep.design.draws):
                rows.append((q, np.where(t.data.present[q], util(np.full(len(t.turn), beta[a]))[q], np.nan), k, d, 0))
                b = others[(a, d)]
                rows.append((q, np.where(t.data.present[q], util(np.full(len(t.turn), beta[b]))[q], np.nan), k, d, 1))
    return rows


def test_adaptation_finds_individual_preferences_and_beats_the_random_other_user():
    truth, out = _world(individual=True)
    block = individual_block(_submission(truth, out), truth, resamples=300, seed=0)
    assert block.setting == "unseen" and block.track == TRACK
    tun = block.tuning["adapted"]
    assert tun["fitted_on_annotators"] == 24 and tun["pooled_weights"]["score"] > 0  # fitted on validation
    for view in ("observed", "expected"):
        c = block.views[view]["adapted"]
        p16 = c.points["16"]
        assert p16.vs_population["top1"].difference.value > 0.05 and p16.vs_population["top1"].significant
        assert p16.vs_random_other["top1"].difference.value > 0.05 and p16.vs_random_other["top1"].significant
        assert p16.counts and p16.vs_population["nll"].difference.value > 0
        assert 0 < p16.gap_closed.value < 1 and p16.gap_p < 0.05
        assert c.points["16"].top1.mean.value > c.points["1"].top1.mean.value  # the curve rises with k
        assert set(c.by_group["country"]) == {"north", "south"}
    assert block.headline["method"] == "adapted" and block.headline["view"] == "expected" and block.headline["counts"]


def test_no_individual_signal_no_gain_that_counts():
    """Everybody shares one preference: personalization can only fit noise; the adapted curve does not
    beat the random-other-user control and the gains stay near zero."""
    truth, out = _world(individual=False, seed=3)
    block = individual_block(_submission(truth, out), truth, resamples=300, seed=0)
    for view in ("observed", "expected"):
        for k, p in block.views[view]["adapted"].points.items():
            if k == "0":
                continue
            assert not p.counts, (view, k)
            assert abs(p.vs_random_other["top1"].difference.value) < 0.03
            assert p.vs_population["top1"].difference.value < 0.02


def test_native_kshot_rows_a_perfect_personalizer_closes_the_whole_gap():
    truth, out = _world(individual=True, seed=1)
    sub = _submission(truth, out, native=_perfect_native(truth, out))
    block = individual_block(sub, truth, resamples=200, seed=0)
    assert set(block.views["expected"]) == {"adapted", "native"} and block.headline["method"] == "native"
    nat = block.views["expected"]["native"]
    for k in ("1", "4", "16"):
        p = nat.points[k]
        # own support = the annotator's true probabilities: exactly the individual oracle, whatever k
        assert p.top1.mean.value == pytest.approx(p.references["oracle_individual"]["top1"], abs=1e-9)
        assert p.gap_closed.value == pytest.approx(1.0, abs=1e-9)
        assert p.counts and p.other_top1.value < p.top1.mean.value
    assert nat.points["64"].annotators == 0 if "64" in nat.points else True


@pytest.mark.parametrize(
    "mutation, message",
    [
        ("drop_validation", "validation comparison(s) have no population row"),
        ("drop_kshot", "k-shot row(s) missing"),
        ("support_row", "not a query comparison"),
        ("bad_k", "k must be one of"),
        ("bad_draw", "draw must be in"),
        ("population_draw", "population rows (k = 0) must have draw = 0"),
        ("duplicate", "duplicate population rows"),
        ("outside", "found in: train"),
        ("nan", "NaN or ±inf on a present candidate"),
    ],
)
def test_submission_layout_problems_are_named(mutation, message):
    truth, out = _world(individual=True, seed=2, n_test=8, n_val=6, conversations=12)
    t = truth.test
    native = _perfect_native(truth, out)
    ep = build_episodes(t.conversation_id, t.turn, t.data.annotators, t.data.informative)
    a = ep.at(4)[0]
    n_pop = len(t.turn) + len(truth.validation.turn)
    kwargs = {"native": native}
    if mutation == "drop_validation":
        kwargs["drop"] = [len(t.turn) + 3]
    elif mutation == "drop_kshot":
        kwargs["drop"] = [n_pop + 2]
    elif mutation == "support_row":
        kwargs["extra_rows"] = [(ep.annotators[a].pool[:1], [4], [0], [0])]
    elif mutation == "bad_k":
        kwargs["extra_rows"] = [(ep.annotators[a].query[:1], [5], [0], [0])]
    elif mutation == "bad_draw":
        kwargs["extra_rows"] = [(ep.annotators[a].query[:1], [4], [DESIGN.draws], [0])]
    elif mutation == "population_draw":
        kwargs["extra_rows"] = [(ep.annotators[a].query[:1], [0], [1], [0])]
    elif mutation == "duplicate":
        kwargs["extra_rows"] = [(ep.annotators[a].query[:1], [0], [0], [0])]
    sub = _submission(truth, out, **kwargs)
    if mutation == "outside":
        sub.conversation_id[0] = 7  # a train conversation
    if mutation == "nan":
        row = np.flatnonzero(t.data.present[:, 0])[0]
        sub.scores[row, 0] = np.nan
    with pytest.raises(SubmissionError) as e:
        individual_block(sub, truth, resamples=0)
    assert message in str(e.value)


def _main_track_submission(truth, out, extra: dict):
    """(the truth relabelled as track `main`, a submission of the world's attribute scores on it)."""
    main = dataclasses.replace(truth, track=TRACKS["main"], protocol={**truth.protocol, "track": "main"})
    t = truth.test
    sub = Submission(
        "main.parquet",
        t.conversation_id,
        t.turn,
        np.where(t.data.present, out["test"]["attr"], np.nan),
        {"model": {"temperature": 1.0}, "protocol": main.protocol},
        "0" * 64,
        extra,
    )
    return main, sub


def test_seen_view_cross_fits_on_a_main_track_submission():
    truth, out = _world(individual=True, seed=4, n_test=40)
    main, sub = _main_track_submission(truth, out, {})
    block = individual_block(sub, main, resamples=200)
    assert block.setting == "seen" and set(block.tuning["adapted"]) == {"fitted_on", "half_0", "half_1"}
    halves = [block.tuning["adapted"][f"half_{f}"]["fitted_on_annotators"] for f in (0, 1)]
    assert sum(halves) == block.annotators["evaluated"]
    assert block.views["expected"]["adapted"].points["16"].vs_population["top1"].difference.value > 0.03


def test_results_with_the_block_validate_render_and_round_trip(tmp_path):
    from community_alignment.metrics.contract import ScorerInput, evaluate
    from community_alignment.protocol.evaluate import write_evaluation
    from community_alignment.results.io import read_results
    from community_alignment.results.report import individual_headline
    from community_alignment.results.types import individual_of

    truth, out = _world(individual=True, seed=5)
    block = individual_block(_submission(truth, out, native=_perfect_native(truth, out)), truth, resamples=100)
    t = truth.test
    meta = {"model": {"name": "org/m", "method": "personalized", "temperature": 1.0}, "sha256": "0" * 64}
    results = evaluate(
        t.data,
        {"model": ScorerInput(np.where(t.data.present, out["test"]["attr"], np.nan))},
        truth.protocol,
        meta,
        resamples=50,
    )
    results.extras["individual"] = block
    written = write_evaluation(results, str(tmp_path))  # validates against schema v2
    assert os.path.exists(tmp_path / "plots" / "kshot.png") and written["kshot"] == "plots/kshot.png"
    report = (tmp_path / "report.md").read_text()
    assert "Few-shot personalization: unseen annotators" in report and "plots/kshot.png" in report
    back = individual_of(read_results(str(tmp_path / "results.json")))
    assert back.headline["gap_closed"]["value"] == pytest.approx(block.headline["gap_closed"]["value"])
    p, q = back.views["expected"]["native"].points["16"], block.views["expected"]["native"].points["16"]
    assert p.top1.mean.value == pytest.approx(q.top1.mean.value) and p.vs_random_other["top1"].p == pytest.approx(
        q.vs_random_other["top1"].p
    )
    assert "gap to the individual oracle closed 100.0" in individual_headline(back)
    data = json.loads((tmp_path / "results.json").read_text())
    data["extras"]["individual"]["setting"] = "somewhere"
    from community_alignment.results.io import schema_errors

    assert any("setting" in path for path, _ in schema_errors(data))


# --- features and the personalized model -------------------------------------------------------


def test_hashing_features_are_deterministic_and_the_cache_is_reused(tmp_path):
    from community_alignment.models.features import HashingFeatures, embed_texts, text_key

    h = HashingFeatures(64)
    a = h.transform(["The same words", "the SAME words", "other text entirely"])
    assert a.shape == (3, 64) and np.array_equal(a[0], a[1]) and not np.array_equal(a[0], a[2])
    # a text whose SHA-256 ends in a zero byte (numpy's bytes dtype would strip it)
    zero_tail = next(f"text {i}" for i in range(5000) if text_key(f"text {i}")[-1] == 0)
    texts = ["alpha beta", zero_tail, "alpha beta", "gamma"]
    calls = []

    class Counting(HashingFeatures):
        def transform(self, xs):
            calls.append(len(xs))
            return super().transform(xs)

    c = Counting(64)
    first = embed_texts(c, texts, str(tmp_path))
    second = embed_texts(c, texts[::-1], str(tmp_path))
    assert calls == [3] and np.array_equal(first[::-1], second)  # distinct texts once; then all from the cache
    assert os.listdir(tmp_path) == ["hashing-64.npz"]


def test_minilm_features_load_offline_and_read_meaning():
    from community_alignment.models.features import MiniLMFeatures

    v = MiniLMFeatures(max_length=32).transform(
        [
            "Children should obey their parents.",
            "Kids ought to respect what their parents say.",
            "The stock market fell.",
        ]
    )
    assert v.shape == (3, 384) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2


def _phi_world(seed=0, users=60, per_user=60, d=6):
    """Candidate features φ; user u prefers φ·(b + V w_u) with a rank-2 user part."""
    from community_alignment.scoring.personalized import ChoiceData

    rng = np.random.default_rng(seed)
    b = rng.normal(size=d) * 0.5
    V = np.zeros((d, 2))
    V[0, 0] = V[1, 1] = 2.0
    n = users * per_user
    ann = np.repeat(np.arange(users), per_user)
    w = rng.normal(size=(users, 2))
    phi = rng.normal(size=(n, 4, d))
    u = phi @ b + np.einsum("njk,nk->nj", phi @ V, w[ann])
    valid = np.ones((n, 4), dtype=bool)
    chosen = (rng.random((n, 1)) > _softmax(u, valid).cumsum(1)).sum(1).clip(0, 3)
    return ChoiceData(phi, np.zeros((n, 4, 1)), valid, valid.copy(), chosen, ann), w


def test_personalized_model_learns_the_user_basis_and_new_users_from_few_shots(tmp_path):
    from community_alignment.metrics.accuracy import nll
    from community_alignment.scoring.personalized import LowRankPersonalizedModel, PersonalizedConfig

    train, _ = _phi_world(0)
    model = LowRankPersonalizedModel(PersonalizedConfig(rank=2, max_iter=300, ridge=1e-3)).fit(train)
    new, _ = _phi_world(1, users=20)
    pop_nll, own_nll, other_nll = [], [], []
    for a in range(20):
        rows = np.flatnonzero(new.annotators == a)
        sup, q = rows[:16], rows[16:]
        other = np.flatnonzero(new.annotators == (a + 1) % 20)[:16]
        w = model.user_weights(new, [sup, other])
        for store, weights in ((pop_nll, None), (own_nll, w[0]), (other_nll, w[1])):
            store.append(nll(model.utilities(new, q, weights), new.chosen[q], new.valid[q]).mean())
    assert np.mean(own_nll) < np.mean(pop_nll) - 0.05 and np.mean(own_nll) < np.mean(other_nll) - 0.05
    assert np.allclose(model.user_weights(new, [np.zeros(0, int)])[0], model.w_mean)
    model.prior_scale = 2.0
    back = LowRankPersonalizedModel.load(model.save(str(tmp_path)))
    rows = np.arange(50)
    assert back.prior_scale == 2.0 and np.allclose(back.utilities(new, rows), model.utilities(new, rows))


def test_track_arguments_are_checked():
    from community_alignment.pipeline.config import BenchmarkArguments

    assert BenchmarkArguments(track="unseen_annotators").split_by == "annotator"
    with pytest.raises(ValueError, match="personalized runs on --track unseen_annotators"):
        BenchmarkArguments(method="personalized")
    with pytest.raises(ValueError, match="no --max_eval_comparisons"):
        BenchmarkArguments(track="unseen_annotators", max_eval_comparisons=100)
    with pytest.raises(ValueError, match="--conditioning must be none"):
        BenchmarkArguments(track="unseen_annotators", method="personalized", conditioning="country")


# --- the real evaluation path on the embedded sample -------------------------------------------


def _sample_submission(path, truth, k_column=True):
    from community_alignment.protocol.references import length_scores
    from community_alignment.protocol.submission import build_metadata, write_submission

    t, v = truth.test, truth.validation
    conv = np.concatenate([t.conversation_id, v.conversation_id])
    turn = np.concatenate([t.turn, v.turn])
    model = dict(
        name="org/length",
        base_model=None,
        revision=None,
        base_revision=None,
        weights_sha256=None,
        method="other",
        conditioning="none",
        ref_model=None,
        beta=None,
        dtype="none",
        max_length=None,
        temperature=150.0,
        chat_template_hash=None,
    )
    zeros = np.zeros(len(conv), dtype=np.int64)
    extra = {"k": zeros, "draw": zeros, "control": zeros} if k_column else None
    scores = np.concatenate([length_scores(t), length_scores(v)])
    return write_submission(str(path), conv, turn, scores, build_metadata(truth.protocol, model), extra)


def test_evaluate_an_unseen_annotators_submission_of_the_sample(hf_env, tmp_path):
    from community_alignment.protocol.evaluate import evaluate_submission, write_evaluation
    from community_alignment.protocol.truth import load_truth
    from community_alignment.results.types import individual_of

    truth = load_truth(TRACK)
    assert truth.protocol["dataset"]["split_by"] == "annotator" and truth.oracle
    path = _sample_submission(tmp_path / "submission.parquet", truth)
    results = evaluate_submission(path, resamples=100)
    assert results.protocol["track"] == TRACK and results.model.overall.n == len(truth.test.turn)
    block = individual_of(results)
    assert block.annotators["evaluated"] + block.annotators["too_few"]["count"] == len(
        np.unique(truth.test.data.annotators)
    )
    assert block.tuning["adapted"]["fitted_on_annotators"] == len(np.unique(truth.validation.data.annotators)) - len(
        block.tuning["adapted"]["validation_annotators"]["too_few"]["annotators"]
    )
    # the length scorer carries no individual signal on the sample: nothing that counts
    assert not any(p.counts for p in block.views["expected"]["adapted"].points.values())
    assert block.views["expected"]["adapted"].points["16"].references["oracle_individual"]["top1"] > 0.6
    write_evaluation(results, str(tmp_path / "eval"))
    assert "Few-shot personalization" in (tmp_path / "eval" / "report.md").read_text()


def test_population_rows_without_kshot_columns_and_kshot_columns_outside_the_track():
    from community_alignment.protocol.evaluate import evaluate_submission

    truth, out = _world(individual=True, seed=6, n_test=10, n_val=8, conversations=10)
    with_columns = _submission(truth, out)
    plain = dataclasses.replace(with_columns, extra={})
    a = individual_block(with_columns, truth, resamples=50)
    b = individual_block(plain, truth, resamples=50)
    assert a.headline == b.headline  # no k/draw/control columns = population rows only
    main, sub = _main_track_submission(truth, out, {"k": np.zeros(len(truth.test.turn), dtype=np.int64)})
    with pytest.raises(SubmissionError, match="k-shot columns belong to track 'unseen_annotators', not 'main'"):
        evaluate_submission(sub, truth=main, resamples=0)


# --- the ground truth on the sample (slow) ----------------------------------------------------


@pytest.mark.slow
def test_personalized_model_closes_part_of_the_gap_to_the_individual_oracle_on_unseen_annotators(hf_env, tmp_path):
    """The sample's generator gives each annotator an ideal point: the individual oracle sits above the
    country and language oracles. The personalized model (hashing features, the cheap extractor) at
    k = 16 must close a measurable part of the gap between its population model (k = 0) and the
    individual oracle on the test annotators, paired over annotators, and beat the random-other-user
    control. Measured (docs/benchmark.md): gap closed ≈ 0.6 with a 95% CI of about [0.4, 0.8],
    p ≈ 0.001 on 18 annotators; the margins below (CI low > 0.15, gain CI low > 0) sit well inside."""
    from community_alignment.pipeline.config import BenchmarkArguments
    from community_alignment.pipeline.individual import run_individual
    from community_alignment.results.types import individual_of

    b = BenchmarkArguments(
        track="unseen_annotators",
        method="personalized",
        features="hashing",
        runs_dir=str(tmp_path),
        name="personalized",
        bootstrap_resamples=1000,
    )
    results = run_individual(b, types.SimpleNamespace(seed=0))
    h = individual_of(results).headline
    assert h["method"] == "native" and h["view"] == "expected" and h["k"] == 16 and h["annotators"] >= 15
    assert h["gap_closed"]["value"] > 0.3 and h["gap_closed"]["ci_low"] > 0.15 and h["gap_p"] < 0.01
    assert h["gain"]["ci_low"] > 0 and h["gain_vs_random_other"]["ci_low"] > 0 and h["counts"]
    observed = individual_of(results).views["observed"]["native"].points["16"]
    assert observed.vs_population["top1"].difference.ci_low > 0 and observed.counts
    assert h["oracle_individual"] > h["top1"] > h["top1_population"]
