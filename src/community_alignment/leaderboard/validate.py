"""Validate results files before they enter the leaderboard: the JSON Schema, then semantic checks.

Every problem is reported with its JSON path; nothing stops at the first one.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass

from ..metrics.groups import AXES, MISSING
from ..results.io import schema_errors

MAX_BYTES = 5 << 20
MAX_STRING = 200
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/ ()+]*$")
REVISION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/]{0,99}$")
RATE_METRICS = ("top1_accuracy", "pairwise_accuracy")


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def load_json(path: str) -> tuple[dict | None, list[Problem]]:
    if os.path.getsize(path) > MAX_BYTES:
        return None, [Problem("(file)", f"file is larger than {MAX_BYTES >> 20} MB")]
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f, parse_constant=lambda c: float(c))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        return None, [Problem("(file)", f"not valid JSON: {e}")]
    if not isinstance(data, dict):
        return None, [Problem("(root)", "expected a JSON object")]
    return data, []


def _leaves(obj, path: str):
    """(JSON path, value) of every leaf, and of every object key (as a string), depth first."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield f"{path}/{k}", str(k)
            yield from _leaves(v, f"{path}/{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _leaves(v, f"{path}/{i}")
    else:
        yield path, obj


def _check_block(block: dict, path: str, problems: list[Problem]) -> None:
    for m in (*RATE_METRICS, "nll"):
        est = block.get(m)
        if not isinstance(est, dict):
            continue
        v, lo, hi = est.get("value"), est.get("ci_low"), est.get("ci_high")
        upper = 1.0 if m in RATE_METRICS else math.inf
        for name, x in (("value", v), ("ci_low", lo), ("ci_high", hi)):
            if isinstance(x, (int, float)) and not (0.0 <= x <= upper):
                problems.append(Problem(f"{path}/{m}/{name}", f"{x} is outside [0, {upper}]"))
        if all(isinstance(x, (int, float)) for x in (v, lo, hi)) and not (lo - 1e-9 <= v <= hi + 1e-9):
            problems.append(Problem(f"{path}/{m}", f"value {v} is outside its CI [{lo}, {hi}]"))
    ece = block.get("ece")
    if isinstance(ece, (int, float)) and not 0.0 <= ece <= 1.0:
        problems.append(Problem(f"{path}/ece", f"{ece} is outside [0, 1]"))


def known_groups() -> dict[str, set[str]]:
    from ..data import schema

    return {
        "country": set(schema.COUNTRIES),
        "language": set(schema.LANGUAGES),
        "turn": {f"turn_{i}" for i in range(1, 5)},
        "wave": {"wave_1", "wave_2"},
        "prompt_origin": {"pregenerated", "annotator-written"},
    }


def semantic_problems(data: dict, expected_fingerprint: str | None) -> list[Problem]:
    problems: list[Problem] = []
    for path, x in _leaves(data, ""):
        if isinstance(x, float) and not math.isfinite(x):
            problems.append(Problem(path or "(root)", f"non-finite number {x}"))
        elif isinstance(x, str) and len(x) > 10_000:
            problems.append(Problem(path, f"string of {len(x)} characters (limit 10000)"))
    cfg = data.get("config", {})
    name = cfg.get("model_name")
    if isinstance(name, str) and (len(name) > MAX_STRING or not NAME_RE.match(name)):
        problems.append(
            Problem("/config/model_name", "must be a Hub id or plain name (letters, digits, . _ - / ( ) +)")
        )
    sha = cfg.get("model_sha")
    if isinstance(sha, str) and not REVISION_RE.match(sha):
        problems.append(Problem("/config/model_sha", f"not a well-formed revision: {sha[:40]!r}"))
    if cfg.get("method") == "dpo":
        if not cfg.get("ref_model"):
            problems.append(Problem("/config/ref_model", "a DPO submission must name its reference model"))
        if not isinstance(cfg.get("beta"), (int, float)) or cfg.get("beta", 0) <= 0:
            problems.append(Problem("/config/beta", "a DPO submission must give β > 0"))
    ds = cfg.get("dataset", {})
    if expected_fingerprint and ds.get("split_fingerprint") != expected_fingerprint:
        problems.append(
            Problem(
                "/config/dataset/split_fingerprint",
                f"does not match the current builder's {ds.get('split', 'test')} split ({expected_fingerprint[:12]}…)",
            )
        )
    if isinstance(data.get("overall"), dict):
        _check_block(data["overall"], "/overall", problems)
        if data["overall"].get("n") != ds.get("comparisons"):
            problems.append(
                Problem(
                    "/overall/n", f"{data['overall'].get('n')} ≠ config.dataset.comparisons {ds.get('comparisons')}"
                )
            )
    known = known_groups()
    results = data.get("results", {})
    for axis, entry in results.items() if isinstance(results, dict) else []:
        if axis == "distributional":
            continue
        if axis not in AXES:
            problems.append(Problem(f"/results/{axis}", "unknown axis"))
            continue
        groups = entry.get("groups", {}) if isinstance(entry, dict) else {}
        total = 0
        for g, block in groups.items():
            if axis in known and g not in known[axis] and g != MISSING:
                problems.append(Problem(f"/results/{axis}/groups/{g}", "unknown group"))
            if isinstance(block, dict):
                _check_block(block, f"/results/{axis}/groups/{g}", problems)
                total += block.get("n", 0) if isinstance(block.get("n"), int) else 0
        if groups and total != ds.get("comparisons"):
            problems.append(
                Problem(f"/results/{axis}/groups", f"group sizes sum to {total}, not {ds.get('comparisons')}")
            )
    for axis in ("country", "language", "turn"):
        if isinstance(results, dict) and axis not in results:
            problems.append(Problem(f"/results/{axis}", "missing required axis"))
    return problems


def expected_test_fingerprint(data: dict) -> str | None:
    """The builder's fingerprint of the split named in the file (the embedded sample: always computable)."""
    from ..data.builder import load_prepared_table
    from ..data.sources import resolve

    ds = data.get("config", {}).get("dataset", {})
    if ds.get("source") != "sample":
        return None
    _, meta = load_prepared_table(resolve("sample"), ds.get("split_by", "prompt"))
    return meta["split_manifest"]["fingerprints"].get(ds.get("split", "test"))


def validate_file(path: str, expected_fingerprint: str | None = None) -> list[Problem]:
    data, problems = load_json(path)
    if data is None:
        return problems
    problems += [Problem(path, msg) for path, msg in schema_errors(data)]
    fp = expected_fingerprint or expected_test_fingerprint(data)
    problems += semantic_problems(data, fp)
    return problems


def validate_many(paths: list[str], expected_fingerprint: str | None = None) -> dict[str, list[Problem]]:
    """Problems per file, plus duplicate (model, revision, method, conditioning) entries across files."""
    out = {p: validate_file(p, expected_fingerprint) for p in paths}
    seen: dict[tuple, str] = {}
    for p in paths:
        data, _ = load_json(p)
        if not data or not isinstance(data.get("config"), dict):
            continue
        c = data["config"]
        key = (c.get("model_name"), c.get("model_sha"), c.get("method"), c.get("conditioning"))
        if key in seen:
            out[p].append(Problem("/config", f"duplicate of {seen[key]} (same model, revision, method, conditioning)"))
        else:
            seen[key] = p
    return out
