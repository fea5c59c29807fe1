"""`community-alignment`: thin subcommands over the package (parse, call one function, print)."""

from __future__ import annotations

import argparse
import json
import os
import sys

DESCRIPTION = """\
Community Alignment (CA) for Hugging Face users.

Data sources (every subcommand that reads data takes these flags):
  --source hub     download community_alignment.csv from facebook/community-alignment-dataset at the
                   pinned revision (default; uses the HF cache, honours HF_HUB_OFFLINE)
  --source local   a CA CSV or the Hub's parquet export at --data-path (v1.0/v1.1 detected by columns)
  --source sample  the embedded SYNTHETIC sample (offline; labelled synthetic everywhere)

Exit status: 0 success, 1 the command failed (bad data, unreachable Hub, refused overwrite), 2 usage error.
Progress bars follow HF_DATASETS_DISABLE_PROGRESS_BARS / HF_HUB_DISABLE_PROGRESS_BARS.
"""


class CommandError(RuntimeError):
    """A runtime failure of a subcommand: printed as `error: …`, exit status 1."""


def _add_source_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data source")
    g.add_argument("--source", choices=("hub", "local", "sample"), default="hub", help="where the CA file comes from")
    g.add_argument("--data-path", help="path of the CSV/parquet (with --source local; optional with sample)")
    g.add_argument("--revision", help="Hub revision: commit, branch or tag (default: the pinned v1.1 commit)")
    g.add_argument(
        "--hub-file", choices=("v1.1", "v1.0-filtered", "v1.0-full"), default="v1.1", help="which Hub file to use"
    )
    g.add_argument("--split-by", choices=("prompt", "annotator"), default="prompt", help="disjoint unit of the splits")


def source_spec(args: argparse.Namespace):
    """The `SourceSpec` of the source flags (the one object every data-reading command uses)."""
    from .data.sources import SourceSpec

    return SourceSpec.of(args)


def _load(args: argparse.Namespace):
    from .data.builder import load_prepared_table
    from .data.sources import resolve

    spec = source_spec(args)
    return load_prepared_table(resolve(spec), spec.split_by)


def cmd_info(args: argparse.Namespace) -> int:
    from .data.builder import count_rows

    _, meta = _load(args)
    out = {
        k: meta[k]
        for k in (
            "synthetic",
            "source",
            "revision",
            "file",
            "schema_version",
            "conversations",
            "comparisons",
            "pairs",
            "dropped",
            "cleaned",
            "extra_columns",
            "inconsistencies",
            "commit",
            "sha256",
        )
    }
    out["split_fingerprints"] = meta["split_manifest"]["fingerprints"]
    out["split_by"] = args.split_by
    out["configs"] = count_rows(meta)
    if args.json:
        print(json.dumps(out, indent=2, sort_keys=True))
        return 0
    label = " (SYNTHETIC sample)" if meta["synthetic"] else ""
    print(f"Community Alignment{label}: {meta['file']} ({meta['schema_version']}, source {meta['source']})")
    print(f"  conversations {meta['conversations']:,}  comparisons {meta['comparisons']:,}  pairs {meta['pairs']:,}")
    print("  dropped: " + ", ".join(f"{k}={v:,}" for k, v in meta["dropped"].items()))
    print("  cleaned: " + ", ".join(f"{k}={v:,}" for k, v in meta["cleaned"].items()))
    for cfg, splits in out["configs"].items():
        print(f"  {cfg:14s} " + "  ".join(f"{s}={n:,}" for s, n in splits.items()))
    print(f"  test split fingerprint: {out['split_fingerprints']['test']}")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    from .data.builder import CONFIG_NAMES, read_meta
    from .data.export import prepare

    configs = CONFIG_NAMES if args.all else (args.config or ["pairwise"])
    prepared = prepare(configs, source_spec(args), cache_dir=args.cache_dir)
    for name, builder in prepared.items():
        splits = builder.info.splits
        print(
            f"{name:22s} "
            + "  ".join(f"{s}={info.num_examples:,}" for s, info in splits.items())
            + f"  ({sum(info.num_bytes for info in splits.values()) / 1e6:,.1f} MB)"
        )
    empty = [c for c in configs if c not in prepared]
    if empty:
        print(f"not built, no rows in this file: {', '.join(empty)}")
    meta = read_meta(next(iter(prepared.values())).info)
    print("dropped: " + ", ".join(f"{k}={v:,}" for k, v in meta["dropped"].items()))
    odd = {k: v for k, v in meta.get("inconsistencies", {}).items() if v}
    if odd:
        print("kept but inconsistent: " + ", ".join(f"{k}={v:,}" for k, v in odd.items()))
    if meta["synthetic"]:
        print("note: built from the SYNTHETIC sample, not the real dataset")
    first = next(iter(prepared))
    print(f'load with: datasets.load_dataset("community_alignment", "{first}")')
    if "pairwise" in prepared:
        print(
            "note: TRL's RewardTrainer drops pairs longer than its --max_length; see the card's "
            '"Training with TRL\'s own CLI" (config pairwise_last_turn)'
        )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .data.builder import CONFIG_NAMES
    from .data.export import export

    written = export(
        args.out_dir,
        source_spec(args),
        configs=args.config or CONFIG_NAMES,
        cache_dir=args.cache_dir,
        push_to_hub=args.push_to_hub,
        overwrite=args.overwrite,
    )
    for rel, n in written.items():
        print(f"{rel}: {n:,} rows")
    print(f"wrote {args.out_dir}/README.md; load with datasets.load_dataset({args.out_dir!r}[, CONFIG])")
    if args.push_to_hub:
        print(f"pushed to https://huggingface.co/datasets/{args.push_to_hub}")
    return 0


