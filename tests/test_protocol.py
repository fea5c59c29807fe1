"""Protocol v2 as a user meets it: submission.parquet, `community-alignment evaluate`, tracks, the NaN
policy, and one contract behind every path (pipeline, evaluate CLI, `evaluate` metric, monoculture)."""

import json
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import cheap_model, subprocess_env

from community_alignment.protocol import submission as S

MODEL = cheap_model("org/length-model")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("proto")
    values = {"HF_HOME": str(root / "home"), "HF_DATASETS_CACHE": str(root / "cache"), "HF_HUB_OFFLINE": "1"}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in values.items():
            mp.setenv(k, v)
        import datasets.config

        mp.setattr(datasets.config, "HF_DATASETS_CACHE", values["HF_DATASETS_CACHE"])
        yield root, values


@pytest.fixture(scope="module")
def length_run(env):
    """A real pipeline run on the whole test split with a cheap model (the length scorer)."""
    from community_alignment.pipeline.config import BenchmarkArguments
    from community_alignment.pipeline.run import score_and_evaluate
    from community_alignment.scoring.baselines import LengthScorer

    root, _ = env
    b = BenchmarkArguments(name="len", runs_dir=str(root / "runs"), bootstrap_resamples=200)
    results = score_and_evaluate(b, LengthScorer(), {**MODEL}, None, 0)
    return root / "runs" / "len", results


def test_a_run_writes_a_submission_and_results_from_it(length_run):
    run, results = length_run
    sub = S.read_submission(str(run / "submission.parquet"))
    meta = sub.metadata
    assert meta["protocol"]["track"] == "main" and meta["protocol"]["id"] == results.protocol["id"]
    assert meta["protocol"]["id"].startswith("ca-v2/main/sample/prompt/")
    assert meta["model"]["name"] == "org/length-model" and meta["model"]["temperature"] > 0
    assert results.protocol["ranked"] and results.protocol["comparisons"] == len(sub) == 732  # the whole split
    assert set(results.scorers) >= {
        "model",
        "random",
        "length",
        "position_prior",
        "oracle_individual",
        "oracle_language",
    }
    # the model IS the length scorer (temperature fitted on validation by the run): identical accuracy
    assert results.model.overall.top1_accuracy.value == results.scorers["length"].overall.top1_accuracy.value
    r = results.scorers["random"].overall
    assert r.pairwise_accuracy.value == 0.5 and r.pairwise_auc.value == 0.5  # an expectation, not a draw
    o = results.scorers["oracle_individual"]
    assert o.expected and 0.68 < o.overall.top1_accuracy.value < 0.76
    saved = json.loads((run / "results.json").read_text())
    assert saved["schema_version"] == 2 and saved["submission"]["sha256"] == sub.sha256
    report = (run / "report.md").read_text()
    assert "Synthetic data" in report and "oracle\\_individual" in report and "Noise floor" in report


