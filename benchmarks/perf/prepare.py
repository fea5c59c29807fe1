"""Prepare-speed benchmark on a CA-sized synthetic file (90,256 conversations, 1.73 GB of CSV).

The real file (`community_alignment.csv` on the Hub) is a plain CSV, so the default file here is one
too (`--gzip`: the same rows gzip-compressed). Each step runs in a fresh process (peak RSS is per
step):
  read      a bare `pyarrow.csv.read_csv` of the file (type inference, 2 threads)
  write     a bare Arrow IPC stream write (pyarrow, no `datasets`) of as many bytes as a step of ours
            wrote, file for file (1 MiB record batches of one in-memory buffer; only the writes are
            timed), the files kept until the step ends, as a prepared cache keeps its own (a file
            deleted at once hands its page cache back to the next one)
  floor     read + write of the same output bytes: the goal's yardstick for each step
  ours      `prepare` of every config (one process, as `prepare --all`): bytes written per config
  ours-pw   `prepare` of the pairwise config alone
  reload    `as_dataset()` of the prepared pairwise cache in a fresh process
  digest    the file's SHA-256, computed once per file (the cache key; remembered afterwards, so the
            other steps do not pay it)
  baseline  pandas `read_csv` + a Python loop building chosen/rejected pairs + `Dataset.from_list`, the
            way public users get a TRL-ready dataset (optional)

Wall times on a shared or virtual machine move between runs of the same code (other jobs, and on this
project's VM the host backing freshly touched memory: page cache included), so the floors and ours
are measured in the same rounds (`--repeat`, default 3), each floor just before its step of ours and
with ours' output of the step before deleted, and each ratio is taken within a round; the median is
reported with the range. Goals (issue 11): pairwise ≤ 1.5× its floor, all configs ≤ 2× theirs, peak RSS
≤ 1.5× the file.

    python benchmarks/perf/prepare.py [--gzip] [--repeat 3] [--baseline-rows 20000 | 0 | -1]

The baseline is timed on the first `--baseline-rows` conversations and scaled linearly (a full
Python loop over 90k rows takes many minutes); pass --baseline-rows 0 to run it on everything.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CACHE = os.path.join(ROOT, ".cache", "perf")

STEP = r"""
import json, os, resource, sys, time
step, path, cache, extra = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
t0, c0 = time.perf_counter(), os.times()
if step == "write":
    import numpy as np, pyarrow as pa
    # one 1 MiB record batch (16 binary values of 64 KiB), written as often as a file of ours has MiB
    offsets = pa.py_buffer((np.arange(17, dtype=np.int32) << 16).tobytes())
    values = pa.Array.from_buffers(pa.binary(), 16, [None, offsets, pa.py_buffer(os.urandom(1 << 20))])
    batch = pa.record_batch([values], names=["b"])
    rows, wall, cpu, written = 0, 0.0, 0.0, []
    for i, size in enumerate(extra["sizes"]):
        out = os.path.join(cache, f"w{i}.arrow")
        t, c = time.perf_counter(), os.times()
        with pa.OSFile(out, "wb") as sink, pa.ipc.new_stream(sink, batch.schema) as w:
            for _ in range(-(-size // (1 << 20))):
                w.write_batch(batch)
        c2 = os.times()
        wall += time.perf_counter() - t
        cpu += c2.user + c2.system - c.user - c.system
        written.append(out)
    for out in written:  # kept until all are written, as a prepared cache keeps its files
        os.unlink(out)
elif step == "read":
    import pyarrow.csv as pacsv
    t = pacsv.read_csv(path, read_options=pacsv.ReadOptions(block_size=64 << 20),
                       parse_options=pacsv.ParseOptions(newlines_in_values=True))
    rows = t.num_rows
elif step == "digest":
    from community_alignment.data import sources
    t0, c0 = time.perf_counter(), os.times()
    sources.file_sha256(path)  # what the first prepare of a file adds (only this is timed)
    done, c_done = time.perf_counter(), os.times()
    sources.content_digest(path)  # computed again and remembered, so the rounds do not pay it
    rows = 0
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
elif step in ("ours", "ours-pw"):
    from community_alignment.data import builder
    from community_alignment.data.export import prepare
    from community_alignment.data.sources import SourceSpec
    per_config, real = {}, builder.CommunityAlignment.download_and_prepare
    def timed(self, *a, **k):  # measures each config's share; the work is prepare's own
        t = time.perf_counter()
        real(self, *a, **k)
        per_config[self.config.name] = per_config.get(self.config.name, 0.0) + time.perf_counter() - t
    builder.CommunityAlignment.download_and_prepare = timed
    names = builder.CONFIG_NAMES if step == "ours" else ["pairwise"]
    imported = time.perf_counter() - t0
    built = prepare(names, SourceSpec("local", path), cache_dir=cache)
    done, c_done = time.perf_counter(), os.times()  # the file listing below is not timed
    rows = sum(s.num_examples for b in built.values() for s in b.info.splits.values())
    files = {n: [f["filename"] for d in b.as_dataset().values() for f in d.cache_files] for n, b in built.items()}
elif step == "reload":
    from community_alignment import CommunityAlignment
    b = CommunityAlignment(config_name="pairwise", source="local", data_path=path, cache_dir=cache)
    t0, c0 = time.perf_counter(), os.times()
    ds = b.as_dataset()
    rows = sum(d.num_rows for d in ds.values())
c1 = os.times()
if step in ("ours", "ours-pw", "digest"):
    c1 = c_done
res = {"seconds": (done if step in ("ours", "ours-pw", "digest") else time.perf_counter()) - t0,
       "cpu": c1.user + c1.system - c0.user - c0.system, "rows": rows,
       "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
if step == "write":
    res["seconds"], res["cpu"] = wall, cpu
if step in ("ours", "ours-pw"):
    res["imports"] = imported
    res["per_config"] = per_config
    res["sizes"] = [os.path.getsize(f) for fs in files.values() for f in fs]
    res["bytes"] = {n: sum(os.path.getsize(f) for f in fs) for n, fs in files.items()}
print(json.dumps(res))
"""


def run_step(step: str, path: str, cache: str, extra: dict | None = None) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", STEP, step, path, cache, json.dumps(extra or {})],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"},
    )
    if out.returncode != 0:
        raise RuntimeError(f"{step} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def ensure_file(n: int, gzip: bool) -> str:
    from community_alignment.synthetic.generate import GeneratorConfig, write

    path = os.path.join(CACHE, f"ca_synthetic_{n}.csv" + (".gz" if gzip else ""))
    if not os.path.exists(path):
        print(f"writing a CA-sized synthetic file ({n:,} conversations) to {path} (once) …", flush=True)
        t = time.perf_counter()
        write(path, GeneratorConfig(n_conversations=n, seed=1), progress=True)
        print(f"  done in {time.perf_counter() - t:.0f} s", flush=True)
    return path


def one_round(path: str, sizes: dict[str, list[int]]) -> dict:
    """Every step once, each floor just before its step of ours. A floor writes the byte counts of
    ours' files (`sizes`, from the first run of ours), not ours' files themselves: ours' output is
    deleted before the next step, so each step starts with the machine in the same state."""
    res = {}
    with tempfile.TemporaryDirectory() as scratch:
        res["read"] = run_step("read", path, scratch)
    with tempfile.TemporaryDirectory() as scratch:
        res["write-pw"] = run_step("write", path, scratch, {"sizes": sizes["ours-pw"]})
    with tempfile.TemporaryDirectory() as cache:
        res["ours-pw"] = run_step("ours-pw", path, cache)
    with tempfile.TemporaryDirectory() as scratch:
        res["write-all"] = run_step("write", path, scratch, {"sizes": sizes["ours"]})
    with tempfile.TemporaryDirectory() as cache:
        res["ours"] = run_step("ours", path, cache)
        res["reload"] = run_step("reload", path, cache)
    read = res["read"]["seconds"]
    res["floor-pw"] = read + res["write-pw"]["seconds"]
    res["floor-all"] = read + res["write-all"]["seconds"]
    res["ratio-pw"] = res["ours-pw"]["seconds"] / res["floor-pw"]
    res["ratio-all"] = res["ours"]["seconds"] / res["floor-all"]
    res["load"] = os.getloadavg()[0]
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", help="a CA-sized file (default: generated once into .cache/perf/)")
    ap.add_argument("--gzip", action="store_true", help="the generated file gzip-compressed")
    ap.add_argument("--n-conversations", type=int, default=90256)
    ap.add_argument("--repeat", type=int, default=3, help="rounds of every step (the median round is reported)")
    ap.add_argument("--baseline-rows", type=int, default=20000, help="-1: skip the pandas baseline")
    args = ap.parse_args()
    path = args.file or ensure_file(args.n_conversations, args.gzip)
    size = os.path.getsize(path)
    import pyarrow as pa

    with pa.input_stream(path, compression="detect") as f:
        raw_size = sum(len(chunk) for chunk in iter(lambda: f.read(64 << 20), b""))
    print(f"file: {path} ({size / 1e9:.2f} GB on disk, {raw_size / 1e9:.2f} GB of CSV)", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        digest = run_step("digest", path, scratch)  # once per file; remembered for the rounds
    first = {}
    for step in ("ours-pw", "ours"):  # the byte counts the floors write (and a first run, reported)
        with tempfile.TemporaryDirectory() as cache:
            first[step] = run_step(step, path, cache)
    sizes = {step: r["sizes"] for step, r in first.items()}
    rounds = []
    for i in range(args.repeat):
        rounds.append(one_round(path, sizes))
        r = rounds[-1]
        print(
            f"round {i + 1}: pairwise {r['ours-pw']['seconds']:.1f} s / floor {r['floor-pw']:.1f} s = {r['ratio-pw']:.2f}×;"
            f" all {r['ours']['seconds']:.1f} s / floor {r['floor-all']:.1f} s = {r['ratio-all']:.2f}×"
            f" (load {r['load']:.2f})",
            flush=True,
        )
    base = None
    if args.baseline_rows >= 0:
        nrows = args.baseline_rows if 0 < args.baseline_rows < args.n_conversations else 0
        base = run_step("baseline", path, "", {"nrows": nrows})
        base["seconds_scaled"] = base["seconds"] * (args.n_conversations / nrows if nrows else 1.0)

    def med(key: str, sub: str | None = None) -> float:
        return statistics.median(r[key][sub] if sub else r[key] for r in rounds)

    def span(key: str, sub: str = "seconds") -> str:
        vals = [r[key][sub] if sub else r[key] for r in rounds]
        return f"{min(vals):.2f}–{max(vals):.2f}"

    last = rounds[-1]
    print("\nper config of `prepare --all`: bytes written (Arrow, datasets cache), seconds (median round)")
    for name, n in last["ours"]["bytes"].items():
        sec = statistics.median(r["ours"]["per_config"][name] for r in rounds)
        print(f"  {name:24s} {n / 1e9:8.3f} GB {sec:7.2f} s")
    total = sum(last["ours"]["bytes"].values())
    print(f"  {'total':24s} {total / 1e9:8.3f} GB")
    print(
        f"first run (before the rounds): pairwise {first['ours-pw']['seconds']:.2f} s,"
        f" prepare --all {first['ours']['seconds']:.2f} s"
    )
    print(f"\nmedians over {len(rounds)} rounds (range in brackets)")
    print(f"{'step':22s} {'seconds':>20s} {'CPU s':>7s} {'peak RSS':>9s} {'RSS/file':>9s}")
    for label, key in [
        ("read (bare pyarrow)", "read"),
        ("write pairwise (bare)", "write-pw"),
        ("write all (bare)", "write-all"),
        ("ours: pairwise", "ours-pw"),
        ("ours: prepare --all", "ours"),
        ("cached reload", "reload"),
    ]:
        sec, cpu = med(key, "seconds"), med(key, "cpu")
        rss = max(r[key]["peak_rss"] for r in rounds)
        print(f"{label:22s} {sec:7.2f} [{span(key):>11s}] {cpu:7.1f} {rss / 1e9:8.2f}G {rss / raw_size:9.2f}")
    loads = ", ".join(f"{r['load']:.2f}" for r in rounds)
    imports = med("ours-pw", "imports")
    print(
        f"\nof ours, starting Python and importing datasets and the package: {imports:.2f} s (in every figure of"
        " ours above; the bare read imports pyarrow only)"
        f"\ncontent digest (SHA-256, once per file): {digest['seconds']:.2f} s"
        f"\npairwise vs its floor (read + write of its bytes): {med('ratio-pw'):.2f}× [{span('ratio-pw', '')}]"
        f"   goal ≤ 1.5×"
        f"\nprepare --all vs its floor: {med('ratio-all'):.2f}× [{span('ratio-all', '')}]   goal ≤ 2×"
        f"\npeak RSS of prepare --all: {max(r['ours']['peak_rss'] for r in rounds) / raw_size:.2f}× the CSV"
        f" (pairwise alone {max(r['ours-pw']['peak_rss'] for r in rounds) / raw_size:.2f}×)   goal ≤ 1.5×"
        f"\nload average after each round: {loads}"
    )
    if base is not None:
        print(
            f"pandas baseline (scaled): {base['seconds_scaled']:.1f} s ="
            f" {base['seconds_scaled'] / med('ours-pw', 'seconds'):.1f}× ours-pairwise"
        )
    os.makedirs(CACHE, exist_ok=True)
    out = os.path.join(CACHE, "prepare_results.json")
    with open(out, "w") as f:
        json.dump(
            {
                "file": path,
                "file_bytes": size,
                "csv_bytes": raw_size,
                "digest": digest,
                "rounds": rounds,
                "baseline": base,
            },
            f,
            indent=2,
        )
    print(f"all figures: {out}")


if __name__ == "__main__":
    main()
