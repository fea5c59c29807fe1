"""The `community-alignment` CLI as a user runs it."""

import json
import subprocess
import sys

from conftest import make_row, subprocess_env, write_csv

CLI = [sys.executable, "-m", "community_alignment.cli"]


def run(*args, env=None, cwd=None):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=subprocess_env(env), cwd=cwd)


def test_help_explains_each_subcommand():
    res = run("--help")
    assert res.returncode == 0
    for sub in ("info", "prepare", "export", "card", "make-sample"):
        assert sub in res.stdout
    assert "--source sample" in res.stdout
    res = run("prepare", "--help")
    assert "--all" in res.stdout and "--config" in res.stdout and "--revision" in res.stdout


def test_info_json_has_the_promised_keys(tmp_path):
    path = write_csv(tmp_path / "ca.csv", [make_row(i, n_turns=1 + i % 4) for i in range(1, 41)])
    res = run("info", "--source", "local", "--data-path", path, "--json")
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    labels = sum(1 + i % 4 for i in range(1, 41))
    assert info["conversations"] == 40 and info["comparisons"] == labels and info["pairs"] == 3 * labels
    assert info["dropped"]["pair_identical_texts"] == 0 and "turn_without_label" in info["dropped"]
    assert set(info["configs"]) == {"conversations", "comparisons", "pairwise", "by_country", "by_language", "by_turn"}
    assert sum(info["configs"]["comparisons"].values()) == labels
    assert info["synthetic"] is False


def test_bad_input_exits_2_with_the_reason(tmp_path):
    rows = [make_row(i) for i in range(1, 4)]
    rows[1]["second_turn_preferred_response"] = "B"
    res = run("info", "--source", "local", "--data-path", write_csv(tmp_path / "bad.csv", rows))
    assert res.returncode == 2
    assert "bad.csv" in res.stderr and "second_turn_preferred_response" in res.stderr and "'B'" in res.stderr
    res = run("info", "--source", "local", "--data-path", str(tmp_path / "nope.csv"))
    assert res.returncode == 2 and "nope.csv: no such file" in res.stderr


def test_hub_unreachable_says_how_to_proceed(tmp_path):
    res = run("info", env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path)})
    assert res.returncode == 2
    assert "--source local --data-path" in res.stderr and "--source sample" in res.stderr


def test_prepare_reports_counts_and_drops(tmp_path):
    env = {"HF_DATASETS_CACHE": str(tmp_path / "c"), "HF_HUB_OFFLINE": "1"}
    res = run("prepare", "--source", "sample", "--config", "comparisons", env=env)
    assert res.returncode == 0, res.stderr
    assert "comparisons" in res.stdout and "train=" in res.stdout and "dropped:" in res.stdout
    assert "SYNTHETIC" in res.stdout
