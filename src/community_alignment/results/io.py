"""Write and read results: results.json (validated against the shipped JSON Schema, written
atomically, NaN → null) and scores.parquet (the four candidate scores of every scored comparison)."""

from __future__ import annotations

import json
import math
import os
from importlib import resources

import numpy as np

from ..io_utils import atomic_write_bytes, atomic_write_json

SCHEMA_VERSION = 1


def load_schema() -> dict:
    return json.loads((resources.files("community_alignment.results") / "schema.json").read_text("utf-8"))


def clean_json(obj):
    """numpy → Python, NaN/inf → None (JSON has no NaN)."""
    if isinstance(obj, dict):
        return {str(k): clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean_json(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def schema_errors(results: dict) -> list[tuple[str, str]]:
    """(JSON path, message) for every JSON-Schema violation (empty when valid)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema())
    return [("/" + "/".join(map(str, e.absolute_path)), e.message) for e in validator.iter_errors(results)]


def validate_schema(results: dict) -> list[str]:
    """JSON-Schema problems as 'path: message' strings (empty when valid)."""
    return [f"{path[1:] or '(root)'}: {msg}" for path, msg in schema_errors(results)]


def write_results(path: str, results: dict) -> dict:
    results = clean_json(results)
    problems = validate_schema(results)
    if problems:
        raise ValueError("results do not match schema v1:\n" + "\n".join(problems))
    atomic_write_json(path, results)
    return results


def write_scores(path: str, ids: dict[str, np.ndarray], scores: dict[str, np.ndarray]) -> None:
    """Parquet with the comparison ids/metadata and, per scorer, its four scores (score_<name>_a..d)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = {k: pa.array(list(v)) for k, v in ids.items()}
    for name, s in scores.items():
        for j, x in enumerate("abcd"):
            cols[f"score_{name}_{x}"] = pa.array(np.asarray(s)[:, j], pa.float64())
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table(cols), sink)
    atomic_write_bytes(path, sink.getvalue().to_pybytes())


def read_results(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def package_versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for p in (
        "community-alignment",
        "datasets",
        "transformers",
        "trl",
        "accelerate",
        "torch",
        "huggingface-hub",
        "numpy",
    ):
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            out[p] = None
    return out


def git_sha() -> str | None:
    import subprocess

    here = os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
