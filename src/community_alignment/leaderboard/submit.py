"""Submit a validated results file as a pull request on a Hub results dataset (HF leaderboard layout:
one JSON per model and revision), or write the exact commit locally with --dry-run; model-card YAML."""

from __future__ import annotations

import json
import os
import re

from ..io_utils import atomic_write_bytes, atomic_write_text
from .validate import load_json, validate_file


class SubmissionError(ValueError):
    """The file failed validation; the message lists every problem."""


def _slug(s: str | None) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", s or "main")


def path_in_repo(data: dict) -> str:
    """`<org>/<model>/results_<revision>_<method>_<conditioning>.json` (the template reads one file per entry)."""
    c = data["config"]
    name = c["model_name"].strip("/")
    return f"{name}/results_{_slug(c.get('model_sha'))}_{c['method']}_{c['conditioning']}.json"


def prepare_submission(path: str, expected_fingerprint: str | None = None) -> tuple[dict[str, bytes], str]:
    problems = validate_file(path, expected_fingerprint)
    if problems:
        raise SubmissionError(f"{path} failed validation:\n" + "\n".join(f"  {p}" for p in problems))
    data, _ = load_json(path)
    c = data["config"]
    body = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False).encode() + b"\n"
    message = f"Add {c['model_name']} ({c['method']}, conditioning {c['conditioning']}, revision {c.get('model_sha') or 'main'})"
    return {path_in_repo(data): body}, message


def submit(
    path: str, repo_id: str, dry_run_dir: str | None = None, api=None, expected_fingerprint: str | None = None
) -> str:
    """Validate, then open a PR with `create_commit(..., create_pr=True)`; returns the PR URL (or the dry-run folder)."""
    files, message = prepare_submission(path, expected_fingerprint)
    if dry_run_dir is not None:
        for rel, data in files.items():
            atomic_write_bytes(os.path.join(dry_run_dir, rel), data)
        atomic_write_text(
            os.path.join(dry_run_dir, "COMMIT_MESSAGE.txt"),
            f"{message}\n\nrepo: {repo_id} (dataset), create_pr=True\nfiles: {', '.join(files)}\n",
        )
        return dry_run_dir
    from huggingface_hub import CommitOperationAdd, HfApi

    api = api or HfApi()
    ops = [CommitOperationAdd(path_in_repo=rel, path_or_fileobj=data) for rel, data in files.items()]
    info = api.create_commit(
        repo_id=repo_id, repo_type="dataset", operations=ops, commit_message=message, create_pr=True
    )
    return info.pr_url or info.commit_url


def model_card_yaml(path: str) -> str:
    """`model-index` YAML (huggingface_hub's EvalResult) for the headline numbers of a results file."""
    from huggingface_hub import EvalResult, ModelCardData

    data, problems = load_json(path)
    if data is None:
        raise SubmissionError("; ".join(map(str, problems)))
    c, ds = data["config"], data["config"]["dataset"]
    common = dict(
        task_type="text-classification",
        task_name="Pluralistic preference prediction",
        dataset_type="facebook/community-alignment-dataset",
        dataset_name="Community Alignment",
        dataset_split=ds["split"],
        dataset_revision=ds.get("revision"),
        dataset_config="comparisons",
    )
    s = data["summary"]["country"]["top1_accuracy"]
    metrics = [
        ("accuracy", data["overall"]["top1_accuracy"]["value"], "top-1 accuracy (best of 4)"),
        ("accuracy", s["macro"], "top-1 accuracy, macro over countries"),
        ("accuracy", s["worst"], f"top-1 accuracy, worst country ({s['worst_group']})"),
        ("accuracy", data["overall"]["pairwise_accuracy"]["value"], "pairwise accuracy"),
    ]
    results = [
        EvalResult(metric_type=t, metric_value=round(v, 4), metric_name=n, **common)
        for t, v, n in metrics
        if v is not None
    ]
    card = ModelCardData(model_name=c["model_name"], eval_results=results)
    text = card.to_yaml()
    if ds.get("synthetic"):
        text = "# WARNING: these numbers come from the synthetic sample, not the real dataset\n" + text
    return text
