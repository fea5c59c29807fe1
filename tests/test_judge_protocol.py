"""The LLM judge through the protocol (issue: steerable and distributional pluralism): `score --method
llm_judge` writes a submission the contract evaluates; the steerability gain (conditioned −
unconditioned) and the monoculture view of several judges come from the same contract. The tiny local
LM is untrained: its numbers are meaningless; these tests check the plumbing and the statistics."""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import subprocess_env

from community_alignment.protocol.submission import read_submission


@pytest.fixture(scope="module")
def judges(tmp_path_factory):
    from community_alignment.models.loading import build_tiny_causal_lm

    root = tmp_path_factory.mktemp("judge")
    texts = ["Family duty comes first.", "Freedom matters most.", "It depends on the person.", "A B C D"] * 60
    lm = build_tiny_causal_lm(str(root / "lm"), texts, vocab_size=400)
    env = subprocess_env(
        {"HF_HOME": str(root / "home"), "HF_DATASETS_CACHE": str(root / "cache"), "HF_HUB_OFFLINE": "1"}
    )
    base = [sys.executable, "-m", "community_alignment.cli", "score", "--method", "llm_judge", "--model", lm]
    base += ["--max-eval-comparisons", "40", "--judge-max-length", "1024", "--max-candidate-tokens", "96"]
    base += ["--bootstrap-resamples", "100", "--runs-dir", str(root / "runs")]
    for name, cond in (("none", "none"), ("country", "country")):
        res = subprocess.run(
            [*base, "--conditioning", cond, "--name", name],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert res.returncode == 0, res.stderr[-3000:]
    return root, env


def test_the_judge_writes_a_submission_with_its_own_probabilities(judges):
    root, _ = judges
    sub = read_submission(str(root / "runs" / "none" / "submission.parquet"))
    m, scoring = sub.metadata["model"], sub.metadata["scoring"]
    assert m["method"] == "llm_judge" and m["temperature"] == 1.0 and m["name"] == "local/none"
    assert scoring["elicitation"] == "logprobs" and scoring["permutations"] == "cyclic"
    bias = scoring["letter_bias"]["mean_probability"]
    assert abs(sum(v for v in bias.values() if v is not None) - 1) < 0.35  # per-letter means of shown letters
    p = np.exp(sub.scores)  # log of permutation-averaged probabilities: a distribution per comparison
    assert np.allclose(np.nansum(p, 1), 1, atol=1e-6)
    assert sub.metadata["truncation"]["comparisons"] == 40 and sub.metadata["evaluation"]["validation_comparisons"] == 0
    results = json.loads((root / "runs" / "none" / "results.json").read_text())
    assert results["protocol"]["track"] == "smoke" and results["scorers"]["model"]["temperature"] == 1.0


def test_steerability_gain_and_the_monoculture_view_of_judges(judges):
    root, env = judges
    runs = root / "runs"
    res = subprocess.run(
        [sys.executable, "-m", "community_alignment.cli", "compare", "--arm", f"unconditioned={runs / 'none'}",
         "--arm", f"country={runs / 'country'}", "--baseline", "unconditioned", "--title", "Steerability",
         "--bootstrap-resamples", "100", "--out", str(root / "steer.md")],
        env=env, cwd=root, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    report = (root / "steer.md").read_text()
    assert "# Steerability" in report and "country − unconditioned" in report and "top-1 / " in report
    res = subprocess.run(
        [sys.executable, "-m", "community_alignment.cli", "monoculture", "--source", "sample", "--runs",
         str(runs / "none"), str(runs / "country"), "--out", str(root / "mono")],
        env=env, cwd=root, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    mono = json.loads((root / "mono" / "monoculture.json").read_text())["models"]
    # 40 random comparisons hold no set with ≥ 10 distinct raters: the view says so instead of inventing numbers
    assert mono["annotators"]["sets"] == 0 and mono["distributions"]["similarity"] == [[None, None], [None, None]]
    assert set(mono["distributions"]["fit_to_votes"]) == set(mono["model_matches_annotators"])