def test_evaluate_cli_reproduces_the_run_exactly(length_run, env, tmp_path):
    run, _ = length_run
    _, values = env
    out = subprocess.run(
        [sys.executable, "-m", "community_alignment.cli", "evaluate", str(run / "submission.parquet"), "--out",
         str(tmp_path / "ev"), "--bootstrap-resamples", "200"],
        env=subprocess_env(values), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    a = json.loads((run / "results.json").read_text())
    b = json.loads((tmp_path / "ev" / "results.json").read_text())
    a.pop("wall_time_s"), b.pop("wall_time_s")
    assert a == b
    assert "headline (top-1 accuracy, macro over countries)" in out.stdout


def _rewrite(src, dst, mutate_table=None, mutate_meta=None):
    t = pq.read_table(src)
    meta = json.loads(t.schema.metadata[S.METADATA_KEY])
    if mutate_meta:
        mutate_meta(meta)
    if mutate_table:
        t = mutate_table(t)
    t = t.replace_schema_metadata({S.METADATA_KEY: json.dumps(meta).encode()})
    pq.write_table(t, dst)
    return str(dst)


def _set_score(t, row, col, value):
    arr = t.column(col).to_numpy(zero_copy_only=False).copy()
    arr[row] = value
    return t.set_column(t.schema.get_field_index(col), col, pa.array(arr, pa.float64()))


@pytest.mark.parametrize(
    "case,table,meta,expect",
    [
        ("nan on a present candidate", lambda t: _set_score(t, 5, "score_b", np.nan), None, "NaN or ±inf on a present candidate"),
        ("inf", lambda t: _set_score(t, 7, "score_a", np.inf), None, "NaN or ±inf"),
        ("missing rows", lambda t: t.slice(0, 700), None, "32 test comparison(s) missing"),
        ("duplicate rows", lambda t: pa.concat_tables([t, t.slice(0, 2)]), None, "duplicate comparisons"),
        ("wrong fingerprint", None, lambda m: m["protocol"]["dataset"].update(fingerprint="a" * 64), "/protocol/id"),
        ("relabelled real data", None, lambda m: m["protocol"]["dataset"].update(source="hub", synthetic=False), "/protocol/id"),
        ("sample called real", None, lambda m: m["protocol"]["dataset"].update(synthetic=False), "contradictory"),
        ("model name escapes", None, lambda m: m["model"].update(name="org/../../x"), "/model/name"),
        ("newline in a name", None, lambda m: m["model"].update(name="org/x\n"), "/model/name"),
        ("unknown method", None, lambda m: m["model"].update(method="magic"), "/model/method"),
        ("no temperature", None, lambda m: m["model"].pop("temperature"), "/model/temperature: missing"),
        ("subsample claims main", None, lambda m: m["evaluation"].update(subsample=100), "belongs to track 'smoke'"),
    ],
)  # fmt: skip
def test_bad_submissions_are_refused_with_their_location(length_run, tmp_path, case, table, meta, expect):
    from community_alignment.protocol.evaluate import evaluate_submission

    run, _ = length_run
    bad = _rewrite(run / "submission.parquet", tmp_path / "bad.parquet", table, meta)
    with pytest.raises(S.SubmissionError) as err:
        evaluate_submission(bad, resamples=0)
    assert expect in str(err.value), str(err.value)


def test_scores_of_train_ids_and_absent_candidates_are_refused(length_run, tmp_path):
    from community_alignment.protocol.evaluate import evaluate_submission
    from community_alignment.protocol.truth import load_truth

    run, _ = length_run
    truth = load_truth("main")
    train_id = next(c for c, where in truth.outside.items() if where == "train")
    absent = np.flatnonzero(~truth.test.data.present.all(1))
    assert len(absent)  # the sample has empty candidate cells

    def swap_in_train(t):
        conv = t.column("conversation_id").to_numpy().copy()
        conv[0] = train_id
        return t.set_column(0, "conversation_id", pa.array(conv))

    bad = _rewrite(run / "submission.parquet", tmp_path / "train.parquet", swap_in_train)
    with pytest.raises(S.SubmissionError, match=r"found in: train"):
        evaluate_submission(bad, truth=truth, resamples=0)
    sub = S.read_submission(str(run / "submission.parquet"))
    row = int(
        np.flatnonzero(
            (sub.conversation_id == truth.test.conversation_id[absent[0]]) & (sub.turn == truth.test.turn[absent[0]])
        )[0]
    )
    col = f"score_{'abcd'[int(np.flatnonzero(~truth.test.data.present[absent[0]])[0])]}"
    bad = _rewrite(run / "submission.parquet", tmp_path / "absent.parquet", lambda t: _set_score(t, row, col, 1.0))
    with pytest.raises(S.SubmissionError, match="candidate is absent"):
        evaluate_submission(bad, truth=truth, resamples=0)


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        b'{"a": 1, "a": 2}',
        b'{"x": NaN}',
        b"[" * 10000 + b"]" * 10000,
        b'{"a":' * 50 + b"1" + b"}" * 50,
    ],
)
def test_hostile_metadata_is_a_problem_not_a_traceback(raw):
    data, problems = S.parse_metadata(raw)
    assert data is None and problems and problems[0].where == "(metadata)"


def test_a_smoke_run_is_labelled_and_never_ranked(env):
    from community_alignment.pipeline.config import BenchmarkArguments
    from community_alignment.pipeline.run import score_and_evaluate
    from community_alignment.scoring.baselines import LengthScorer

    root, _ = env
    b = BenchmarkArguments(name="smoke", runs_dir=str(root / "runs"), max_eval_comparisons=120, bootstrap_resamples=0)
    assert b.evaluated_track == "smoke"
    results = score_and_evaluate(b, LengthScorer(), {**MODEL}, None, 0)
    assert results.protocol["track"] == "smoke" and not results.protocol["ranked"]
    assert results.protocol["id"].startswith("ca-v2/smoke/") and results.protocol["comparisons"] == 120
    assert BenchmarkArguments(languages=["en"], track="en").evaluated_track == "en"
    assert BenchmarkArguments(languages=["en"]).evaluated_track == "smoke"


