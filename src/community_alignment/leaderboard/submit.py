"""Submit a checked submission.parquet as one pull request on a Hub results dataset (or write the exact
commit into a local folder with --dry-run), and the model-card YAML of a submission.

Upload layout: `submissions/<track>/<dataset>/<org>/<name>/<method>-<conditioning>-<version>.parquet`,
built only from validated parts (`NAME_RE` names, enum tracks/methods/conditionings, hex revisions);
`<dataset>` is `sample`, `hub-<revision[:12]>` or `local`; `<version>` the model revision's first 12
hex digits, else its weights hash's, else the file's own SHA-256's. The file is uploaded byte for
byte (its SHA-256 is what the leaderboard lists).

Every target of a dry run is resolved (realpath, through any existing link) inside the folder before
anything is written; a target outside it, or an existing file, refuses the whole run, and a failed
check creates nothing at all.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass

from ..io_utils import atomic_write_bytes
from ..protocol.submission import NAME_RE
from .validate import Checked, check_submission, format_report, safe_text

#: One path component of an upload: letters, digits, `_ . -`; starts with a letter or digit; no `..`.
PART_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}")
SYNTHETIC_DATASET = "community-alignment-synthetic-sample"
LOCAL_DATASET = "community-alignment-local-file"


class SubmitError(ValueError):
    """The submission cannot be submitted (or its card printed); the message says why."""


@dataclass
class Upload:
    files: dict[str, bytes]  # path in the repo → content
    message: str
    description: str
    checked: Checked


def safe_relpath(parts: list[str]) -> str:
    """`a/b/c` from validated parts; anything else (`.`, `..`, separators, odd characters) refuses."""
    for p in parts:
        if not isinstance(p, str) or not PART_RE.fullmatch(p) or ".." in p:
            raise SubmitError(f"unsafe path component {safe_text(repr(p), 120)}: refusing to build an upload path")
    return "/".join(parts)


def dataset_part(ds: dict) -> str:
    if ds["synthetic"] or ds["source"] == "sample":
        return "sample"
    if ds["source"] == "hub":
        return f"hub-{ds['revision'][:12]}" if ds.get("revision") else "hub"
    return "local"


def path_in_repo(c: Checked) -> str:
    meta = c.submission.metadata
    m, proto = meta["model"], meta["protocol"]
    version = (m.get("revision") or m.get("weights_sha256") or c.submission.sha256)[:12]
    return safe_relpath(
        [
            "submissions",
            proto["track"],
            dataset_part(proto["dataset"]),
            *str(m["name"]).split("/"),
            f"{m['method']}-{m['conditioning']}-{version}.parquet",
        ]
    )


def check_repo_id(repo_id: str) -> str:
    if not isinstance(repo_id, str) or "/" not in repo_id or not NAME_RE.fullmatch(repo_id):
        raise SubmitError(f"--repo must be ORG/NAME (letters, digits, . _ -), got {safe_text(repr(repo_id), 120)}")
    return repo_id


def checked_or_raise(
    path: str, fingerprints: tuple[str, ...] = (), data_path: str | None = None, what: str = "submitted"
) -> Checked:
    c = check_submission(path, fingerprints, data_path)
    if not c.ok:
        raise SubmitError("\n".join([f"not {what}: the file failed validation", *format_report(c)]))
    return c


def prepare_upload(path: str, fingerprints: tuple[str, ...] = (), data_path: str | None = None) -> Upload:
    """Check the file, then the exact commit: {path in repo: the file's bytes}, message, description."""
    c = checked_or_raise(path, fingerprints, data_path)
    with open(path, "rb") as f:
        raw = f.read()
    if hashlib.sha256(raw).hexdigest() != c.submission.sha256:
        raise SubmitError(f"{safe_text(path)} changed while it was being checked: not submitted")
    meta = c.submission.metadata
    m = meta["model"]
    rel = path_in_repo(c)
    message = f"Add {m['name']} ({m['method']}, conditioning {m['conditioning']}) to {meta['protocol']['track']}"
    description = (
        f"protocol: {meta['protocol']['id']}\nfile: {rel}\nsha256: {c.submission.sha256}\n"
        f"comparisons: {len(c.rows)}\nfingerprint checked against: {c.fingerprint_source}\n"
        "Every number is recomputed from the scores by `community-alignment leaderboard`."
    )
    return Upload({rel: raw}, message, description, c)


def contained_target(root: str, rel: str) -> str:
    """The real path of `root/rel`, refusing anything that resolves outside `root` (through `..` or links)."""
    real_root = os.path.realpath(root)
    target = os.path.realpath(os.path.join(real_root, rel))
    if target == real_root or os.path.commonpath([real_root, target]) != real_root:
        raise SubmitError(f"{safe_text(rel)} resolves outside {safe_text(root)}: refusing to write anything")
    return target


def write_dry_run(out_dir: str, upload: Upload, repo_id: str) -> list[str]:
    """Write the exact commit under `out_dir` (files + COMMIT_MESSAGE.txt). Every target is checked
    before the first write; `out_dir`'s parent must exist (nothing is created outside `out_dir`)."""
    parent = os.path.dirname(os.path.abspath(out_dir))
    if not os.path.isdir(parent):
        raise SubmitError(f"{safe_text(parent)} does not exist: create it first (nothing is created outside --dry-run)")
    if os.path.lexists(out_dir) and not os.path.isdir(out_dir):
        raise SubmitError(f"{safe_text(out_dir)} exists and is not a folder")
    note = (
        f"{upload.message}\n\n{upload.description}\n\nrepo: {repo_id} (dataset), create_pr=True\n"
        f"files: {', '.join(upload.files)}\n"
    ).encode()
    contents = {**upload.files, "COMMIT_MESSAGE.txt": note}
    targets = {rel: contained_target(out_dir, rel) for rel in contents}
    taken = [t for t in targets.values() if os.path.lexists(t)]
    if taken:
        raise SubmitError(f"{safe_text(taken[0])} exists: remove it or use another --dry-run folder")
    if not os.path.isdir(out_dir):
        os.mkdir(out_dir)
    for rel, target in targets.items():
        contained_target(out_dir, rel)  # again, now that the folder exists
        atomic_write_bytes(target, contents[rel])
    return list(targets.values())


_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def probe_endpoint(endpoint: str, timeout: float = 10.0) -> None:
    """Fail fast, in one line, when nothing answers at the Hub endpoint (instead of huggingface_hub's
    retries with backoff). Skipped behind a proxy: the proxy decides what is reachable."""
    import socket
    import urllib.parse

    if any(os.environ.get(k) for k in _PROXY_VARS):
        return
    u = urllib.parse.urlsplit(endpoint)
    port = u.port or (443 if u.scheme == "https" else 80)
    try:
        socket.create_connection((u.hostname or "", port), timeout=timeout).close()
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise SubmitError(f"cannot reach the Hub at {safe_text(endpoint)} ({reason}): nothing was uploaded") from None


def submit(
    path: str,
    repo_id: str,
    dry_run_dir: str | None = None,
    api=None,
    fingerprints: tuple[str, ...] = (),
    data_path: str | None = None,
) -> str:
    """Check, then open one pull request with `create_commit(..., create_pr=True)`; returns the PR URL
    (or the dry-run folder). Any failure to reach the Hub is one `SubmitError` line."""
    check_repo_id(repo_id)
    upload = prepare_upload(path, fingerprints, data_path)
    if dry_run_dir is not None:
        write_dry_run(dry_run_dir, upload, repo_id)
        return dry_run_dir
    from huggingface_hub import CommitOperationAdd, HfApi

    api = api or HfApi()
    probe_endpoint(api.endpoint)
    try:
        ops = [CommitOperationAdd(path_in_repo=rel, path_or_fileobj=data) for rel, data in upload.files.items()]
        info = api.create_commit(
            repo_id=repo_id,
            repo_type="dataset",
            operations=ops,
            commit_message=upload.message,
            commit_description=upload.description,
            create_pr=True,
        )
    except Exception as e:  # network, auth, Hub errors: one line, never a traceback
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise SubmitError(
            f"could not open the pull request on {repo_id} at {api.endpoint}: {type(e).__name__}: {safe_text(first, 200)}"
        ) from None
    return info.pr_url or info.commit_url


def model_card_yaml(
    path: str, fingerprints: tuple[str, ...] = (), data_path: str | None = None, resamples: int = 1000, seed: int = 0
) -> str:
    """The `model-index` YAML block (fenced by `---`) of a submission's numbers, recomputed from its
    scores with the contract. A synthetic run never names the real dataset."""
    from huggingface_hub import EvalResult, ModelCardData

    from ..data.schema import HUB_REPO_ID
    from ..metrics.contract import HEADLINE, headline_of
    from ..protocol.evaluate import evaluate_submission

    c = checked_or_raise(path, fingerprints, data_path, what="carded")
    if not c.truth.track.ranked:
        raise SubmitError(
            "a smoke submission (subsampled or filtered) is never ranked: its numbers go on no model card"
        )
    results = evaluate_submission(c.submission, truth=c.truth, resamples=resamples, seed=seed)
    b = results.model
    meta = c.submission.metadata
    ds = meta["protocol"]["dataset"]
    synthetic = bool(ds["synthetic"]) or ds["source"] == "sample"
    real = ds["source"] == "hub" and not synthetic
    dataset_type = HUB_REPO_ID if real else (SYNTHETIC_DATASET if synthetic else LOCAL_DATASET)
    dataset_name = (
        "Community Alignment"
        if real
        else (
            "Community Alignment SYNTHETIC sample (not the real data)"
            if synthetic
            else "a local Community Alignment file"
        )
    )
    s = b.axes[HEADLINE["axis"]].top1_accuracy if HEADLINE["axis"] in b.axes else None

    def ci(e) -> str:
        return "" if e.ci_low != e.ci_low else f" (95% CI {e.ci_low:.4f}–{e.ci_high:.4f})"

    metrics = [
        ("top1_accuracy_macro_country", HEADLINE["name"], headline_of(b)),
        ("top1_accuracy", "top-1 accuracy", b.overall.top1_accuracy),
        ("pairwise_accuracy", "pairwise accuracy", b.overall.pairwise_accuracy),
        ("pairwise_auc", "pairwise AUC", b.overall.pairwise_auc),
        ("nll", "negative log-likelihood", b.overall.nll),
    ]
    if s is not None:
        metrics += [
            ("top1_accuracy_worst_country", f"top-1 accuracy, worst country ({s.worst_group})", s.worst),
            ("top1_accuracy_country_gap", "top-1 accuracy, best − worst country", s.gap),
        ]
    if b.distributional.sets:
        metrics.append(
            ("one_minus_jsd", f"1 − JSD on {b.distributional.sets} sets with ≥ 10 raters", b.distributional.fit)
        )
    common = dict(
        task_type="text-classification",
        task_name="Pluralistic preference prediction (best of 4)",
        dataset_type=dataset_type,
        dataset_name=dataset_name,
        dataset_config="comparisons",
        dataset_split="test",
        dataset_revision=ds.get("revision") if real else None,
    )
    evals = [
        EvalResult(
            metric_type=t,
            metric_name=name + ci(e),
            metric_value=round(e.value, 6),
            metric_config=meta["protocol"]["id"],
            **common,
        )
        for t, name, e in metrics
        if e.value == e.value
    ]
    m = meta["model"]
    card = ModelCardData(
        model_name=m["name"],
        base_model=m.get("base_model") or None,
        datasets=[HUB_REPO_ID] if real else None,
        eval_results=evals,
    )
    head = ["---"]
    if synthetic:
        head.append("# WARNING: these numbers come from the SYNTHETIC sample, not the Community Alignment dataset.")
    elif not real:
        head.append("# Evaluated on a local file; its test split fingerprint: " + ds["fingerprint"])
    return "\n".join(head) + "\n" + card.to_yaml() + "\n---\n"
