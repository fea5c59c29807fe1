"""Prepare-speed benchmark on a CA-sized synthetic file (90,256 conversations).

Measures, in one run and each in a fresh subprocess (so peak RSS is per step):
  read      a bare `pyarrow.csv.read_csv` of the file (same parse options as ours)
  write     a bare Arrow IPC write (pyarrow, no `datasets`) of exactly the bytes a step wrote: the
            tables are loaded first (untimed), only the write is timed
  floor     read + write of the same output bytes: the goal's yardstick for each step
  baseline  pandas `read_csv` + a Python loop building chosen/rejected pairs + `Dataset.from_list`, the
            way public users get a TRL-ready dataset
  ours      `prepare` of every config (one process, as `prepare --all`): bytes written per config
  ours-core the read + clean + split + count step shared by all configs, and the pairwise config alone
  reload    `as_dataset()` of the prepared pairwise cache in a fresh process
and prints wall and CPU seconds (all threads), ratios against the floors, bytes per config, peak RSS
against the file size and the load average (other jobs on the cores stretch wall times unevenly).
Goals (issue 11): pairwise ≤ 1.5× its floor, all configs ≤ 2× theirs, peak RSS ≤ 1.5× the file.

    community-alignment make-sample --out /tmp/x.csv.gz --n-conversations 90256
    python benchmarks/perf/prepare.py --file /tmp/x.csv.gz [--baseline-rows 20000 | --baseline-rows -1]

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
t0, c0 = time.perf_counter(), time.process_time()
if step == "write":
    import os, pyarrow as pa
    rows, t0, c0 = 0, 0.0, 0.0
    for i, f in enumerate(extra["files"]):
        with open(f, "rb") as src:
            table = pa.ipc.open_stream(src).read_all()  # untimed: the data is in memory before the write
        out = os.path.join(cache, f"w{i}.arrow")
        t, c = time.perf_counter(), time.process_time()
        with pa.OSFile(out, "wb") as sink, pa.ipc.new_stream(sink, table.schema) as w:
            w.write_table(table, max_chunksize=1000)
        t0 -= time.perf_counter() - t
        c0 -= time.process_time() - c
        rows += table.num_rows
        del table
        os.unlink(out)
    t0 += time.perf_counter()
    c0 += time.process_time()
elif step == "floor":
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
    from community_alignment.data.builder import CONFIG_NAMES
    from community_alignment.data.export import prepare
    from community_alignment.data.sources import SourceSpec
    names = CONFIG_NAMES if step == "ours" else ["pairwise"]
    built = prepare(names, SourceSpec("local", path), cache_dir=cache)
    rows = sum(s.num_examples for b in built.values() for s in b.info.splits.values())
    files = {n: [f["filename"] for d in b.as_dataset().values() for f in d.cache_files] for n, b in built.items()}
elif step == "ours-core":
    from community_alignment.data.builder import load_prepared_table
    from community_alignment.data.sources import resolve
    table, meta = load_prepared_table(resolve("local", path), "prompt")
    rows = meta["pairs"]
elif step == "reload":
    from community_alignment import CommunityAlignment
    b = CommunityAlignment(config_name="pairwise", source="local", data_path=path, cache_dir=cache)
    t0, c0 = time.perf_counter(), time.process_time()
    ds = b.as_dataset()
    rows = sum(d.num_rows for d in ds.values())
dt = time.perf_counter() - t0
cpu = time.process_time() - c0
res = {"seconds": dt, "cpu": cpu, "rows": rows, "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
if step in ("ours", "ours-pairwise"):
    import os
    res["files"] = files
    res["bytes"] = {n: sum(os.path.getsize(f) for f in fs) for n, fs in files.items()}
print(json.dumps(res))
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

    path = os.path.join(CACHE, f"ca_synthetic_{n}.csv.gz")
    if not os.path.exists(path):
        print(f"writing a CA-sized synthetic file ({n:,} conversations) to {path} (once) …", flush=True)
        t = time.perf_counter()
        write(path, GeneratorConfig(n_conversations=n, seed=1), progress=True)
        print(f"  done in {time.perf_counter() - t:.0f} s", flush=True)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", help="a CA-sized file (default: generated once into .cache/perf/)")
    ap.add_argument("--n-conversations", type=int, default=90256)
    ap.add_argument("--baseline-rows", type=int, default=20000, help="-1: skip the pandas baseline")
    args = ap.parse_args()
    path = args.file or ensure_file(args.n_conversations)
    size = os.path.getsize(path)
    import pyarrow as pa

    with pa.input_stream(path, compression="detect") as f:
        raw_size = sum(len(chunk) for chunk in iter(lambda: f.read(64 << 20), b""))
    print(f"file: {path} ({size / 1e9:.2f} GB on disk, {raw_size / 1e9:.2f} GB of CSV)", flush=True)
    res = {}
    with tempfile.TemporaryDirectory() as cache:
        res["read"] = run_step("floor", path, cache)
        res["ours-core"] = run_step("ours-core", path, cache)
        with tempfile.TemporaryDirectory() as c2:
            res["ours-pairwise"] = run_step("ours-pairwise", path, c2)
            res["write-pairwise"] = run_step("write", path, c2, {"files": res["ours-pairwise"]["files"]["pairwise"]})
        res["ours"] = run_step("ours", path, cache)
        all_files = [f for fs in res["ours"]["files"].values() for f in fs]
        res["write-all"] = run_step("write", path, cache, {"files": all_files})
        res["reload"] = run_step("reload", path, cache)
    if args.baseline_rows >= 0:
        nrows = args.baseline_rows if 0 < args.baseline_rows < args.n_conversations else 0
        base = run_step("baseline", path, "", {"nrows": nrows})
        base["seconds_scaled"] = base["seconds"] * (args.n_conversations / nrows if nrows else 1.0)
        res["baseline"] = base

    read = res["read"]["seconds"]
    floor_pw = read + res["write-pairwise"]["seconds"]
    floor_all = read + res["write-all"]["seconds"]
    print("\nbytes written per config (Arrow, datasets cache) by `prepare --all`:")
    for name, n in res["ours"]["bytes"].items():
        print(f"  {name:24s} {n / 1e9:8.3f} GB")
    total = sum(res["ours"]["bytes"].values())
    print(f"  {'total':24s} {total / 1e9:8.3f} GB")
    print(
        f"\n{'step':16s} {'seconds':>9s} {'floor s':>8s} {'× floor':>8s} {'CPU s':>7s} {'peak RSS':>10s} {'RSS/file':>9s}"
    )
    rows = [
        ("read (bare)", res["read"], read),
        ("ours-core", res["ours-core"], read),
        ("ours-pairwise", res["ours-pairwise"], floor_pw),
        ("ours (all)", res["ours"], floor_all),
        ("reload", res["reload"], None),
    ]
    for label, r, floor in rows:
        ratio = f"{r['seconds'] / floor:8.2f}" if floor else f"{'–':>8s}"
        fl = f"{floor:8.1f}" if floor else f"{'–':>8s}"
        print(
            f"{label:16s} {r['seconds']:9.2f} {fl} {ratio} {r['cpu']:7.1f} {r['peak_rss'] / 1e9:9.2f}G"
            f" {r['peak_rss'] / raw_size:9.2f}"
        )
    load = os.getloadavg()
    print(
        f"\nbare Arrow write: pairwise {res['write-pairwise']['seconds']:.1f} s, all configs {res['write-all']['seconds']:.1f} s"
        f" (CPU {res['write-pairwise']['cpu']:.1f} / {res['write-all']['cpu']:.1f} s)"
        f"\nload average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (ratios are against floors of the same run;"
        " other jobs on the cores distort them: compare the CPU seconds too)"
        f"\npairwise vs its floor (read + write of its bytes): {res['ours-pairwise']['seconds'] / floor_pw:.2f}×   goal ≤ 1.5×"
        f"\nprepare --all vs its floor: {res['ours']['seconds'] / floor_all:.2f}×   goal ≤ 2×"
        f"\npeak RSS of prepare --all: {res['ours']['peak_rss'] / raw_size:.2f}× the CSV   goal ≤ 1.5×"
        f"\ncached reload: {res['reload']['seconds']:.2f} s"
    )
    if "baseline" in res:
        b = res["baseline"]
        print(
            f"pandas baseline (scaled): {b['seconds_scaled']:.1f} s = {b['seconds_scaled'] / res['ours-pairwise']['seconds']:.1f}× ours-pairwise"
        )
    os.makedirs(CACHE, exist_ok=True)
    for r in (res["ours"], res["ours-pairwise"]):
        r.pop("files", None)
    with open(os.path.join(CACHE, "prepare_results.json"), "w") as f:
        json.dump({"file": path, "file_bytes": size, "csv_bytes": raw_size, **res}, f, indent=2)


if __name__ == "__main__":
    main()
