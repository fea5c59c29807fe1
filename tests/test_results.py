"""The results contract: schema validation, NaN handling, atomic writes, the evaluate adapter."""

import json
import os

import numpy as np
import pytest

from community_alignment.results import io as rio


def _minimal():
    block = {
        "n": 10,
        "annotators": 3,
        "top1_accuracy": {"value": 0.5, "ci_low": 0.3, "ci_high": 0.7},
        "pairwise_accuracy": {"value": 0.6, "ci_low": 0.5, "ci_high": 0.7},
        "nll": {"value": 1.2, "ci_low": 1.1, "ci_high": 1.3},
        "ece": 0.05,
    }
    return {
        "schema_version": 1,
        "config": {
            "model_name": "m",
            "model_sha": None,
            "model_dtype": "float32",
            "method": "reward",
            "conditioning": "none",
            "tie_policy": "t",
            "chat_template_hash": "abc",
            "package_versions": {},
            "seed": 0,
            "dataset": {
                "source": "sample",
                "synthetic": True,
                "split": "test",
                "split_by": "prompt",
                "split_fingerprint": "0" * 64,
                "comparisons": 10,
            },
        },
        "overall": block,
        "results": {"country": {"top1_accuracy_worst": 0.4, "groups": {"india": block}}},
        "summary": {},
        "reference": {},
    }


def test_valid_minimal_results_and_nan_becomes_null(tmp_path):
    r = _minimal()
    r["overall"]["ece"] = np.float64("nan")
    out = rio.write_results(str(tmp_path / "results.json"), r)
    assert out["overall"]["ece"] is None
    assert json.loads((tmp_path / "results.json").read_text())["overall"]["ece"] is None
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")]


@pytest.mark.parametrize(
    "mutate,where",
    [
        (lambda r: r.update(schema_version=2), "schema_version"),
        (lambda r: r["config"]["dataset"].update(split_fingerprint="xyz"), "config/dataset/split_fingerprint"),
        (lambda r: r["config"].update(method="magic"), "config/method"),
        (lambda r: r["results"]["country"].update(top1_accuracy_worst="high"), "results/country/top1_accuracy_worst"),
        (lambda r: r["overall"].pop("nll"), "overall"),
    ],
)
def test_schema_violations_name_their_path(mutate, where, tmp_path):
    r = _minimal()
    mutate(r)
    problems = rio.validate_schema(rio.clean_json(r))
    assert any(p.startswith(where) for p in problems), problems
    with pytest.raises(ValueError, match="do not match schema v1"):
        rio.write_results(str(tmp_path / "r.json"), r)
    assert not (tmp_path / "r.json").exists()


def test_scores_parquet_round_trip(tmp_path):
    import pyarrow.parquet as pq

    s = np.array([[1.0, 2.0, np.nan, 0.5]])
    rio.write_scores(str(tmp_path / "s.parquet"), {"comparison_id": np.array(["1-1"], dtype=object)}, {"model": s})
    t = pq.read_table(tmp_path / "s.parquet")
    assert t.column_names == ["comparison_id", "score_model_a", "score_model_b", "score_model_c", "score_model_d"]
    assert t.column("score_model_c")[0].as_py() is None or np.isnan(t.column("score_model_c")[0].as_py())


@pytest.mark.slow
def test_evaluate_metric_loads_offline_and_matches_our_functions():
    import evaluate

    import community_alignment.evaluate_metric as em
    from community_alignment.metrics import accuracy

    rng = np.random.default_rng(0)
    scores = rng.normal(size=(200, 4))
    chosen = rng.integers(4, size=200)
    groups = np.where(np.arange(200) < 100, "india", "france")
    metric = evaluate.load(em.PATH)
    out = metric.compute(
        predictions=scores.tolist(),
        references=chosen.tolist(),
        groups=groups.tolist(),
        annotators=(np.arange(200) // 5).tolist(),
        resamples=100,
    )
    assert out["top1_accuracy"] == pytest.approx(accuracy.top1_credit(scores, chosen).mean())
    assert out["top1_accuracy_ci_low"] <= out["top1_accuracy"] <= out["top1_accuracy_ci_high"]
    assert set(out["groups"]) == {"india", "france"} and out["worst_group"] in out["groups"]