def cmd_card(args: argparse.Namespace) -> int:
    from .data.card import render_card

    table, meta = _load(args)
    text = render_card(table, meta)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        from .io_utils import atomic_write_text

        atomic_write_text(args.out, text)
        print(f"wrote {args.out}")
    return 0


def cmd_make_sample(args: argparse.Namespace) -> int:
    from .synthetic.generate import GeneratorConfig, write
    from .synthetic.sample import SAMPLE_CONFIG, make_sample

    if args.out_dir is None and args.out is None:
        raise CommandError("give --out-dir DIR (the sample files) or --out FILE (a custom synthetic CSV)")
    if args.out is None and args.n_conversations is None and args.seed is None and args.layout == "v1.1":
        info = make_sample(args.out_dir)
    else:
        cfg = GeneratorConfig(
            n_conversations=args.n_conversations or SAMPLE_CONFIG.n_conversations,
            seed=SAMPLE_CONFIG.seed if args.seed is None else args.seed,
            layout=args.layout,
        )
        if args.out is None:
            raise CommandError("--out FILE is needed when changing the sample's size, seed or layout")
        info = write(args.out, cfg, progress=True)
    print(json.dumps(info, indent=2))
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from .pipeline.config import parse_args
    from .pipeline.run import run
    from .protocol.tracks import TRACKS
    from .results.report import terminal_summary

    if args.hub_file != "v1.1":
        raise CommandError("protocol v2 tracks are defined on the v1.1 file: --hub-file must be v1.1 to score")
    if TRACKS[args.track].split_by not in (None, args.split_by):
        raise CommandError(
            f"track {args.track!r} splits by {TRACKS[args.track].split_by}: drop --split-by {args.split_by}"
        )

    argv = [
        "--skip_training",
        "true",
        "--model",
        args.model,
        "--method",
        args.method,
        "--track",
        args.track,
        "--conditioning",
        args.conditioning,
        "--source",
        args.source,
        "--name",
        args.name or "score",
        "--runs_dir",
        args.runs_dir,
        "--max_length",
        str(args.max_length),
        "--bootstrap_resamples",
        str(args.bootstrap_resamples),
    ]
    for flag, value in (
        ("--ref_model", args.ref_model),
        ("--model_name", args.model_name),
        ("--data_path", args.data_path),
        ("--data_revision", args.revision),
        ("--model_revision", args.model_revision),
        ("--max_eval_comparisons", args.max_eval_comparisons),
        ("--beta", args.beta),
        ("--judge_elicitation", args.elicitation),
        ("--judge_samples", args.samples),
        ("--judge_permutations", args.permutations),
        ("--judge_max_length", args.judge_max_length),
        ("--judge_max_candidate_tokens", args.max_candidate_tokens),
    ):
        if value is not None:
            argv += [flag, str(value)]
    bench, training_args = parse_args(argv)
    results = run(bench, training_args)
    if results is not None:
        print(terminal_summary(results))
        print(f"wrote {bench.output_dir}/submission.parquet, results.json, report.md")
    return 0


