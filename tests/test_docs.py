"""Every ```python and ```bash block of README.md and of the dataset cards is executed, as a user would
run it, so a documented call cannot rot.

The blocks run in a fresh working folder with their own HF caches, offline except for a loopback
stand-in of the Hugging Face Hub (`tests/hub_standin.py`) that serves the embedded sample as
`facebook/community-alignment-dataset` at the pinned revision: `community-alignment prepare --all`
(source hub) runs its real download path. Bash blocks run with `bash -euo pipefail`; each python block
runs as its own script; blocks of one document share the working folder, in order.

A command that takes many minutes and is tested elsewhere may be skipped ONLY through `COVERED_ELSEWHERE`:
command prefix -> the test (`tests/FILE.py::test_name`), Makefile target (`Makefile:target`) or CI step
(`.ci/run`) that runs it; each target is asserted to exist.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import REPO_ROOT, subprocess_env
from hub_standin import HubStandIn

from community_alignment.data import schema
from community_alignment.synthetic.sample import sample_path

#: command prefix -> where it is run instead (asserted to exist below)
COVERED_ELSEWHERE = {
    "make test": ".ci/run",
    "make install": "Makefile:install",
    "pip install": "Makefile:install",
    "make benchmark": "tests/test_benchmark.py::test_train_writes_a_complete_run",
    "accelerate launch": "tests/test_benchmark.py::test_train_writes_a_complete_run",
    "python benchmarks/pluralism.py": (
        "tests/test_benchmark.py::test_the_pluralism_script_runs_its_arms_and_writes_the_paired_report"
    ),
    # these read the runs that `make benchmark` writes
    "community-alignment score": (
        "tests/test_benchmark.py::test_score_an_existing_model_reproduces_the_trained_runs_scores"
    ),
    "community-alignment evaluate": "tests/test_protocol.py::test_evaluate_cli_reproduces_the_run_exactly",
    "community-alignment validate": "tests/test_leaderboard.py::test_validate_cli_lists_every_problem_never_a_traceback",
    "community-alignment submit": "tests/test_leaderboard.py::test_submit_dry_run_never_writes_outside_its_folder",
    "community-alignment leaderboard": "tests/test_leaderboard.py::test_page_numbers_are_the_contracts",
    "community-alignment sample-candidates": "tests/test_analysis.py::test_tiny_local_lm_end_to_end",
    "community-alignment monoculture": "tests/test_analysis.py::test_monoculture_cli_with_submissions",
    # TRL's own CLI on a tiny local model: its own (slow) test below
    "trl reward": "tests/test_docs.py::test_trl_cli_trains_on_pairwise_last_turn",
}

BLOCK = re.compile(r"^```(python|bash)\n(.*?)^```", re.S | re.M)


def blocks(text: str) -> list[tuple[str, str]]:
    return [(lang, body) for lang, body in BLOCK.findall(text)]


def _covered(command: str) -> str | None:
    return next((target for prefix, target in COVERED_ELSEWHERE.items() if command.startswith(prefix)), None)


def runnable_bash(body: str) -> tuple[str, list[str]]:
    """The block without the commands covered elsewhere (joined continuation lines), and those skipped."""
    lines, skipped, pending = [], [], ""
    for line in body.splitlines():
        pending += line
        if pending.rstrip().endswith("\\"):
            pending = pending.rstrip()[:-1] + " "
            continue
        command, pending = pending.strip(), ""
        if command and _covered(command):
            skipped.append(command)
        else:
            lines.append(command)
    return "\n".join(lines), skipped


def test_every_exemption_points_at_something_that_exists():
    for prefix, target in COVERED_ELSEWHERE.items():
        if target == ".ci/run":
            assert "make test" in open(os.path.join(REPO_ROOT, ".ci/run"), encoding="utf-8").read(), prefix
        elif target.startswith("Makefile:"):
            makefile = open(os.path.join(REPO_ROOT, "Makefile"), encoding="utf-8").read()
            assert re.search(rf"^{re.escape(target.split(':', 1)[1])}:", makefile, re.M), prefix
        else:
            path, name = target.split("::")
            source = open(os.path.join(REPO_ROOT, path), encoding="utf-8").read()
            assert re.search(rf"^def {name}\(", source, re.M), f"{prefix} -> {target} does not exist"


def test_the_block_parser():
    text = "x\n```python\nprint(1)\n```\n```bibtex\n@a{}\n```\n```bash\nmake test\necho a \\\n  b\n```\n"
    assert blocks(text) == [("python", "print(1)\n"), ("bash", "make test\necho a \\\n  b\n")]
    assert runnable_bash(blocks(text)[1][1]) == ("echo a    b", ["make test"])


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A user's fresh folder: own HF caches, the Hub stand-in as HF_ENDPOINT, a local copy of the data."""
    root = tmp_path_factory.mktemp("docs")
    data = gzip.decompress(open(sample_path(), "rb").read())
    (root / "work").mkdir()
    (root / "work" / "community_alignment.csv").write_bytes(data)
    with HubStandIn(schema.HUB_REPO_ID, schema.PINNED_REVISION, {"community_alignment.csv": data}) as hub:
        env = subprocess_env(
            {
                "HF_HOME": str(root / "home"),
                "HF_DATASETS_CACHE": str(root / "datasets"),
                "HF_HUB_CACHE": str(root / "hub"),
                "HF_ENDPOINT": hub.endpoint,
                "HF_HUB_OFFLINE": "0",
                "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
                "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
            }
        )
        yield root / "work", env


