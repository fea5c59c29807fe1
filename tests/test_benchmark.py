"""The benchmark as a user runs it: benchmarks/train.py, `community-alignment score`, 2-process scoring,
DPO, argument parsing."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO_ROOT, subprocess_env

from community_alignment.protocol.submission import read_submission
from community_alignment.results.io import schema_errors

TRAIN = os.path.join(REPO_ROOT, "benchmarks", "train.py")
SMALL = [  # the plumbing at 128 tokens (the default 384 is checked by the argument tests)
    "--max_length",
    "128",
    "--max_train_pairs",
    "48",
    "--max_eval_comparisons",
    "80",
    "--bootstrap_resamples",
    "50",
]


def _run(args, cwd, env=None, timeout=900):
    res = subprocess.run(
        args,
        cwd=cwd,
        env=subprocess_env({"HF_HUB_OFFLINE": "1", **(env or {})}),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-4000:]
    return res


@pytest.fixture(scope="module")
def reward_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    env = {"HF_HOME": str(root / "home"), "HF_DATASETS_CACHE": str(root / "cache")}
    res = _run([sys.executable, TRAIN, *SMALL, "--runs_dir", str(root / "runs"), "--name", "r"], cwd=root, env=env)
    return root, root / "runs" / "r", res.stdout, env


def test_train_writes_a_complete_run(reward_run):
    root, run, stdout, _ = reward_run
    results = json.loads((run / "results.json").read_text())
    assert schema_errors(results) == []
    sub = read_submission(str(run / "submission.parquet"))
    m = sub.metadata["model"]
    assert m["name"] == "local/r" and m["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert m["method"] == "reward" and m["max_length"] == 128 and len(m["weights_sha256"]) == 64
    assert len(sub) == 80 and results["protocol"]["track"] == "smoke" and not results["protocol"]["ranked"]
    t = sub.metadata["truncation"]
    assert t["candidates"] == int(np.isfinite(sub.scores).sum()) and 0 < t["candidates_whole"] <= t["candidates"]
    from community_alignment.data.builder import load_prepared_table
    from community_alignment.data.sources import resolve

    _, meta = load_prepared_table(resolve("sample"), "prompt")
    assert sub.metadata["protocol"]["dataset"]["fingerprint"] == meta["split_manifest"]["fingerprints"]["test"]
    assert set(results["scorers"]) == {
        "model",
        "random",
        "length",
        "position_prior",
        "oracle_individual",
        "oracle_letter_blind",
        "oracle_country",
        "oracle_language",
        "oracle_pooled",
    }
    assert sub.metadata["training"]["train_pairs"] == 48 and sub.metadata["training"]["steps"] == 6
    axes = results["scorers"]["model"]["axes"]
    assert sum(g["n"] for g in axes["country"]["groups"].values()) == results["protocol"]["evaluated"]
    for axis in ("language", "turn", "age", "gender", "education", "political", "ethnicity_within_country", "wave"):
        assert axis in axes
    assert (run / "model" / "model.safetensors").exists()
    report = (run / "report.md").read_text()
    assert "Synthetic data" in report and "![country](plots/country.png)" in report and "not ranked" in report
    for png in ("country", "language", "turn", "country_language"):
        assert (run / "plots" / f"{png}.png").stat().st_size > 5000
    assert "worst country" in stdout and "oracle_pooled" in stdout  # the terminal summary


def test_score_an_existing_model_reproduces_the_trained_runs_scores(reward_run, tmp_path):
    root, run, _, env = reward_run
    res = _run(
        [
            sys.executable,
            "-m",
            "community_alignment.cli",
            "score",
            "--model",
            str(run / "model"),
            "--max-eval-comparisons",
            "80",
            "--max-length",
            "128",
            "--bootstrap-resamples",
            "50",
            "--runs-dir",
            str(tmp_path),
            "--name",
            "s",
        ],
        cwd=root,
        env=env,
    )
    scored = read_submission(str(tmp_path / "s" / "submission.parquet"))
    trained = read_submission(str(run / "submission.parquet"))
    assert scored.metadata["training"].get("train_pairs") is None
    assert scored.metadata["model"]["weights_sha256"] == trained.metadata["model"]["weights_sha256"]
    assert np.allclose(scored.scores, trained.scores, rtol=1e-5, equal_nan=True)
    assert (np.nanargmax(scored.scores, 1) == np.nanargmax(trained.scores, 1)).all()
    assert "worst country" in res.stdout


@pytest.fixture(scope="module")
def tiny_reward_model(tmp_path_factory):
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from community_alignment.models.loading import resolve_reward_model

    path = tmp_path_factory.mktemp("tiny_rm")
    tok = AutoTokenizer.from_pretrained(resolve_reward_model("default")[0])
    import torch

    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=tok.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=1,
        pad_token_id=tok.pad_token_id,
    )
    BertForSequenceClassification(cfg).save_pretrained(path, safe_serialization=True)
    tok.save_pretrained(path)
    return str(path)


def test_two_process_scoring_gives_identical_decisions(tiny_reward_model, tmp_path):
    """1 process vs 2 (gloo) processes: the same batches, so the same decisions; continuous numbers
    agree within the engine's stated tolerance (thread count can move float32 round-off)."""
    from community_alignment.scoring.engine import SCORE_RTOL

    common = ["score", "--model", tiny_reward_model, "--max-eval-comparisons", "120", "--runs-dir", str(tmp_path)]
    common += ["--bootstrap-resamples", "50"]
    env = {"HF_HOME": str(tmp_path / "home"), "HF_DATASETS_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    _run([sys.executable, "-m", "community_alignment.cli", *common, "--name", "one"], cwd=tmp_path, env=env)
    _run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_port",
            "29533",
            "-m",
            "community_alignment.cli",
            *common,
            "--name",
            "two",
        ],
        cwd=tmp_path,
        env=env,
    )
    a = read_submission(str(tmp_path / "one" / "submission.parquet"))
    b = read_submission(str(tmp_path / "two" / "submission.parquet"))
    assert (a.conversation_id == b.conversation_id).all() and (a.turn == b.turn).all()
    assert np.allclose(a.scores, b.scores, rtol=SCORE_RTOL, atol=0, equal_nan=True)
    assert (np.nanargmax(a.scores, 1) == np.nanargmax(b.scores, 1)).all()
    ma, mb = (json.loads((tmp_path / n / "results.json").read_text())["scorers"]["model"] for n in ("one", "two"))
    ra, rb = ma["overall"], mb["overall"]
    for metric in ("top1_accuracy", "pairwise_accuracy"):  # decisions: identical
        assert ra[metric] == rb[metric]
    # NLL moves with the scores' round-off: a score error δ moves a logit by at most δ / T and a
    # comparison's NLL by at most 2 δ / T (the tiny model's scores differ by ~1e-5, so T is tiny too)
    delta = float(np.nanmax(np.abs(a.scores - b.scores)))
    bound = 2 * delta / min(ma["temperature"], mb["temperature"])
    assert abs(rb["nll"]["value"] - ra["nll"]["value"]) <= bound + 1e-12


