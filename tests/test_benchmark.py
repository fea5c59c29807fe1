"""The benchmark as a user runs it: benchmarks/train.py, `community-alignment score`, 2-process scoring, DPO."""

import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
from conftest import REPO_ROOT, subprocess_env

from community_alignment.results.io import validate_schema

TRAIN = os.path.join(REPO_ROOT, "benchmarks", "train.py")
SMALL = [
    "--max_train_pairs",
    "48",
    "--max_eval_comparisons",
    "80",
    "--max_val_comparisons",
    "40",
    "--bootstrap_resamples",
    "50",
]


def _run(args, cwd, env=None, timeout=600):
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
    res = _run([sys.executable, TRAIN, *SMALL, "--runs_dir", str(root / "runs"), "--name", "r"], cwd=root)
    return root, root / "runs" / "r", res.stdout


def test_train_writes_a_complete_run(reward_run):
    root, run, stdout = reward_run
    results = json.loads((run / "results.json").read_text())
    assert validate_schema(results) == []
    cfg = results["config"]
    assert cfg["model_name"] == "sentence-transformers/all-MiniLM-L6-v2" and cfg["method"] == "reward"
    assert cfg["dataset"]["synthetic"] is True and cfg["dataset"]["comparisons"] == 80
    assert cfg["tie_policy"].startswith("pairwise ties count 1/2") and len(cfg["chat_template_hash"]) == 16
    from community_alignment.data.builder import load_prepared_table
    from community_alignment.data.sources import resolve

    _, meta = load_prepared_table(resolve("sample"), "prompt")
    assert cfg["dataset"]["split_fingerprint"] == meta["split_manifest"]["fingerprints"]["test"]
    assert set(results["reference"]) == {
        "random",
        "length",
        "position_prior",
        "oracle_true",
        "oracle_country",
        "oracle_pooled",
    }
    assert results["training"]["train_pairs"] == 48 and results["training"]["steps"] == 6
    country = results["results"]["country"]
    assert sum(g["n"] for g in country["groups"].values()) == 80
    assert "top1_accuracy_worst" in country and "top1_accuracy_macro" in country
    for axis in (
        "language",
        "turn",
        "age",
        "gender",
        "education",
        "political",
        "ethnicity_within_country",
        "wave",
        "prompt_origin",
        "country_language",
    ):
        assert axis in results["results"]
    assert (run / "model" / "model.safetensors").exists()
    table = pq.read_table(run / "scores.parquet")
    assert (
        table.num_rows == 80 and "score_model_a" in table.column_names and "score_oracle_true_d" in table.column_names
    )
    report = (run / "report.md").read_text()
    assert "Synthetic data" in report and "![country](plots/country.png)" in report and "oracle_true" in report
    for png in ("country", "language", "turn", "country_language"):
        assert (run / "plots" / f"{png}.png").stat().st_size > 5000
    assert "worst country" in stdout and "oracle_pooled" in stdout  # the terminal summary


def test_score_an_existing_model_without_training(reward_run, tmp_path):
    root, run, _ = reward_run
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
            "--runs-dir",
            str(tmp_path),
            "--name",
            "s",
        ],
        cwd=root,
    )
    scored = json.loads((tmp_path / "s" / "results.json").read_text())
    trained = json.loads((run / "results.json").read_text())
    assert scored["training"] is None
    assert scored["overall"]["top1_accuracy"]["value"] == pytest.approx(trained["overall"]["top1_accuracy"]["value"])
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


def test_two_process_scoring_gives_identical_metrics(tiny_reward_model, tmp_path):
    common = ["score", "--model", tiny_reward_model, "--max-eval-comparisons", "120", "--runs-dir", str(tmp_path)]
    # one thread per process in both runs: BLAS round-off then cannot differ with the thread count
    _run(
        [sys.executable, "-m", "community_alignment.cli", *common, "--name", "one"],
        cwd=tmp_path,
        env={"OMP_NUM_THREADS": "1"},
    )
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
        env={"OMP_NUM_THREADS": "1"},
    )
    one = json.loads((tmp_path / "one" / "results.json").read_text())
    two = json.loads((tmp_path / "two" / "results.json").read_text())
    assert one["overall"] == two["overall"]
    assert one["results"]["country"] == two["results"]["country"]
    a, b = pq.read_table(tmp_path / "one" / "scores.parquet"), pq.read_table(tmp_path / "two" / "scores.parquet")
    assert a.column("score_model_a").to_pylist() == pytest.approx(b.column("score_model_a").to_pylist(), abs=1e-5)


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
            "--max_val_comparisons",
            "10",
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
    )
    results = json.loads((tmp_path / "d" / "results.json").read_text())
    assert validate_schema(results) == []
    cfg = results["config"]
    assert cfg["method"] == "dpo" and cfg["beta"] == 0.2 and cfg["ref_model"].endswith("initial_policy")
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
    assert bench.conditioning == "country" and bench.max_train_pairs == 2400 and targs.learning_rate == 3e-5
    assert targs.max_length == 128 and targs.report_to in ("none", ["none"], []) and targs.use_cpu
    bench, targs = parse_args(["--method", "dpo", "--beta", "0.3"])
    assert type(targs).__name__ == "DPOConfig" and targs.beta == 0.3


def test_bad_arguments_are_rejected():
    from community_alignment.pipeline.config import parse_args

    with pytest.raises(ValueError, match="--conditioning must be one of"):
        parse_args(["--conditioning", "religion"])


@pytest.mark.slow
def test_pluralism_country_conditioning_beats_pooled_on_the_worst_country(tmp_path):
    """The sample's groups disagree: a country-conditioned reward model must beat the pooled one on
    worst-country top-1. Short run on English (US and India-en), where the text itself does not
    reveal the country and only the profile can."""
    res = _run(
        [
            sys.executable,
            os.path.join(REPO_ROOT, "benchmarks", "pluralism.py"),
            "--runs_dir",
            str(tmp_path),
            "--languages",
            "en",
            "--max_train_pairs",
            "1600",
            "--max_length",
            "128",
            "--max_eval_comparisons",
            "400",
            "--max_val_comparisons",
            "60",
            "--bootstrap_resamples",
            "50",
        ],
        cwd=tmp_path,
        timeout=1200,
    )
    pooled = json.loads((tmp_path / "pluralism_pooled" / "results.json").read_text())
    country = json.loads((tmp_path / "pluralism_country" / "results.json").read_text())
    assert pooled["config"]["conditioning"] == "none" and country["config"]["conditioning"] == "country"
    worst_p = pooled["summary"]["country"]["top1_accuracy"]["worst"]
    worst_c = country["summary"]["country"]["top1_accuracy"]["worst"]
    assert worst_c > worst_p + 0.05, (worst_c, worst_p)
    report = (tmp_path / "pluralism" / "report.md").read_text()
    assert "| pooled |" in report and "| country |" in report and "oracle_country" in report
    assert "worst-country top-1" in res.stdout