def run_blocks(text: str, cwd, env, where: str) -> list[str]:
    """Run every python/bash block of `text` in order; returns the commands skipped as covered elsewhere."""
    skipped_all = []
    found = blocks(text)
    assert found, f"{where}: no code blocks found"
    for i, (lang, body) in enumerate(found):
        if lang == "bash":
            script, skipped = runnable_bash(body)
            skipped_all += skipped
            if not script.strip():
                continue
            cmd = ["bash", "-euo", "pipefail", "-c", script]
        else:
            cmd = [sys.executable, "-c", body]
        res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, (
            f"{where}, block {i + 1} ({lang}) failed:\n{body}\n--- stderr:\n{res.stderr[-3000:]}"
        )
    return skipped_all


@pytest.mark.slow
def test_readme_blocks_run(workspace):
    """Slow (~40 s on 2 cores): about 15 commands in fresh processes as a user runs them, including two
    `prepare --all` (the Hub stand-in and the sample) and an export; the docs' only end-to-end check."""
    cwd, env = workspace
    text = open(os.path.join(REPO_ROOT, "README.md"), encoding="utf-8").read()
    skipped = run_blocks(text, cwd, env, "README.md")
    assert all(_covered(c) for c in skipped)
    assert (cwd / "ca_export" / "README.md").exists()  # the export block really ran


def test_dataset_card_blocks_run(workspace):
    """The committed dataset_card.md (= the template rendered for the package's cache)."""
    cwd, env = workspace
    subprocess.run(
        ["community-alignment", "prepare", "--all", "--source", "sample"],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
    )
    text = open(os.path.join(REPO_ROOT, "dataset_card.md"), encoding="utf-8").read()
    assert not run_blocks(text, cwd, env, "dataset_card.md")


@pytest.mark.parametrize("target", ["folder", "repo"])
def test_exported_card_blocks_run(workspace, target, tmp_path):
    """An exported card's snippets load that folder (or that repo: a folder of the same name stands in)."""
    cwd, env = workspace
    out = tmp_path / "exported"
    args = ["community-alignment", "export", str(out), "--source", "sample", "--config", "pairwise"]
    args += ["--config", "by_country_test"]
    if target == "repo":
        pytest.importorskip("huggingface_hub")
        from community_alignment.data.export import export
        from community_alignment.data.sources import SourceSpec

        class Recorder:  # the upload itself is tested in test_load_dataset.py
            def create_repo(self, *a, **k):
                pass

            def upload_folder(self, **k):
                return "ok"

        export(str(out), SourceSpec("sample"), ["pairwise", "by_country_test"], push_to_hub="me/ca", api=Recorder())
        work = tmp_path / "user"
        shutil.copytree(out, work / "me" / "ca")
    else:
        subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True)
        work = cwd
    text = (out / "README.md").read_text(encoding="utf-8")
    assert ("me/ca" in text) == (target == "repo")
    assert not run_blocks(text, work, env, f"exported card ({target})")


@pytest.mark.slow
def test_trl_cli_trains_on_pairwise_last_turn(workspace, tmp_path):
    """README's `trl reward …` block on a tiny local model (TRL's import alone takes ~25 s: slow)."""
    from community_alignment.models.loading import build_tiny_causal_lm

    cwd, env = workspace
    subprocess.run(
        ["community-alignment", "prepare", "--source", "sample", "--config", "pairwise_last_turn"],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
    )
    build_tiny_causal_lm(str(cwd / "tiny-lm"), [f"hello world {i} text to train a tokenizer" for i in range(200)])
    text = open(os.path.join(REPO_ROOT, "README.md"), encoding="utf-8").read()
    trl = [body for lang, body in blocks(text) if lang == "bash" and body.startswith("trl reward")]
    assert len(trl) == 1
    res = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", trl[0]], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert (cwd / "tiny-rm").is_dir()
