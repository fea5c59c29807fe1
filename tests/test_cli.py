"""The `community-alignment` CLI as a user runs it."""

import json
import os
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
    from community_alignment.data.builder import CONFIG_NAMES

    assert set(info["configs"]) == set(CONFIG_NAMES)
    assert sum(info["configs"]["by_turn_test"].values()) == info["configs"]["pairwise"].get("test", 0)
    assert sum(info["configs"]["comparisons"].values()) == labels
    assert info["synthetic"] is False


def test_bad_input_exits_1_with_the_reason(tmp_path):
    rows = [make_row(i) for i in range(1, 4)]
    rows[1]["second_turn_preferred_response"] = "B"
    res = run("info", "--source", "local", "--data-path", write_csv(tmp_path / "bad.csv", rows))
    assert res.returncode == 1
    assert "bad.csv" in res.stderr and "second_turn_preferred_response" in res.stderr and "'B'" in res.stderr
    assert "Traceback" not in res.stderr
    res = run("info", "--source", "local", "--data-path", str(tmp_path / "nope.csv"))
    assert res.returncode == 1 and "nope.csv: no such file" in res.stderr


def test_hub_unreachable_says_how_to_proceed(tmp_path):
    res = run("info", env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path), "HF_HUB_CACHE": str(tmp_path / "h")})
    assert res.returncode == 1
    assert "--source local --data-path" in res.stderr and "--source sample" in res.stderr


def test_prepare_reports_counts_and_drops(tmp_path):
    env = {"HF_DATASETS_CACHE": str(tmp_path / "c"), "HF_HUB_OFFLINE": "1"}
    res = run("prepare", "--source", "sample", "--config", "comparisons", env=env)
    assert res.returncode == 0, res.stderr
    assert "comparisons" in res.stdout and "train=" in res.stdout and "dropped:" in res.stdout
    assert "SYNTHETIC" in res.stdout


def test_usage_errors_exit_2_runtime_errors_exit_1(tmp_path):
    res = run("info", "--source", "nowhere")
    assert res.returncode == 2 and "invalid choice" in res.stderr
    res = run("info", "--source", "local")  # contradictory / incomplete source flags: usage
    assert res.returncode == 2 and "needs data_path" in res.stderr
    res = run("info", "--source", "sample", "--revision", "main")
    assert res.returncode == 2 and "revision is only used with source='hub'" in res.stderr
    res = run("info", "--source", "local", "--data-path", str(tmp_path))  # a directory: runtime
    assert res.returncode == 1 and "is a directory" in res.stderr


def test_version_and_module_entry_point():
    from community_alignment import __version__

    res = run("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"community-alignment {__version__}"
    res = subprocess.run([sys.executable, "-m", "community_alignment", "--version"], capture_output=True, text=True)
    assert res.returncode == 0 and __version__ in res.stdout


def test_every_positional_has_help():
    from community_alignment.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    seen = 0
    for name, p in sub.choices.items():
        for action in p._actions:
            if not action.option_strings and action.dest != "help":
                seen += 1
                assert action.help, f"{name} {action.dest} has no help"
    assert seen >= 5


def test_export_refuses_a_non_empty_folder_without_overwrite(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    args = ("export", str(out), "--source", "sample", "--config", "comparisons")
    res = run(*args)
    assert res.returncode == 1 and "not empty; pass --overwrite" in res.stderr
    assert (out / "keep.txt").read_text() == "mine"
    res = run(*args, "--overwrite")
    assert res.returncode == 0, res.stderr
    assert not (out / "keep.txt").exists() and (out / "README.md").exists()
    (tmp_path / "file").write_text("x")
    res = run("export", str(tmp_path / "file"), "--source", "sample", "--config", "comparisons")
    assert res.returncode == 1 and "not a folder" in res.stderr


def test_make_sample_writes_only_where_asked(tmp_path):
    import community_alignment.synthetic.sample as sample

    data_dir = os.path.dirname(sample.sample_path())
    before = {f: os.stat(os.path.join(data_dir, f)).st_mtime_ns for f in os.listdir(data_dir)}
    res = run("make-sample", cwd=tmp_path)
    assert res.returncode == 1 and "--out-dir DIR" in res.stderr
    assert os.listdir(tmp_path) == []
    res = run("make-sample", "--out", str(tmp_path / "x.csv.gz"), "--n-conversations", "20", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert sorted(os.listdir(tmp_path)) == ["x.csv.gz", "x.probs.csv.gz"] or "x.csv.gz" in os.listdir(tmp_path)
    after = {f: os.stat(os.path.join(data_dir, f)).st_mtime_ns for f in os.listdir(data_dir)}
    assert after == before


def test_progress_bar_switches_are_honoured(tmp_path):
    args = ("make-sample", "--out", str(tmp_path / "y.csv.gz"), "--n-conversations", "30")
    shown = run(*args, env={"HF_DATASETS_DISABLE_PROGRESS_BARS": "0", "TQDM_DISABLE": ""})
    assert shown.returncode == 0 and "synthetic conversations" in shown.stderr
    for var in ("HF_DATASETS_DISABLE_PROGRESS_BARS", "HF_HUB_DISABLE_PROGRESS_BARS"):
        hidden = run(*args, env={var: "1"})
        assert hidden.returncode == 0 and "synthetic conversations" not in hidden.stderr, var
