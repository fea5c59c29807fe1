"""Prepare-speed benchmark on a CA-sized synthetic file (90,256 conversations, ≈1.9 GB).

Measures, in one run and each in a fresh subprocess (so peak RSS is per step):
  floor     a bare `pyarrow.csv.read_csv` of the file (same parse options as ours)
  baseline  pandas `read_csv` + a Python loop building chosen/rejected pairs + `Dataset.from_list`, the
            way public users get a TRL-ready dataset
  ours      `CommunityAlignment.download_and_prepare()` of every config (one process, as `prepare --all`)
  ours-core the read + clean + split + count step shared by all configs, and the pairwise config alone
  reload    `load_dataset("community_alignment")` from the prepared cache in a fresh process
and prints times, ratios against the floor/baseline, and peak RSS against the file size.

    python benchmarks/perf/prepare.py [--n-conversations 90256] [--baseline-rows 20000]

The baseline is timed on the first `--baseline-rows` conversations and scaled linearly (a full
Python loop over 90k rows takes many minutes); pass --baseline-rows 0 to run it on everything.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CACHE = os.path.join(ROOT, ".cache", "perf")

STEP = r"""
import json, resource, sys, time
step, path, cache, extra = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
t0 = time.perf_counter()
if step == "floor":
    import pyarrow.csv as pacsv
    t = pacsv.read_csv(path, read_options=pacsv.ReadOptions(block_size=64 << 20),
                       parse_options=pacsv.ParseOptions(newlines_in_values=True))
    rows = t.num_rows
elif step == "baseline":
    import pandas as pd
    df = pd.read_csv(path, dtype=str, keep_default_na=False, nrows=extra["nrows"] or None)
    pairs = []
    for _, r in df.iterrows():
        history = []
        for turn in ("first", "second", "third", "fourth"):
            prompt, label = r[f"{turn}_turn_prompt"], r[f"{turn}_turn_preferred_response"]
            if not prompt:
                break
            history.append({"role": "user", "content": prompt})
            if not label:
                history.append({"role": "assistant", "content": ""})
                continue
            chosen = r[f"{turn}_turn_{label}"]
            for x in "abcd":
                if f"response_{x}" != label and r[f"{turn}_turn_response_{x}"] and chosen:
                    rej = r[f"{turn}_turn_response_{x}"]
                    if rej != chosen:
                        pairs.append({"prompt": list(history), "chosen": [{"role": "assistant", "content": chosen}],
                                      "rejected": [{"role": "assistant", "content": rej}]})
            history.append({"role": "assistant", "content": chosen})
    import datasets
    rows = datasets.Dataset.from_list(pairs).num_rows  # what a user then hands to TRL
elif step in ("ours", "ours-pairwise"):
    from community_alignment import CommunityAlignment
    from community_alignment.data.builder import CONFIG_NAMES
    names = [c for c in CONFIG_NAMES if c != "pairwise"] + ["pairwise"] if step == "ours" else ["pairwise"]
    rows = 0
    for name in names:
        b = CommunityAlignment(config_name=name, source="local", data_path=path, cache_dir=cache)
        b.download_and_prepare()
        rows += sum(s.num_examples for s in b.info.splits.values())
elif step == "ours-core":
    from community_alignment.data.builder import load_prepared_table
    from community_alignment.data.sources import resolve
    table, meta = load_prepared_table(resolve("local", path), "prompt")
    rows = meta["pairs"]
elif step == "reload":
    from community_alignment import CommunityAlignment
    b = CommunityAlignment(config_name="pairwise", source="local", data_path=path, cache_dir=cache)
    t0 = time.perf_counter()
    ds = b.as_dataset()
    rows = sum(d.num_rows for d in ds.values())
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "rows": rows, "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def run_step(step: str, path: str, cache: str, extra: dict | None = None) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", STEP, step, path, cache, json.dumps(extra or {})],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    if out.returncode != 0:
        raise RuntimeError(f"{step} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def ensure_file(n: int) -> str:
    from community_alignment.synthetic.generate import GeneratorConfig, write

    path = os.path.join(CACHE, f"ca_synthetic_{n}.csv")
    if not os.path.exists(path):
        print(f"writing a CA-sized synthetic file ({n:,} conversations) to {path} (once) …", flush=True)
        t = time.perf_counter()
        write(path, GeneratorConfig(n_conversations=n, seed=1), progress=True)
        print(f"  done in {time.perf_counter() - t:.0f} s", flush=True)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-conversations", type=int, default=90256)
    ap.add_argument("--baseline-rows", type=int, default=20000)
    args = ap.parse_args()
    path = ensure_file(args.n_conversations)
    size = os.path.getsize(path)
    print(f"file: {path} ({size / 1e9:.2f} GB, {args.n_conversations:,} conversations)")
    res = {}
    with tempfile.TemporaryDirectory() as cache:
        res["floor"] = run_step("floor", path, cache)
        res["ours-core"] = run_step("ours-core", path, cache)
        with tempfile.TemporaryDirectory() as c2:
            res["ours-pairwise"] = run_step("ours-pairwise", path, c2)
        res["ours"] = run_step("ours", path, cache)
        res["reload"] = run_step("reload", path, cache)
    nrows = args.baseline_rows if 0 < args.baseline_rows < args.n_conversations else 0
    base = run_step("baseline", path, "", {"nrows": nrows})
    scale = args.n_conversations / nrows if nrows else 1.0
    base["seconds_scaled"] = base["seconds"] * scale
    res["baseline"] = base

    floor = res["floor"]["seconds"]
    print(f"\n{'step':16s} {'seconds':>9s} {'× floor':>8s} {'peak RSS':>10s} {'RSS/file':>9s}")
    for k in ("floor", "ours-core", "ours-pairwise", "ours", "reload"):
        r = res[k]
        print(
            f"{k:16s} {r['seconds']:9.1f} {r['seconds'] / floor:8.2f} {r['peak_rss'] / 1e9:9.2f}G {r['peak_rss'] / size:9.2f}"
        )
    b = res["baseline"]
    note = f" (timed on {nrows:,} rows ×{scale:.1f})" if nrows else ""
    print(
        f"{'baseline':16s} {b['seconds_scaled']:9.1f} {b['seconds_scaled'] / floor:8.2f} {b['peak_rss'] / 1e9:9.2f}G{note}"
    )
    print(
        f"\nours-pairwise vs baseline (pairs only, like for like): {b['seconds_scaled'] / res['ours-pairwise']['seconds']:.1f}× faster"
        f"\nours (all 6 configs) vs floor: {res['ours']['seconds'] / floor:.2f}×   goal ≤ 2×"
        f"\nours-pairwise vs floor: {res['ours-pairwise']['seconds'] / floor:.2f}×"
        f"\npeak RSS of ours: {res['ours']['peak_rss'] / size:.2f}× file size   goal ≤ 1.5×"
        f"\ncached reload: {res['reload']['seconds']:.2f} s   goal < 2 s"
    )
    os.makedirs(CACHE, exist_ok=True)
    with open(os.path.join(CACHE, "prepare_results.json"), "w") as f:
        json.dump({"file_bytes": size, **res}, f, indent=2)


if __name__ == "__main__":
    main()