def _refuse_overwrite(paths: list[str], overwrite: bool) -> None:
    """Nothing a user already has is replaced without --overwrite."""
    existing = [p for p in paths if os.path.exists(p)]
    if existing and not overwrite:
        raise ValueError(f"{', '.join(existing)} already exist(s): pass --overwrite to replace")


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .protocol.evaluate import evaluate_submission, write_evaluation
    from .results.report import terminal_summary

    _refuse_overwrite([os.path.join(args.out, f) for f in ("results.json", "report.md")], args.overwrite)
    results = evaluate_submission(
        args.submission, resamples=args.bootstrap_resamples, seed=args.seed, data_path=args.data_path
    )
    written = write_evaluation(results, args.out)
    print(terminal_summary(results))
    print(f"wrote {written['results']}, {written['report']}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from .pipeline.compare import compare

    arms: dict[str, list[str]] = {}
    for spec in args.arm:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--arm expects NAME=PATH (a run folder or submission.parquet), got {spec!r}")
        arms.setdefault(name, []).append(path)
    _refuse_overwrite([args.out], args.overwrite)
    out = compare(arms, args.out, baseline=args.baseline, resamples=args.bootstrap_resamples, title=args.title)
    for name, c in out["contrasts"].items():
        if "worst" not in c:
            print(f"{name}: no eligible groups")
            continue
        w = c["worst"]
        print(
            f"{name}: worst-group top-1 {100 * w['difference']:+.1f} [{100 * w['ci_low']:+.1f}, {100 * w['ci_high']:+.1f}]"
        )
    print(f"wrote {args.out}")
    return 0


def _checked_flags(args: argparse.Namespace) -> dict:
    return {"fingerprints": tuple(args.fingerprint or ()), "data_path": args.data_path}


def cmd_validate(args: argparse.Namespace) -> int:
    from .leaderboard.validate import check_many, format_report

    checked = check_many(args.files, **_checked_flags(args))
    for c in checked:
        print("\n".join(format_report(c)))
    bad = sum(not c.ok for c in checked)
    print(f"{len(checked) - bad} of {len(checked)} file(s) valid" + (f"; {bad} with problems" if bad else ""))
    return 1 if bad else 0


def cmd_submit(args: argparse.Namespace) -> int:
    from .leaderboard.submit import SubmitError, submit

    try:
        where = submit(args.file, args.repo, dry_run_dir=args.dry_run, **_checked_flags(args))
    except SubmitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote the commit to {where}" if args.dry_run else f"opened {where}")
    return 0


def cmd_model_card(args: argparse.Namespace) -> int:
    from .leaderboard.submit import SubmitError, model_card_yaml

    try:
        text = model_card_yaml(args.file, resamples=args.bootstrap_resamples, seed=args.seed, **_checked_flags(args))
    except SubmitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from .leaderboard.build import BuildError, build

    try:
        info = build(
            args.folder,
            args.out,
            resamples=args.bootstrap_resamples,
            seed=args.seed,
            overwrite=args.overwrite,
            **_checked_flags(args),
        )
    except (BuildError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for t in info["tables"]:
        kind = "ranked" if t["ranked"] else "smoke, not ranked"
        print(f"table {t['id']} ({kind}): {t['models']} submission(s), {t['references']} reference row(s)")
        if t["monoculture"]:
            print(f"  {t['monoculture']}")
    for r in info["rejected"]:
        shown = "; ".join(f"{p['where']}: {p['message']}" for p in r["problems"][:3])
        print(f"rejected {r['file']}: {shown}" + (" …" if len(r["problems"]) > 3 else ""))
    if info["ignored"]:
        print(f"ignored {len(info['ignored'])} results summary file(s): the leaderboard never reads summaries")
    print(
        f"{info['entries']} submission(s) in {len(info['tables'])} table(s), {len(info['rejected'])} rejected → "
        + ", ".join(info["written"])
    )
    return 0 if info["entries"] else 1


def _read_prompts(args: argparse.Namespace) -> list[dict]:
    if args.prompts:
        with open(args.prompts, encoding="utf-8") as f:
            lines = [ln.strip() for ln in f if ln.strip()]
        if args.prompts.endswith(".jsonl"):
            rows = [json.loads(ln) for ln in lines]
            return [
                {
                    "prompt_id": str(r.get("prompt_id", i)),
                    "prompt": r["prompt"],
                    "language": r.get("language", args.language),
                }
                for i, r in enumerate(rows)
            ]
        return [{"prompt_id": str(i), "prompt": ln, "language": args.language} for i, ln in enumerate(lines)]
    from .data.schema import decode_labels
    from .training.data import DataSelection, load_config

    ds = load_config(DataSelection.from_spec(source_spec(args)), "conversations")[args.split]
    langs = decode_labels({"assigned_lang": ds["assigned_lang"]}, ds.features)["assigned_lang"]
    seen, out = set(), []
    for cid, prompt, lang in zip(ds["conversation_id"], ds["first_turn_prompt"], langs):
        if prompt not in seen:
            seen.add(prompt)
            out.append({"prompt_id": str(cid), "prompt": prompt, "language": lang})
        if len(out) >= args.n_prompts:
            break
    return out


def cmd_sample_candidates(args: argparse.Namespace) -> int:
    from .analysis.nc_sampling import Generator, sample_candidates
    from .io_utils import atomic_write_text
    from .models.loading import load_causal_lm

    lm = load_causal_lm(args.model)
    gen = Generator(
        lm.model, lm.tokenizer, max_new_tokens=args.max_new_tokens, temperature=args.temperature, seed=args.seed
    )
    prompts = _read_prompts(args)
    rows = []
    for method in args.method or ["independent", "nc"]:
        results = sample_candidates(
            gen, prompts, method=method, max_retries=args.max_retries, batch_size=args.batch_size
        )
        rows += [r.row() for r in results]
        failed = [r for r in results if r.error]
        print(f"{method}: {len(results) - len(failed)} of {len(results)} prompts have 4 candidates")
        for r in failed[:10]:
            print(f"  {r.error}", file=sys.stderr)
    atomic_write_text(args.out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    print(f"wrote {args.out}")
    return 0


def cmd_diversity(args: argparse.Namespace) -> int:
    from .analysis.diversity import set_diversity, summarize

    with open(args.file, encoding="utf-8") as f:
        rows = [json.loads(ln) for ln in f if ln.strip()]
    per_set = set_diversity([r for r in rows if r.get("candidates")])
    summary = summarize(per_set)
    if args.json:
        print(json.dumps({"sets": per_set, "summary": summary}, indent=2))
        return 0
    print(f"{'prompt':>12s} {'method':12s} {'embedding':>9s} {'lexical':>8s} {'distinct-2':>10s}")
    for r in per_set:
        print(
            f"{str(r['prompt_id'])[:12]:>12s} {r['method']:12s} {r['embedding_distance']:9.3f} "
            f"{r['lexical_distinctness']:8.3f} {r['distinct_2']:10.3f}"
        )
    print("\noverall (mean per method):")
    for m, s in summary.items():
        print(
            f"  {m:12s} sets {s['sets']:4d}  embedding distance {s['embedding_distance']:.3f}  "
            f"lexical distinctness {s['lexical_distinctness']:.3f}  distinct-2 {s['distinct_2']:.3f}"
        )
    return 0


def cmd_monoculture(args: argparse.Namespace) -> int:
    from .analysis.monoculture import run as run_monoculture

    subs = list(args.submissions or []) + [os.path.join(d, "submission.parquet") for d in args.runs or []]
    _refuse_overwrite([os.path.join(args.out, f) for f in ("report.md", "monoculture.json")], args.overwrite)
    out = run_monoculture(args.out, args.source, args.data_path, subs or None, args.revision)
    h = out["human"]
    fmt = lambda v: "–" if v is None or v != v else f"{v:.3f}"  # noqa: E731
    print(
        f"sets with ≥{h['min_set_annotators']} distinct raters: {h['sets']}; annotator agreement "
        f"{fmt(h['pair_agreement'])}; plurality share {fmt(h['plurality_share'])}"
    )
    if out["models"]:
        print(f"model-model agreement {fmt(out['models']['models']['mean_pairwise'])}")
    print(f"wrote {args.out}/report.md, monoculture.png, monoculture.json")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="community-alignment", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("info", help="counts, drops and split fingerprints of a source (reads, writes nothing)")
    _add_source_flags(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser(
        "prepare", help="build configs into the datasets cache (then load_dataset('community_alignment'))"
    )
    _add_source_flags(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--config", action="append", help="a config to build (repeatable; default pairwise)")
    g.add_argument("--all", action="store_true", help="build every config")
    p.add_argument("--cache-dir", help="datasets cache folder (default: HF_DATASETS_CACHE)")
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("export", help="write configs as a Hub dataset folder (sharded parquet + card)")
    p.add_argument("out_dir", metavar="OUT_DIR", help="folder to write (must be empty or new, unless --overwrite)")
    _add_source_flags(p)
    p.add_argument("--config", action="append", help="a config to export (repeatable; default all)")
    p.add_argument("--cache-dir", help="datasets cache folder (default: HF_DATASETS_CACHE)")
    p.add_argument("--push-to-hub", metavar="REPO", help="also upload the folder to this Hub dataset repo")
    p.add_argument("--overwrite", action="store_true", help="replace the contents of a non-empty OUT_DIR")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("card", help="render the dataset card with count tables computed from a source")
    _add_source_flags(p)
    p.add_argument("--out", default="-", help="file to write (default: stdout)")
    p.set_defaults(func=cmd_card)

    p = sub.add_parser("score", help="score an existing model (no training) and write results.json + report")
    _add_source_flags(p)
    p.set_defaults(source="sample")
    p.add_argument(
        "--model", required=True, help="Hub id or local path (reward model, or DPO policy with --method dpo)"
    )
    p.add_argument("--model-revision")
    p.add_argument("--model-name", help="the model's own name in the submission (default: the Hub id, or local/<name>)")
    p.add_argument(
        "--method",
        choices=("reward", "dpo", "llm_judge"),
        default="reward",
        help="reward model, DPO policy (implicit reward) or a causal LM as an LLM judge (docs/llm_judge.md)",
    )
    p.add_argument("--ref-model", help="DPO reference model (default: --model itself)")
    p.add_argument("--beta", type=float, help="DPO β of the implicit reward")
    p.add_argument("--conditioning", choices=("none", "country", "demographics"), default="none")
    p.add_argument("--track", choices=("main", "en"), default="main", help="protocol track (the whole test split)")
    p.add_argument(
        "--max-eval-comparisons", type=int, help="random subset of the test split: a smoke run, never ranked"
    )
    p.add_argument("--max-length", type=int, default=384, help="reward / DPO: tokens per (context, candidate)")
    g = p.add_argument_group("llm_judge")
    g.add_argument(
        "--elicitation", choices=("logprobs", "sampled"), help="letter log-probabilities (default) or sampled letters"
    )
    g.add_argument("--samples", type=int, help="sampled letters per prompt (default 20)")
    g.add_argument("--permutations", choices=("cyclic", "all"), help="letter orders averaged (default cyclic: 4)")
    g.add_argument("--judge-max-length", type=int, help="tokens per judge prompt (default 2048)")
    g.add_argument("--max-candidate-tokens", type=int, help="cap per candidate in a judge prompt (default 384)")
    p.add_argument("--bootstrap-resamples", type=int, default=1000)
    p.add_argument("--name", help="run folder name (default: score)")
    p.add_argument("--runs-dir", default="runs")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser(
        "evaluate", help="recompute every number of a submission.parquet with the contract (results.json v2, report)"
    )
    p.add_argument("submission", help="a submission.parquet (scores + metadata)")
    p.add_argument("--out", required=True, help="folder for results.json, report.md and plots")
    p.add_argument("--data-path", help="the dataset file, for a submission made with --source local")
    p.add_argument("--bootstrap-resamples", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (a run evaluates with 0)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing results.json / report.md in --out")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "compare",
        help="paired comparison of submissions on one test split (pluralism arms, a judge's steerability gain)",
    )
    p.add_argument(
        "--arm",
        action="append",
        required=True,
        metavar="NAME=PATH",
        help="a run folder or submission.parquet of arm NAME (repeat a name for several seeds)",
    )
    p.add_argument(
        "--baseline", required=True, help="the arm the others are compared with (e.g. the unconditioned one)"
    )
    p.add_argument("--out", required=True, help="the report (markdown) to write")
    p.add_argument("--title", default="Paired comparison")
    p.add_argument("--overwrite", action="store_true", help="replace an existing report")
    p.add_argument("--bootstrap-resamples", type=int, default=1000)
    p.set_defaults(func=cmd_compare)

    def checked_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--fingerprint",
            action="append",
            metavar="FP",
            help="expected test-split fingerprint of hub/local data not yet shipped in the package (repeatable; "
            "recorded in the output)",
        )
        p.add_argument("--data-path", help="the dataset file, for submissions made with --source local")

    p = sub.add_parser(
        "validate", help="check submission.parquet files against the protocol and the data; exit 1 on any problem"
    )
    p.add_argument("files", nargs="+", help="submission.parquet files")
    checked_flags(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("submit", help="check, then open one PR on a Hub results dataset (or --dry-run DIR)")
    p.add_argument("file", help="a submission.parquet")
    p.add_argument("--repo", required=True, help="ORG/NAME of the results dataset")
    p.add_argument("--dry-run", metavar="DIR", help="write the exact commit into DIR instead (nothing outside DIR)")
    checked_flags(p)
    p.set_defaults(func=cmd_submit)

    p = sub.add_parser("model-card", help="print the model-index YAML of a submission (recomputed from its scores)")
    p.add_argument("file", help="a submission.parquet")
    checked_flags(p)
    p.add_argument("--bootstrap-resamples", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_model_card)

    p = sub.add_parser(
        "leaderboard", help="rank a folder of submission.parquet files: index.html, leaderboard.csv, leaderboard.md"
    )
    p.add_argument("folder", help="folder searched recursively for *.parquet submissions")
    p.add_argument("--out", required=True, help="site folder")
    p.add_argument("--overwrite", action="store_true", help="replace the site's files if they exist")
    checked_flags(p)
    p.add_argument("--bootstrap-resamples", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_leaderboard)

    p = sub.add_parser("sample-candidates", help="generate 4-candidate sets (independent or NC sampling)")
    p.add_argument("--model", required=True, help="causal LM (Hub id or path) with a chat template")
    p.add_argument("--prompts", help="a .txt (one prompt a line) or .jsonl (prompt, language, prompt_id) file")
    p.add_argument("--language", default="en", help="language of --prompts .txt lines")
    _add_source_flags(p)
    p.set_defaults(source="sample")
    p.add_argument("--split", default="test", help="without --prompts: first-turn prompts of this split")
    p.add_argument("--n-prompts", type=int, default=20)
    p.add_argument("--method", action="append", choices=("nc", "independent"), help="repeatable (default: both)")
    p.add_argument("--max-retries", type=int, default=2)
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="JSONL in the comparisons shape (context + 4 candidates)")
    p.set_defaults(func=cmd_sample_candidates)

    p = sub.add_parser("diversity", help="embedding and lexical diversity of candidate sets (per set and overall)")
    p.add_argument("file", metavar="FILE", help="JSONL with candidates (e.g. from sample-candidates)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_diversity)

    p = sub.add_parser("monoculture", help="human disagreement on ≥10-rater sets vs model agreement")
    _add_source_flags(p)
    p.set_defaults(source="sample")
    p.add_argument("--submissions", nargs="*", help="submission.parquet files of one protocol to compare")
    p.add_argument("--runs", nargs="*", help="benchmark run folders (their submission.parquet) to compare")
    p.add_argument("--overwrite", action="store_true", help="replace an existing report in --out")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_monoculture)

    p = sub.add_parser(
        "make-sample", help="regenerate the synthetic sample into a folder (or write a custom synthetic file)"
    )
    p.add_argument(
        "--out-dir", help="folder for sample.csv.gz + sample.probs.csv.gz (byte-identical to the shipped ones)"
    )
    p.add_argument("--out", help="write a custom synthetic CSV here (e.g. a CA-sized file: --n-conversations 90256)")
    p.add_argument("--n-conversations", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--layout", choices=("v1.1", "v1.0"), default="v1.1")
    p.set_defaults(func=cmd_make_sample)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if hasattr(args, "source"):
        try:
            source_spec(args)
        except ValueError as e:  # contradictory source flags are a usage error (exit 2)
            parser.error(str(e))
    from .data.export import ExportError
    from .data.schema import SchemaError
    from .data.sources import SourceError
    from .protocol.submission import SubmissionError

    try:
        return args.func(args)
    except (SchemaError, SourceError, SubmissionError, ExportError, CommandError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