def test_the_same_scores_give_identical_numbers_through_every_path(length_run):
    """pipeline (results.json) = evaluate CLI (tested above) = the `evaluate` metric = monoculture."""
    import evaluate

    import community_alignment.evaluate_metric as em
    from community_alignment.analysis.monoculture import model_view
    from community_alignment.metrics import contract
    from community_alignment.protocol.truth import load_truth

    run, results = length_run
    truth = load_truth("main")
    sub = S.read_submission(str(run / "submission.parquet"))
    idx = truth.index()
    order = np.array([idx[(c, t)] for c, t in zip(sub.conversation_id, sub.turn)])
    scores = np.empty_like(sub.scores)
    scores[order] = sub.scores
    d = truth.test.data
    cands = [[("x" if p else None) for p in row] for row in d.present]
    for i in range(len(cands)):  # same-text structure of the real candidates, in placeholder texts
        for j in range(4):
            for k in range(j):
                if d.same_text[i, j, k]:
                    cands[i][j] = cands[i][k]
            if cands[i][j] == "x":
                cands[i][j] = f"t{j}"
    out = evaluate.load(em.PATH).compute(
        predictions=scores.tolist(),
        references=d.chosen.tolist(),
        annotators=d.annotators.tolist(),
        prompts=list(d.prompts),
        groups={"country": list(d.groups["country"])},
        candidates=cands,
        set_keys=list(d.set_keys),
        temperature=sub.metadata["model"]["temperature"],
        resamples=200,
        seed=0,
    )
    m = results.model
    assert out["top1_accuracy"] == m.overall.top1_accuracy.value
    assert (out["top1_accuracy_ci_low"], out["top1_accuracy_ci_high"]) == (
        m.overall.top1_accuracy.ci_low,
        m.overall.top1_accuracy.ci_high,
    )
    assert out["nll"] == m.overall.nll.value and out["pairwise_auc"] == m.overall.pairwise_auc.value
    assert out["country_macro"] == m.axes["country"].top1_accuracy.macro.value
    assert out["country_gap_ci_high"] == m.axes["country"].top1_accuracy.gap.ci_high
    assert out["distributional_fit"] == m.distributional.fit.value
    view = model_view([str(run / "submission.parquet"), str(run / "submission.parquet")])
    direct = contract.monoculture_view(d, {"a": scores})
    assert view["annotators"] == direct["annotators"]
    assert next(iter(view["model_matches_annotators"].values())) == direct["model_matches_annotators"]["a"]


def test_pluralism_comparison_pairs_arms_and_seeds(length_run, env, tmp_path):
    """The experiment's analysis on cheap 'arms' (two scorers × two 'seeds'): paired contrasts with
    CIs, the language-aware pooled oracle beside them, a conclusion whatever it is."""
    from community_alignment.pipeline.compare import compare
    from community_alignment.pipeline.config import BenchmarkArguments
    from community_alignment.pipeline.run import score_and_evaluate
    from community_alignment.protocol.truth import load_truth
    from community_alignment.results.io import clean_json
    from community_alignment.scoring.baselines import LengthScorer, PositionPriorScorer

    truth = load_truth("main")
    arms = {"pooled": [], "country": []}
    for arm, scorer in (
        ("pooled", LengthScorer()),
        ("country", PositionPriorScorer(truth.train_turn, truth.train_chosen)),
    ):
        for seed in (0, 1):
            b = BenchmarkArguments(
                name=f"{arm}{seed}", runs_dir=str(tmp_path), bootstrap_resamples=0, max_val_comparisons=40
            )
            score_and_evaluate(b, scorer, {**MODEL, "name": f"org/{arm}"}, {"seed": seed}, seed)
            arms[arm].append(str(tmp_path / f"{arm}{seed}"))
    out = compare(arms, str(tmp_path / "pl" / "report.md"), resamples=200)
    c = out["contrasts"]["country − pooled"]["worst"]
    w = lambda arm: np.mean([s["points"]["worst"] for s in out["arms"][arm]])  # noqa: E731
    assert c["difference"] == pytest.approx(w("country") - w("pooled"))
    assert c["ci_low"] <= c["difference"] <= c["ci_high"] and 0 < c["p"] <= 1
    assert c["per_seed"][0] == c["per_seed"][1]  # the cheap arms are deterministic: seeds agree
    assert "oracle_language" in out["references"]
    fit = out["contrasts"]["country − pooled"]["fit / india"]  # distributional fit per country, paired
    assert fit["ci_low"] <= fit["difference"] <= fit["ci_high"] and "p_holm" in fit
    report = (tmp_path / "pl" / "report.md").read_text()
    assert "## Conclusion" in report and "country − pooled" in report
    json.dumps(clean_json(out))  # serialisable (no replicate arrays)
