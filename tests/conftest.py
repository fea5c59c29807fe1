"""Shared fixtures: small hand-made CA files with exactly known content, and isolated HF caches."""

from __future__ import annotations

import csv
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from community_alignment.data import schema  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_row(
    conversation_id: int, n_turns: int = 2, labels=("response_a", "response_b", "response_c", "response_d"), **overrides
) -> dict:
    """One conversation with `n_turns` shown turns; candidate text `c<id>-t<turn>-<letter>`."""
    row = {c: "" for c in schema.COLUMNS_V11}
    row.update(
        conversation_id=str(conversation_id),
        annotator_id=str(10_000_000_000_000 + conversation_id % 7),
        assigned_lang="en",
        wave="1",
        is_pregenerated_first_prompt="True",
        in_balanced_subset="False",
        in_balanced_subset_10="False",
        annotator_country="united states",
        annotator_age="18-34",
        annotator_gender="female",
        annotator_education_level="Post-secondary graduate",
        annotator_political="Somewhat left-leaning",
        annotator_ethnicity="White",
    )
    for k, turn in enumerate(schema.TURNS[:n_turns]):
        row[f"{turn}_turn_prompt"] = f"prompt {conversation_id} turn {k + 1}"
        texts = [f"c{conversation_id}-t{k + 1}-{x}" for x in schema.LETTERS]
        for x, t in zip(schema.LETTERS, texts):
            row[f"{turn}_turn_response_{x}"] = t
        row[f"{turn}_turn_responses"] = "\n\n".join(
            f"# Response {x.upper()}:\n{t}" for x, t in zip(schema.LETTERS, texts)
        )
        row[f"{turn}_turn_preferred_response"] = labels[k]
    row.update(overrides)
    return row


def write_csv(path, rows: list[dict], columns=None) -> str:
    columns = columns or list(schema.COLUMNS_V11)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(columns)
        for r in rows:
            w.writerow([r.get(c, "") for c in columns])
    return str(path)


@pytest.fixture
def hf_env(tmp_path, monkeypatch):
    """Isolated HF caches and offline mode for this test (and its subprocesses)."""
    env = {
        "HF_HOME": str(tmp_path / "hf_home"),
        "HF_DATASETS_CACHE": str(tmp_path / "hf_datasets"),
        "HF_HUB_OFFLINE": "1",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    import datasets.config

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", env["HF_DATASETS_CACHE"])
    return env


def subprocess_env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env.update(extra or {})
    env.setdefault("PYTHONHASHSEED", "random")
    return env


_TRUTHS: dict = {}


def sample_truth(track: str = "main"):
    """The embedded sample's truth of a track (loaded once per test session)."""
    from community_alignment.protocol.truth import load_truth

    if track not in _TRUTHS:
        _TRUTHS[track] = load_truth(track)
    return _TRUTHS[track]


def cheap_model(name: str, **overrides) -> dict:
    """Submission metadata of a 'model' with no weights (every field `metadata_problems` wants)."""
    model = {
        "name": name,
        "base_model": None,
        "revision": None,
        "base_revision": None,
        "weights_sha256": None,
        "method": "other",
        "conditioning": "none",
        "ref_model": None,
        "beta": None,
        "dtype": "none",
        "max_length": None,
        "temperature": 1.0,
        "chat_template_hash": None,
    }
    model.update(overrides)
    return model


def cheap_scores(kind: str, track: str = "main", seed: int = 0):
    """(n_test, 4) scores of a cheap 'model' on a track's whole test split: "length" (more characters
    wins), "prior" (the position prior), "noisy_oracle" (the country oracle's log-probabilities plus
    noise: better than the baselines) or "random" (Gaussian noise)."""
    import numpy as np

    from community_alignment.protocol.references import length_scores, position_scores

    truth = sample_truth(track)
    test = truth.test
    present = test.data.present
    rng = np.random.default_rng(seed)
    if kind == "length":
        s = length_scores(test)
    elif kind == "prior":
        s = position_scores(truth, test)
    elif kind == "noisy_oracle":
        s = np.log(np.clip(truth.oracle["p_country"], 1e-12, None)) + rng.normal(0, 0.5, present.shape)
    elif kind == "random":
        s = rng.normal(size=present.shape)
    else:
        raise ValueError(kind)
    return np.where(present, s, np.nan)


def cheap_submission(path, name: str, kind: str = "length", track: str = "main", rows=None, seed: int = 0, **model):
    """Write a valid submission.parquet of a cheap 'model' on the sample (the whole test split of
    `track`, or `rows` of it for a smoke run) in well under a second."""
    from community_alignment.protocol.submission import build_metadata, write_submission

    truth = sample_truth(track)
    scores = cheap_scores(kind, track, seed)
    conv, turn = truth.test.conversation_id, truth.test.turn
    protocol = truth.protocol
    evaluation = None
    if rows is not None:
        protocol = sample_truth("smoke").protocol
        conv, turn, scores = conv[rows], turn[rows], scores[rows]
        evaluation = {"subsample": len(rows), "filters": {}}
    meta = build_metadata(protocol, cheap_model(name, **model), evaluation=evaluation)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return write_submission(str(path), conv, turn, scores, meta)


def cheap_run(root, name: str, model_revision: str | None = None, kind: str | None = None):
    """A run folder `root/name/` with a valid submission.parquet on the sample's whole main test split
    (a cheap 'model': the length scorer when `name` starts with "len", else the position prior)."""
    kind = kind or ("length" if name.startswith("len") else "prior")
    folder = os.path.join(str(root), name)
    cheap_submission(os.path.join(folder, "submission.parquet"), f"org/{name}", kind, revision=model_revision)
    from pathlib import Path

    return Path(folder)