def test_dpo_short_run_records_reference_and_beta(tmp_path):
    _run(
        [
            sys.executable,
            TRAIN,
            "--method",
            "dpo",
            "--max_train_pairs",
            "16",
            "--max_eval_comparisons",
            "20",
            "--bootstrap_resamples",
            "20",
            "--beta",
            "0.2",
            "--runs_dir",
            str(tmp_path),
            "--name",
            "d",
        ],
        cwd=tmp_path,
        env={"HF_HOME": str(tmp_path / "home"), "HF_DATASETS_CACHE": str(tmp_path / "cache")},
    )
    results = json.loads((tmp_path / "d" / "results.json").read_text())
    assert schema_errors(results) == []
    meta = read_submission(str(tmp_path / "d" / "submission.parquet")).metadata
    m = meta["model"]
    assert m["method"] == "dpo" and m["beta"] == 0.2 and m["ref_model"] == "local/d-reference"
    assert m["base_model"] == "tiny-causal-lm" and meta["truncation"]["candidates"] > 0
    assert (tmp_path / "d" / "model" / "model.safetensors").exists()


def test_yaml_config_with_command_line_override():
    from community_alignment.pipeline.config import parse_args

    bench, targs = parse_args(
        [
            "--config",
            os.path.join(REPO_ROOT, "benchmarks", "configs", "default.yaml"),
            "--conditioning",
            "country",
            "--learning_rate",
            "3e-5",
        ]
    )
    assert bench.conditioning == "country" and bench.max_eval_comparisons is None and targs.learning_rate == 3e-5
    assert targs.max_length == 384 and targs.report_to in ("none", ["none"], []) and targs.use_cpu
    assert bench.evaluated_track == "main"


@pytest.mark.parametrize("argv", [["--method", "dpo"], ["--method=dpo"], ["--config", "DPO_YAML"]])
def test_the_method_picks_trls_config_class_however_it_is_given(argv, tmp_path):
    from community_alignment.pipeline.config import parse_args

    if "DPO_YAML" in argv:
        (tmp_path / "c.yaml").write_text("method: dpo\nbeta: 0.3\n")
        argv = ["--config", str(tmp_path / "c.yaml")]
    bench, targs = parse_args([*argv, "--beta", "0.3"])
    assert bench.method == "dpo" and type(targs).__name__ == "DPOConfig" and targs.beta == 0.3


def test_bad_arguments_are_rejected():
    from community_alignment.pipeline.config import parse_args

    with pytest.raises(ValueError, match="--conditioning must be one of"):
        parse_args(["--conditioning", "religion"])
    with pytest.raises(ValueError, match="--method must be one of"):
        parse_args(["--method=magic"])
    with pytest.raises(ValueError, match="--track must be one of"):
        parse_args(["--track", "smoke"])


@pytest.mark.slow
def test_the_pluralism_script_runs_its_arms_and_writes_the_paired_report(tmp_path):
    """`benchmarks/pluralism.py` end to end on a smoke budget (the plumbing, not the claim: at this size
    nothing is learnt; the experiment's measured result is in docs/benchmark.md): a pooled and a placebo
    arm (country profiles shuffled across annotators) trained and scored on the same comparisons, one
    paired report. The placebo run records its seed and differs from the pooled one."""
    args = ["--arms", "pooled", "placebo", "--seeds", "0", "--report_resamples", "100", "--runs_dir", str(tmp_path)]
    args += ["--max_train_pairs", "24", "--max_length", "64", "--max_eval_comparisons", "120"]
    args += ["--bootstrap_resamples", "20"]
    res = _run(
        [sys.executable, os.path.join(REPO_ROOT, "benchmarks", "pluralism.py"), *args],
        cwd=tmp_path,
        env={"HF_HOME": str(tmp_path / "home"), "HF_DATASETS_CACHE": str(tmp_path / "cache")},
    )
    out = json.loads((tmp_path / "pluralism" / "pluralism.json").read_text())
    assert out["protocol"].startswith("ca-v2/smoke/sample/")
    c = out["contrasts"]["placebo − pooled"]
    assert c["overall"]["seeds"] == 1 and len(c["overall"]["per_seed"]) == 1 and "worst" in c
    placebo = read_submission(str(tmp_path / "pluralism_placebo_s0" / "submission.parquet"))
    pooled = read_submission(str(tmp_path / "pluralism_pooled_s0" / "submission.parquet"))
    assert (
        placebo.metadata["training"]["placebo_seed"] == 12345 and placebo.metadata["model"]["conditioning"] == "country"
    )
    assert (placebo.conversation_id == pooled.conversation_id).all() and not np.allclose(
        placebo.scores, pooled.scores, equal_nan=True
    )
    report = (tmp_path / "pluralism" / "report.md").read_text()
    assert "## Conclusion" in report and "placebo − pooled" in report
    assert "wrote" in res.stdout
