"""Leaderboard v2: a corpus of hostile submissions (each rejected with its reason, none stopping the
build), numbers recomputed through the contract, defensive outputs, safe writes, the Hub PR, the
model card, and the page in a real browser."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import REPO_ROOT, cheap_submission, sample_truth, subprocess_env

from community_alignment.leaderboard import build as lb_build
from community_alignment.leaderboard import validate as lb_validate
from community_alignment.leaderboard.submit import (
    SubmitError,
    contained_target,
    path_in_repo,
    safe_relpath,
    submit,
)
from community_alignment.protocol.evaluate import evaluate_submission
from community_alignment.protocol.individual import EXTRA_COLUMNS, episodes_of, individual_block
from community_alignment.protocol.individual import TRACK as INDIVIDUAL
from community_alignment.protocol.submission import MAX_BYTES, METADATA_KEY, SCORE_COLUMNS
from community_alignment.protocol.tracks import protocol_id

RESAMPLES = 400  # Holm over 6 adjacent pairs needs p < 0.05 / 6; the smallest two-sided p is 2 / (B + 1)
FORMULA = '=HYPERLINK("http://evil.example","x")'
MD_LINK = "[click](http://evil.example)"


@pytest.fixture(scope="module")
def hf_isolated(tmp_path_factory):
    """Isolated HF caches and Hub offline mode for the whole module (and its subprocesses)."""
    import datasets.config
    import huggingface_hub.constants as hc

    root = tmp_path_factory.mktemp("hf")
    env = {"HF_HOME": str(root / "home"), "HF_DATASETS_CACHE": str(root / "ds"), "HF_HUB_OFFLINE": "1"}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        mp.setattr(datasets.config, "HF_DATASETS_CACHE", env["HF_DATASETS_CACHE"])
        mp.setattr(hc, "HF_HUB_OFFLINE", True)
        yield env


@pytest.fixture(scope="module")
def base(hf_isolated, tmp_path_factory):
    """Three valid submissions on the sample's whole main test split (outside any corpus folder)."""
    root = tmp_path_factory.mktemp("base")
    files = {
        "length": cheap_submission(root / "length.parquet", "org/length-model", "length", revision="a" * 40),
        "prior": cheap_submission(root / "prior.parquet", "org/prior-model", "prior"),
        "oracle": cheap_submission(root / "oracle.parquet", "org/noisy-oracle", "noisy_oracle"),
    }
    return root, files


# --- track unseen_annotators: submissions with population and k-shot rows ------------------------------

IND_RESAMPLES = 200


def _log(p, present):
    return np.where(present, np.log(np.clip(p, 1e-12, None)), np.nan)


def individual_columns(name: str, own: str | None = "p_true", other: str = "p_country") -> dict:
    """The columns and metadata of a track-`unseen_annotators` submission on the sample: population rows
    (k = 0) = the country oracle's log-probabilities on every validation and test comparison; with `own`,
    k-shot rows for every k, draw and control of the episodes: own support = the `own` level's
    log-probabilities on the annotator's query set, random other user = the `other` level's (p_true is
    the annotator's own preferences: a perfect personalizer)."""
    from conftest import cheap_model

    from community_alignment.protocol.submission import build_metadata
    from community_alignment.protocol.truth import sample_oracle

    truth = sample_truth(INDIVIDUAL)
    t, v = truth.test, truth.validation
    cols = {
        "conversation_id": [t.conversation_id, v.conversation_id],
        "turn": [t.turn, v.turn],
        "scores": [
            _log(truth.oracle["p_country"], t.data.present),
            _log(sample_oracle(v)["p_country"], v.data.present),
        ],
        "k": [np.zeros(len(t.turn) + len(v.turn), dtype=np.int64)],
    }
    cols["draw"], cols["control"] = [cols["k"][0]], [cols["k"][0]]
    if own is not None:
        ep = episodes_of(t)
        for k in ep.design.k_sweep[1:]:
            others = ep.others(k)
            for a in ep.at(k):
                q = ep.annotators[a].query
                for d in range(ep.design.draws):
                    for control, level in ((0, own), (1, other)):
                        if control and others[(a, d)] is None:
                            continue
                        cols["conversation_id"].append(t.conversation_id[q])
                        cols["turn"].append(t.turn[q])
                        cols["scores"].append(_log(truth.oracle[level][q], t.data.present[q]))
                        for c, x in (("k", k), ("draw", d), ("control", control)):
                            cols[c].append(np.full(len(q), x, dtype=np.int64))
    out = {c: np.concatenate(x) for c, x in cols.items()}
    out["meta"] = build_metadata(truth.protocol, cheap_model(name))
    return out


def write_individual(path, cols: dict, extra: tuple[str, ...] = EXTRA_COLUMNS):
    from community_alignment.protocol.submission import write_submission

    return write_submission(
        str(path),
        cols["conversation_id"],
        cols["turn"],
        cols["scores"],
        cols["meta"],
        {c: cols[c] for c in extra} or None,
    )


def _take(cols: dict, rows) -> dict:
    return {c: (x if c == "meta" else x[rows]) for c, x in cols.items()}


def individual_hostile(folder, table, meta) -> dict[str, str]:
    """Track-unseen_annotators files that break the layout, each with the problem it must be named by."""
    truth = sample_truth(INDIVIDUAL)
    t = truth.test
    good = individual_columns("org/individual-hostile")
    n = len(good["turn"])
    pop = np.flatnonzero(good["k"] == 0)
    shot = np.flatnonzero(good["k"] > 0)
    ep = episodes_of(t)
    a = ep.at(4)[0]
    out: dict[str, str] = {}

    def case(name, cols, reason, extra=EXTRA_COLUMNS):
        write_individual(os.path.join(folder, name), cols, extra)
        out[name] = reason

    bad = _take(good, np.r_[np.arange(n), shot[:1]])
    bad["k"][-1] = 5
    case("ind_k_outside_sweep.parquet", bad, "k must be one of [0, 1, 4, 16, 64]")
    case("ind_incomplete_k.parquet", _take(good, np.delete(np.arange(n), shot[3])), "k-shot row(s) missing")
    case("ind_duplicate_population.parquet", _take(good, np.r_[np.arange(n), pop[2]]), "duplicate population rows")
    case(
        "ind_duplicate_kshot.parquet",
        _take(good, np.r_[np.arange(n), shot[5]]),
        "duplicate (comparison, draw, control)",
    )
    bad = _take(good, np.arange(n))
    bad["control"][shot[0]] = 2
    case("ind_bad_control.parquet", bad, "control must be 0 (own support) or 1")
    for name, row, reason in (
        ("ind_nan_population.parquet", pop[0], "test population rows: NaN or ±inf on a present candidate"),
        ("ind_nan_kshot.parquet", shot[0], "k = 1 rows: NaN or ±inf on a present candidate"),
    ):
        bad = _take(good, np.arange(n))
        bad["scores"][row, 0] = np.nan
        case(name, bad, reason)
    train = next(c for c, where in truth.outside.items() if where == "train")
    bad = _take(good, np.arange(n))
    bad["conversation_id"][pop[0]], bad["turn"][pop[0]] = train, 1
    case("ind_train_ids.parquet", bad, "(found in: train)")
    case(
        "ind_no_validation_rows.parquet",
        _take(good, np.r_[pop[: len(t.turn)], shot]),
        "validation comparison(s) have no population row",
    )
    bad = _take(good, np.r_[np.arange(n), shot[:1]])
    bad["conversation_id"][-1] = t.conversation_id[ep.annotators[a].pool[0]]
    bad["turn"][-1], bad["k"][-1] = t.turn[ep.annotators[a].pool[0]], 4
    case("ind_support_row.parquet", bad, "not a query comparison of a test annotator")
    # k columns of the wrong type; k-shot columns on another track
    import pyarrow as pa

    write_individual(os.path.join(folder, "ind_float_k.parquet"), good)
    tk, mk = _read(os.path.join(folder, "ind_float_k.parquet"))
    tk = tk.set_column(tk.schema.get_field_index("k"), "k", pa.array(good["k"].astype(float)))
    _write(os.path.join(folder, "ind_float_k.parquet"), tk, mk)
    out["ind_float_k.parquet"] = "column k: type double (expected integer)"
    _write(
        os.path.join(folder, "ind_kshot_on_main.parquet"),
        table.append_column("k", pa.array(np.zeros(table.num_rows, dtype=np.int64))),
        meta,
    )
    out["ind_kshot_on_main.parquet"] = "k-shot columns belong to track 'unseen_annotators', not 'main'"
    return out


# --- the hostile corpus -------------------------------------------------------------------------------


def _read(path):
    table = pq.read_table(path)
    return table, json.loads(table.schema.metadata[METADATA_KEY])


def _write(path, table, meta=None, raw: bytes | None = None):
    md = {METADATA_KEY: raw if raw is not None else json.dumps(meta).encode()} if (meta or raw is not None) else {}
    pq.write_table(table.replace_schema_metadata(md), str(path))


def _reid(meta):
    p, d = meta["protocol"], meta["protocol"]["dataset"]
    p["id"] = protocol_id(p["track"], d["source"], d["revision"], d["synthetic"], d["split_by"], d["fingerprint"])
    return meta


def _set(meta, path: str, value, reid: bool = False):
    node = meta
    keys = path.strip("/").split("/")
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = value
    return _reid(meta) if reid else meta


def _scores(table) -> np.ndarray:
    return np.stack([table.column(c).to_numpy(zero_copy_only=False) for c in SCORE_COLUMNS], 1).astype(float)


def _with_scores(table, scores):
    for j, c in enumerate(SCORE_COLUMNS):
        table = table.set_column(table.schema.get_field_index(c), c, pa.array(scores[:, j], pa.float64()))
    return table


def _train_table(meta):
    """Scores on train-split ids, with the train split's own fingerprint (and a consistent protocol id)."""
    from community_alignment.data.builder import read_meta
    from community_alignment.training.data import DataSelection, load_config

    train = load_config(DataSelection(), "comparisons")["train"]
    fp = read_meta(train.info)["split_manifest"]["fingerprints"]["train"]
    n_test = len(sample_truth().test.turn)
    conv = np.asarray(train["conversation_id"], dtype=np.int64)[:n_test]
    turn = np.asarray(train["turn"], dtype=np.int64)[:n_test]
    cols = {"conversation_id": pa.array(conv), "turn": pa.array(turn)}
    cols.update({c: pa.array(np.zeros(len(conv))) for c in SCORE_COLUMNS})
    return pa.table(cols), _set(meta, "/protocol/dataset/fingerprint", fp, reid=True)


# (where, value, reason): a formula or Markdown link in every strictly checked string field
STRICT_FIELDS = [
    ("/format", FORMULA, "/format"),
    ("/protocol/id", FORMULA, "/protocol/id"),
    ("/protocol/track", MD_LINK, "/protocol/track"),
    ("/protocol/dataset/source", FORMULA, "/protocol/dataset/source"),
    ("/protocol/dataset/revision", "@SUM(1+1)", "/protocol/dataset/revision"),
    ("/protocol/dataset/split_by", "+prompt", "/protocol/dataset/split_by"),
    ("/protocol/dataset/split", "-test", "/protocol/dataset/split"),
    ("/protocol/dataset/fingerprint", FORMULA, "/protocol/dataset/fingerprint"),
    ("/model/name", FORMULA, "/model/name"),
    ("/model/base_model", MD_LINK, "/model/base_model"),
    ("/model/revision", "../../etc/passwd", "/model/revision"),
    ("/model/base_revision", FORMULA, "/model/base_revision"),
    ("/model/weights_sha256", "@" + "a" * 63, "/model/weights_sha256"),
    ("/model/method", "=cmd|' /C calc'!A0", "/model/method"),
    ("/model/conditioning", MD_LINK, "/model/conditioning"),
    ("/model/ref_model", "<script>alert(1)</script>", "/model/ref_model"),
    ("/model/dtype", "\tfloat32", "/model/dtype"),
    ("/model/chat_template_hash", "\rabc", "/model/chat_template_hash"),
]


def make_corpus(folder, base_files, outside) -> tuple[dict[str, str], list[str]]:
    """Write the corpus under `folder`: ({relative path: reason it must be rejected with}, accepted paths)."""
    os.makedirs(folder, exist_ok=True)
    base_path = base_files["length"]
    table, meta = _read(base_path)
    raw = open(base_path, "rb").read()
    present = sample_truth("main").test.data.present
    rejected: dict[str, str] = {}
    accepted: list[str] = []

    def meta_case(name, mutate, reason):
        m = json.loads(json.dumps(meta))
        mutate(m)
        _write(os.path.join(folder, name), table, m)
        rejected[name] = reason

    def raw_case(name, raw_meta, reason):
        _write(os.path.join(folder, name), table, raw=raw_meta)
        rejected[name] = reason

    def table_case(name, t, reason, m=None):
        _write(os.path.join(folder, name), t, m or meta)
        rejected[name] = reason

    def bytes_case(name, data, reason):
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
        rejected[name] = reason

    # names and revisions: strict fullmatch, no ./.. segment, whitespace, control or non-ASCII character
    for name, value in (
        ("traversal", "org/../../escaped"),
        ("trailing_newline", "org/x\n"),
        ("dot_segment", "./x"),
        ("homoglyph", "оrg/x"),  # Cyrillic о
        ("rtl_override", "org/x\u202egnp.exe"),
        ("zero_width", "org/x\u200b"),
        ("html", '<img src=x onerror="window.__pwned=1">'),
        ("absolute", "/etc/passwd"),
        ("three_parts", "a/b/c"),
        ("space", "org/my model"),
    ):
        meta_case(f"name_{name}.parquet", lambda m, v=value: _set(m, "/model/name", v), "/model/name")
    for k, (where, value, reason) in enumerate(STRICT_FIELDS):
        meta_case(f"field_{k:02d}{where.replace('/', '_')}.parquet", lambda m, w=where, v=value: _set(m, w, v), reason)
    # metadata structure and JSON tricks
    dup = json.dumps(meta)[:-1] + ', "model": ' + json.dumps(meta["model"]) + "}"
    raw_case("duplicate_json_key.parquet", dup.encode(), "duplicate key 'model'")
    raw_case("deep_10000.parquet", b'{"a":' * 10000 + b"1" + b"}" * 10000, "(metadata): not valid JSON")
    deep = json.loads(json.dumps(meta))
    deep["training"] = {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": 1}}}}}}}}
    raw_case("deep_9.parquet", json.dumps(deep).encode(), "nested deeper than 8")
    raw_case("huge_metadata.parquet", json.dumps({**meta, "pad": "x" * (1 << 20)}).encode(), "larger than 1024 KiB")
    raw_case("metadata_list.parquet", b"[]", "expected a JSON object")
    raw_case(
        "metadata_nan.parquet",
        json.dumps(meta).replace('"temperature": 1.0', '"temperature": NaN').encode(),
        "non-finite",
    )
    raw_case("metadata_not_utf8.parquet", b'{"format": "\xff"}', "not valid JSON")
    meta_case("model_null.parquet", lambda m: m.update(model=None), "/model: missing or not an object")
    meta_case("protocol_list.parquet", lambda m: m.update(protocol=[]), "/protocol: missing or not an object")
    meta_case("training_list.parquet", lambda m: m.update(training=[1]), "/training: must be an object or null")
    meta_case(
        "summary_field.parquet",
        lambda m: m.update(summary={"macro": 1.5, "worst": 0.99, "gap": -3}),
        "unexpected metadata key",
    )
    meta_case("bidi_in_training.parquet", lambda m: m.update(training={"note": "safe\u202eexe.txt"}), "bidirectional")
    meta_case("long_string.parquet", lambda m: m.update(training={"note": "x" * 5000}), "characters (limit 200)")
    meta_case("temperature_string.parquet", lambda m: _set(m, "/model/temperature", "1.0"), "/model/temperature")
    meta_case("temperature_negative.parquet", lambda m: _set(m, "/model/temperature", -1), "/model/temperature")
    meta_case("dpo_without_reference.parquet", lambda m: _set(m, "/model/method", "dpo"), "reference model and β")
    meta_case("protocol_v1.parquet", lambda m: _set(m, "/protocol/version", 1), "/protocol/version")
    meta_case(
        "truncation_negative.parquet", lambda m: _set(m, "/truncation", {"candidates": -3}), "/truncation/candidates"
    )
    # the data is what it claims
    meta_case(
        "wrong_fingerprint.parquet",
        lambda m: _set(m, "/protocol/dataset/fingerprint", "f" * 64, reid=True),
        "is not the test split",
    )
    meta_case(
        "sample_as_real.parquet",
        lambda m: _set(m, "/protocol/dataset/synthetic", False, reid=True),
        "/protocol/dataset/synthetic",
    )

    def as_hub(m, fp):
        _set(m, "/protocol/dataset/source", "hub")
        _set(m, "/protocol/dataset/revision", "9" * 40)
        _set(m, "/protocol/dataset/synthetic", False)
        _set(m, "/protocol/dataset/fingerprint", fp, reid=True)

    meta_case("relabelled_hub.parquet", lambda m: as_hub(m, "e" * 64), "none of the --fingerprint values")
    meta_case("relabelled_hub_given_fp.parquet", lambda m: as_hub(m, "d" * 64), "cannot be loaded")
    meta_case(
        "local_without_data.parquet",
        lambda m: (
            as_hub(m, "d" * 64),
            _set(m, "/protocol/dataset/source", "local", reid=True),
            _set(m, "/protocol/dataset/revision", None, reid=True),
        ),
        "needs --data-path",
    )
    meta_case(
        "wrong_protocol_id.parquet",
        lambda m: _set(m, "/protocol/id", "ca-v2/main/sample/prompt/0000000000000000"),
        "/protocol/id",
    )
    t, m = _train_table(json.loads(json.dumps(meta)))
    table_case("train_split.parquet", t, "found in: train", m)
    # ids
    table_case("missing_ids.parquet", table.slice(10), "10 test comparison(s) missing")
    extra = pa.table(
        {
            c: pa.array([999_999_999] if c == "conversation_id" else [1] if c == "turn" else [0.0])
            for c in table.column_names
        }
    )
    table_case(
        "extra_id.parquet", pa.concat_tables([table, extra.cast(table.schema)]), "found in: no split of this dataset"
    )
    table_case("duplicate_ids.parquet", pa.concat_tables([table, table.slice(5, 2)]), "duplicate comparisons")
    smoke = json.loads(json.dumps(meta))
    smoke["evaluation"] = {"subsample": 300, "filters": {}}
    every_third = np.arange(0, table.num_rows, 3)
    table_case("smoke_claiming_main.parquet", table.take(every_third), "belongs to track 'smoke'", smoke)
    table_case("smoke_claiming_main_quiet.parquet", table.take(every_third), "test comparison(s) missing")
    # scores
    s = _scores(table)
    for name, value in (("nan", np.nan), ("inf", np.inf), ("neg_inf", -np.inf)):
        bad = s.copy()
        bad[7, 2] = value
        table_case(f"score_{name}.parquet", _with_scores(table, bad), "NaN or ±inf on a present candidate")
    row, col = map(int, np.argwhere(~present)[0])
    stray = s.copy()
    stray[row, col] = 0.5
    table_case("score_absent_candidate.parquet", _with_scores(table, stray), "must be NaN")
    # schema
    table_case(
        "score_as_string.parquet",
        table.set_column(2, "score_a", pa.array([str(x) for x in s[:, 0]])),
        "column score_a: type string",
    )
    table_case("missing_column.parquet", table.drop(["score_d"]), "column score_d: missing")
    table_case(
        "extra_column.parquet",
        table.append_column("summary", pa.array(np.ones(len(table)))),
        "column summary: unexpected column",
    )
    nulls = pa.array([None] + table.column("conversation_id").to_pylist()[1:], pa.int64())
    table_case("null_ids.parquet", table.set_column(0, "conversation_id", nulls), "contains nulls")
    _write(os.path.join(folder, "no_metadata.parquet"), table)
    rejected["no_metadata.parquet"] = "no 'community_alignment' key"
    # the file itself
    bytes_case("truncated.parquet", raw[: len(raw) // 2], "not a readable parquet file")
    bytes_case(
        "garbage_footer.parquet", b"PAR1" + os.urandom(64) + b"\xff\xff\xff\x7fPAR1", "not a readable parquet file"
    )
    bytes_case("zero_bytes.parquet", b"", "empty file (0 bytes)")
    bytes_case("text.parquet", b"conversation_id,turn\n1,1\n", "not a readable parquet file")
    os.mkdir(os.path.join(folder, "a_directory.parquet"))
    rejected["a_directory.parquet"] = "a directory, not a submission file"
    with open(os.path.join(folder, "huge.parquet"), "wb") as f:
        f.truncate(MAX_BYTES + 1)  # sparse: no disk used, never read
    rejected["huge.parquet"] = "larger than the 512 MiB limit"
    os.mkfifo(os.path.join(folder, "fifo.parquet"))
    rejected["fifo.parquet"] = "not a regular file"
    os.symlink(base_path, os.path.join(folder, "escape.parquet"))
    rejected["escape.parquet"] = "leading outside the folder"
    os.symlink(str(outside), os.path.join(folder, "linked_dir"))
    rejected["linked_dir"] = "a symbolic link (a directory) leading outside the folder"
    # results summaries: v1 gets the re-evaluate message; a v2 one is ignored, never read
    v1 = {
        "schema_version": 1,
        "config": {"model_name": "org/x"},
        "summary": {"country": {"top1_accuracy": {"macro": 1.5}}},
    }
    os.makedirs(os.path.join(folder, "old_run"))
    bytes_case(os.path.join("old_run", "results.json"), json.dumps(v1).encode(), "community-alignment evaluate")
    bytes_case(
        "results_v1_no_summary.json",
        json.dumps({"schema_version": 1, "config": {}}).encode(),
        "community-alignment evaluate",
    )
    bytes_case("v1_renamed.parquet", json.dumps(v1).encode(), "community-alignment evaluate")
    bytes_case("results_deep.json", b"[" * 10000 + b"]" * 10000, "nested too deep")
    # track unseen_annotators: the layout of population and k-shot rows
    rejected.update(individual_hostile(folder, table, meta))
    # duplicates of an accepted file
    shutil.copy(base_files["prior"], os.path.join(folder, "prior.parquet"))
    accepted.append("prior.parquet")
    shutil.copy(base_files["prior"], os.path.join(folder, "prior_copy.parquet"))
    rejected["prior_copy.parquet"] = "(file): the same file as "
    shutil.copy(base_path, os.path.join(folder, "length.parquet"))
    accepted.append("length.parquet")
    other_scores = s.copy()
    other_scores[present] += 1.0
    table_case("same_model_again.parquet", _with_scores(table, other_scores), "/model: duplicate of ")
    # accepted, but hostile: file names and free-form strings reach the outputs only neutralised
    shutil.copy(base_files["oracle"], os.path.join(folder, "oracle.parquet"))
    accepted.append("oracle.parquet")
    for k, fname in enumerate(
        [f"{FORMULA}{MD_LINK}.parquet", '<img src=x onerror="window.__pwned=1">.parquet', "new\nline\u202egnp.parquet"]
    ):
        cheap_submission(os.path.join(folder, fname), f"org/hostile-file-{k}", "random", seed=k)
        accepted.append(fname)
    free = json.loads(json.dumps(meta))
    free["model"]["name"] = "org/free-strings"
    free["training"] = {
        "note": FORMULA,
        "link": MD_LINK,
        "html": "<b>x</b>",
        "at": "@SUM(1)",
        "plus": "+1",
        "minus": "-1",
    }
    free["provenance"] = {"created": MD_LINK, "git_sha": FORMULA}
    _write(os.path.join(folder, "free_strings.parquet"), _with_scores(table, s + 0.0), free)
    accepted.append("free_strings.parquet")
    n_test = len(sample_truth().test.turn)
    cheap_submission(os.path.join(folder, "smoke.parquet"), "org/smoke-run", "length", rows=np.arange(0, n_test, 2))
    accepted.append("smoke.parquet")
    return rejected, accepted


@pytest.fixture(scope="module")
def corpus(base, tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    outside = root / "outside"
    outside.mkdir()
    shutil.copy(base[1]["oracle"], outside / "planted.parquet")
    folder = root / "submissions"
    rejected, accepted = make_corpus(str(folder), base[1], outside)
    site = root / "site"
    info = lb_build.build(str(folder), str(site), resamples=RESAMPLES, seed=0, fingerprints=("d" * 64,))
    return folder, site, rejected, accepted, info


@pytest.fixture(scope="module")
def individual_site(hf_isolated, tmp_path_factory):
    """A leaderboard of track unseen_annotators: a perfect personalizer (k-shot rows = the annotator's own
    preferences), the same rows with own support and control exchanged (its "personalized" scores are
    another user's), and population rows only (no k columns: the contract's adaptation)."""
    root = tmp_path_factory.mktemp("individual")
    folder = root / "submissions"
    folder.mkdir()
    write_individual(folder / "personal.parquet", individual_columns("org/personal"))
    write_individual(folder / "swapped.parquet", individual_columns("org/swapped", own="p_country", other="p_true"))
    write_individual(folder / "population.parquet", individual_columns("org/population", own=None), extra=())
    site = root / "site"
    info = lb_build.build(str(folder), str(site), resamples=IND_RESAMPLES, seed=0)
    return folder, site, info


def test_individual_track_is_validated_and_ranked_on_its_population_test_rows(individual_site):
    from community_alignment.protocol.evaluate import population_test_rows

    folder, site, info = individual_site
    assert info["rejected"] == [] and info["entries"] == 3
    truth = sample_truth(INDIVIDUAL)
    n = len(truth.test.turn)
    c = lb_validate.check_submission(str(folder / "personal.parquet"))
    assert c.ok and np.array_equal(c.rows, np.arange(n))
    assert np.array_equal(c.scores, _log(truth.oracle["p_country"], truth.test.data.present), equal_nan=True)
    assert len(c.submission) > n + len(truth.validation.turn)  # the k-shot rows were read, and left out here
    rows, scores = population_test_rows(c.submission, truth)
    assert np.array_equal(rows, c.rows) and np.array_equal(scores, c.scores, equal_nan=True)
    csv_rows = [r for r in csv.DictReader(io.StringIO((site / "leaderboard.csv").read_text())) if r["kind"] == "model"]
    res = evaluate_submission(str(folder / "population.parquet"), resamples=IND_RESAMPLES, seed=0)
    (row,) = [r for r in csv_rows if r["model"] == "org/population"]
    assert float(row["top1"]) == pytest.approx(res.model.overall.top1_accuracy.value, abs=1e-6)
    assert float(row["nll"]) == pytest.approx(res.model.overall.nll.value, abs=1e-5)
    assert int(row["comparisons"]) == res.model.overall.n
    assert [r["rank"] for r in csv_rows] == ["1", "2", "3"]


def test_individual_columns_are_individual_block_s(individual_site):
    """Every individual number of the table is `individual_block`'s on the same submission (the table's
    resamples and seed); a model whose k-shot rows are another user's scores does not count."""
    from community_alignment.protocol.submission import read_submission

    folder, site, _ = individual_site
    truth = sample_truth(INDIVIDUAL)
    csv_rows = {r["model"]: r for r in csv.DictReader(io.StringIO((site / "leaderboard.csv").read_text()))}
    (t,) = _page_data(site)["tables"]
    assert (
        t["info"]["individual"]["resamples"] == IND_RESAMPLES and t["info"]["individual"]["design"]["headline_k"] == 16
    )
    page = {r["model"]: (r, v) for r, v in zip(t["rows"], t["individual"]) if r["kind"] == "model"}
    assert all(v is None for r, v in zip(t["rows"], t["individual"]) if r["kind"] != "model")
    blocks = {}
    for name in ("personal", "swapped", "population"):
        sub = read_submission(str(folder / f"{name}.parquet"), extra_columns=EXTRA_COLUMNS)
        b = blocks[name] = individual_block(sub, truth, IND_RESAMPLES, 0)
        h = b.headline
        curve = b.views[h["view"]][h["method"]]
        p = curve.points[str(h["k"])]
        row, view = page[f"org/{name}"]
        c = csv_rows[f"org/{name}"]
        assert (
            (row["ind_method"], row["ind_view"], row["ind_k"])
            == (h["method"], h["view"], 16)
            == (
                c["ind_method"],
                c["ind_view"],
                int(c["ind_k"]),
            )
        )
        assert row["ind_annotators"] == p.annotators == h["annotators"]
        assert row["ind_top1"] == pytest.approx(h["top1"]) and row["ind_top1_population"] == pytest.approx(
            h["top1_population"]
        )
        assert (row["ind_top1_ci_low"], row["ind_top1_ci_high"]) == pytest.approx(
            (p.top1.mean.ci_low, p.top1.mean.ci_high)
        )
        for key, gain in (("ind_gain", h["gain"]), ("ind_gain_other", h["gain_vs_random_other"])):
            assert (row[key], row[f"{key}_ci_low"], row[f"{key}_ci_high"], row[f"{key}_p"]) == pytest.approx(
                (gain["value"], gain["ci_low"], gain["ci_high"], gain["p"])
            )
            assert float(c[key]) == pytest.approx(gain["value"], abs=1e-6)
        assert row["ind_gain_p_holm"] == pytest.approx(p.vs_population["top1"].p_holm)
        assert row["ind_counts"] is h["counts"] and c["ind_counts"] == ("true" if h["counts"] else "false")
        assert (row["ind_gap_closed"], row["ind_gap_closed_ci_low"], row["ind_gap_p"]) == pytest.approx(
            (h["gap_closed"]["value"], h["gap_closed"]["ci_low"], h["gap_p"])
        )
        assert row["ind_oracle_individual"] == pytest.approx(h["oracle_individual"])
        # the curve on the page: every k of the block's curve
        assert [x["k"] for x in view["points"]] == sorted(int(k) for k in curve.points)
        for x in view["points"]:
            q = curve.points[str(x["k"])]
            assert x["mean_top1"] == pytest.approx(q.top1.mean.value) and x["annotators"] == q.annotators
            assert x["counts"] is q.counts
            other = q.other_top1.value
            assert x["other_top1"] == (None if other != other else pytest.approx(other))
    assert blocks["personal"].headline["method"] == "native" and blocks["population"].headline["method"] == "adapted"
    personal, swapped = page["org/personal"][0], page["org/swapped"][0]
    # the perfect personalizer: above both controls, the whole gap to the individual oracle closed
    assert personal["ind_counts"] and personal["ind_gain"] > 0 and personal["ind_gain_other"] > 0
    assert personal["ind_gap_closed"] == pytest.approx(1.0) and personal["ind_gap_p"] < 0.05
    # k-shot rows that are another user's: below the random-other-user control, nothing counts
    assert not swapped["ind_counts"] and swapped["ind_gain_other"] < 0
    assert not any(x["counts"] for x in page["org/swapped"][1]["points"])
    md = (site / "leaderboard.md").read_text()
    assert "**Few-shot personalization**" in md
    (line,) = [x for x in md.splitlines() if x.startswith("| org/personal | native")]
    assert "| yes |" in line and f"+{100 * personal['ind_gain']:.1f}" in line
    (curve_line,) = [x for x in md.splitlines() if x.startswith("| org/swapped | ") and "other" in x]
    assert "\\*" not in curve_line


def test_corpus_is_big_enough(corpus):
    _, _, rejected, accepted, _ = corpus
    assert len(rejected) >= 40 and len(accepted) >= 6


def test_every_hostile_file_is_rejected_with_its_reason_and_the_rest_is_built(corpus):
    folder, site, rejected, accepted, info = corpus
    got = {r["file"]: " | ".join(f"{p['where']}: {p['message']}" for p in r["problems"]) for r in info["rejected"]}
    shown = {lb_validate.safe_text(k): v for k, v in rejected.items()}
    assert set(got) == set(shown), set(got) ^ set(shown)
    wrong = {k: got[k] for k, reason in shown.items() if reason not in got[k]}
    assert not wrong, wrong
    # duplicates name the file they repeat by its place in the folder (no server path on the page)
    assert got["prior_copy.parquet"] == "(file): the same file as prior.parquet"
    assert got["same_model_again.parquet"].startswith("/model: duplicate of length.parquet (")
    (main,) = [t for t in info["tables"] if t["ranked"]]
    (smoke,) = [t for t in info["tables"] if not t["ranked"]]
    assert main["models"] == len(accepted) - 1 and smoke["models"] == 1
    assert info["ignored"] == []
    assert all((site / f).stat().st_size > 0 for f in lb_build.SITE_FILES)


def test_validate_cli_lists_every_problem_never_a_traceback(corpus):
    folder, _, rejected, accepted, _ = corpus
    names = accepted + [n for n in rejected if n not in ("escape.parquet", "linked_dir")]  # links: the folder's rule
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "community_alignment.cli",
            "validate",
            *[str(folder / n) for n in names],
            "--fingerprint",
            "d" * 64,
        ],
        capture_output=True,
        text=True,
        env=subprocess_env(),
    )
    assert res.returncode == 1 and "Traceback" not in res.stderr + res.stdout, res.stderr[-3000:]
    lines = res.stdout.splitlines()

    def report(n: str) -> str:
        head = f"{lb_validate.safe_text(folder / n)}: "
        (k,) = [k for k, line in enumerate(lines) if line.startswith(head) and not line.startswith("  ")]
        end = k + 1
        while end < len(lines) and lines[end].startswith("  "):
            end += 1
        return "\n".join(lines[k:end])

    for n in rejected:
        if n in names:
            text = report(n)
            assert "problem(s)" in text and rejected[n] in text, (n, text)
    for n in accepted:
        assert ": OK (" in report(n), report(n)
    assert f"{len(accepted)} of {len(names)} file(s) valid; {len(names) - len(accepted)} with problems" in res.stdout


def test_page_numbers_are_the_contracts(corpus):
    """The table's numbers are `evaluate`'s (same truth, seed, resamples ⇒ the same replicates), the
    differences are the contract's paired differences, Holm over the adjacent pairs."""
    from community_alignment.metrics.bootstrap import holm
    from community_alignment.protocol.evaluate import evaluate_submission

    folder, site, *_ = corpus
    rows = list(csv.DictReader(io.StringIO((site / "leaderboard.csv").read_text())))
    models = [r for r in rows if r["kind"] == "model" and r["rank"]]
    assert [int(r["rank"]) for r in models] == list(range(1, len(models) + 1))
    heads = [float(r["headline"]) for r in models]
    assert heads == sorted(heads, reverse=True)
    assert models[0]["model"] == "org/noisy-oracle" and models[0]["better_than_next"] == "true"
    by_name = {r["model"]: r for r in models}
    res = evaluate_submission(str(folder / "oracle.parquet"), resamples=RESAMPLES, seed=0)
    h, r = res.headline, by_name["org/noisy-oracle"]
    assert float(r["headline"]) == pytest.approx(h["value"], abs=1e-6)
    assert float(r["headline_ci_low"]) == pytest.approx(h["ci_low"], abs=1e-6)
    assert float(r["headline_ci_high"]) == pytest.approx(h["ci_high"], abs=1e-6)
    worst = res.model.axes["country"].top1_accuracy.worst
    assert float(r["worst_ci_low"]) == pytest.approx(worst.ci_low, abs=1e-6) and r["worst_country"] == (
        res.model.axes["country"].top1_accuracy.worst_group
    )
    # references are the dataset's own, the same as in `evaluate`
    ref = res.scorers["position_prior"].axes["country"].top1_accuracy.macro
    (prior_row,) = [x for x in rows if x["model"] == "position_prior" and x["table"] == r["table"]]
    assert float(prior_row["headline"]) == pytest.approx(ref.value, abs=1e-6)
    for a, b in zip(models, models[1:]):
        assert float(a["diff_next"]) == pytest.approx(float(a["headline"]) - float(b["headline"]), abs=2e-6)
        assert float(a["diff_next_ci_low"]) <= float(a["diff_next"]) <= float(a["diff_next_ci_high"])
    page = _page_data(site)
    t = page["tables"][0]
    ps = {str(i): r["p_next"] for i, r in enumerate(t["rows"][: len(models) - 1])}
    adjusted = holm(ps)
    for i, r in enumerate(t["rows"][: len(models) - 1]):
        assert r["p_holm_next"] == pytest.approx(adjusted[str(i)]["p_holm"])
    # the prior model *is* the position prior: a model row and its reference row agree exactly
    assert by_name["org/prior-model"]["headline"] == prior_row["headline"]


def test_monoculture_panel_is_the_monoculture_analysis(corpus):
    from community_alignment.analysis.monoculture import model_view

    folder, site, _, accepted, _ = corpus
    t = _page_data(site)["tables"][0]
    m = t["monoculture"]
    ranked = [a for a in accepted if a != "smoke.parquet"]
    assert len(m["models"]["models"]) == len(ranked)
    view = model_view([str(folder / a) for a in ranked])
    assert m["annotators"] == pytest.approx(view["annotators"])
    assert m["annotators"]["sets"] > 0 and 0 < m["annotators"]["pair_agreement"] < 1
    order = [view["models"]["models"].index(x) for x in m["models"]["models"]]
    ours = np.array(m["models"]["matrix"], dtype=float)
    theirs = np.array(view["models"]["matrix"], dtype=float)[np.ix_(order, order)]
    assert np.allclose(ours, theirs) and np.allclose(ours, ours.T)
    assert m["models"]["mean_pairwise"] == pytest.approx(view["models"]["mean_pairwise"])
    assert "pick the same candidate" in (site / "leaderboard.md").read_text()


def _page_data(site) -> dict:
    html = (site / "index.html").read_text()
    start = html.index("const DATA = ") + len("const DATA = ")
    end = html.index(";\nconst COLS")
    return json.loads(html[start:end])


def test_outputs_are_neutralised(corpus):
    _, site, *_ = corpus
    text = (site / "leaderboard.csv").read_text()
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                float(cell)  # only our own (negative) numbers may start with "-"
    assert "'=HYPERLINK(" in text  # the hostile file name, neutralised
    md = (site / "leaderboard.md").read_text()
    assert not re.search(r"(?<!\\)<[A-Za-z/!?]", md)  # no HTML tag can open
    assert not re.search(r"(?<!\\)\]\s*\(", md)  # no inline link or image
    assert "://" not in md and "www." not in md  # nothing a renderer would autolink
    assert "\\[click\\]\\(http\\[:\\]//evil.example\\)" in md
    assert "\u202e" not in md and "\u202e" not in text
    html = (site / "index.html").read_text()
    script = html.split("<script>", 1)[1]
    assert "<img" not in script and "</script><" not in script and "\\u003cimg" in script
    assert "\\\\u202e" in script  # the RTL override arrives as visible text, never as the character
    assert 'http-equiv="Content-Security-Policy" content="default-src \'none\'' in html


def test_safe_text_and_csv_cells():
    assert lb_validate.safe_text("a\u202eb\nc\x1b[31m") == "a\\u202eb\\u000ac\\u001b[31m"
    assert lb_build.csv_cell("=1+1") == "'=1+1" and lb_build.csv_cell("@x") == "'@x"
    assert lb_build.csv_cell("+x") == "'+x" and lb_build.csv_cell("-x") == "'-x"
    assert lb_build.csv_cell("\tx") == "\\u0009x" and lb_build.csv_cell(-0.5) == "-0.5"
    assert lb_build.csv_cell(float("nan")) == "" and lb_build.csv_cell(True) == "true"


def test_site_is_not_replaced_without_overwrite(base, tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    shutil.copy(base[1]["length"], folder / "a.parquet")
    site = tmp_path / "site"
    lb_build.build(str(folder), str(site), resamples=0)
    before = (site / "index.html").read_bytes()
    with pytest.raises(lb_build.BuildError, match="--overwrite"):
        lb_build.build(str(folder), str(site), resamples=0)
    assert (site / "index.html").read_bytes() == before
    lb_build.build(str(folder), str(site), resamples=0, overwrite=True)


def test_extreme_but_finite_scores_are_ranked_not_crashed(base, tmp_path):
    """±1e308 scores and a 1e-300 temperature are legal: the build goes through, the NLL stays finite
    (capped per comparison), and a submitted temperature changes nothing (the evaluator fits its own)."""
    table, meta = _read(base[1]["length"])
    s = _scores(table)
    rng = np.random.default_rng(0)
    folder = tmp_path / "subs"
    folder.mkdir()
    huge = np.where(np.isnan(s), np.nan, rng.choice([1e308, -1e308], size=s.shape))
    _write(
        folder / "huge.parquet",
        _with_scores(table, huge),
        _set(json.loads(json.dumps(meta)), "/model/name", "org/huge"),
    )
    m = _set(json.loads(json.dumps(meta)), "/model/name", "org/cold")
    _write(folder / "cold.parquet", table, _set(m, "/model/temperature", 1e-300))
    info = lb_build.build(str(folder), str(tmp_path / "site"), resamples=20)
    assert info["rejected"] == [] and info["entries"] == 2
    rows = {r["model"]: r for r in csv.DictReader(io.StringIO((tmp_path / "site" / "leaderboard.csv").read_text()))}
    assert 0 < float(rows["org/huge"]["nll"]) <= 690.8 and 0 < float(rows["org/huge"]["top1"]) < 1
    assert 0 < float(rows["org/cold"]["headline"]) < 1
    plain = evaluate_submission(str(base[1]["length"]), resamples=20)
    assert float(rows["org/cold"]["nll"]) == pytest.approx(plain.model.overall.nll.value, abs=1e-5)  # CSV: 6 digits


def test_leaderboard_cli_with_v1_results_only(tmp_path, hf_isolated):
    folder = tmp_path / "runs" / "old"
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({"schema_version": 1, "config": {}, "results": {}}))
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "community_alignment.cli",
            "leaderboard",
            str(tmp_path / "runs"),
            "--out",
            str(tmp_path / "site"),
        ],
        capture_output=True,
        text=True,
        env=subprocess_env(),
    )
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "rejected old/results.json: (file): results schema v1" in res.stdout
    assert "community-alignment evaluate" in res.stdout
    assert "Rejected (1)" in (tmp_path / "site" / "leaderboard.md").read_text()


def test_v2_results_are_ignored_not_read(base, tmp_path):
    from community_alignment.protocol.evaluate import evaluate_submission
    from community_alignment.results.io import write_results

    run = tmp_path / "runs" / "a"
    run.mkdir(parents=True)
    shutil.copy(base[1]["length"], run / "submission.parquet")
    results = evaluate_submission(str(run / "submission.parquet"), resamples=0)
    results.headline["value"] = 0.99  # a tampered summary: never read
    write_results(str(run / "results.json"), results)
    info = lb_build.build(str(tmp_path / "runs"), str(tmp_path / "site"), resamples=0)
    assert info["ignored"] == ["a/results.json"] and info["rejected"] == []
    row = next(csv.DictReader(io.StringIO((tmp_path / "site" / "leaderboard.csv").read_text())))
    assert float(row["headline"]) < 0.5


def test_fingerprint_gate(base, monkeypatch):
    """Hub data: the shipped fingerprint wins; until one is shipped, --fingerprint is required and recorded."""
    from community_alignment.data.schema import PINNED_REVISION
    from community_alignment.protocol import fingerprints
    from community_alignment.protocol.submission import read_submission

    sub = read_submission(base[1]["length"])
    meta = sub.metadata
    _set(meta, "/protocol/dataset/source", "hub")
    _set(meta, "/protocol/dataset/revision", PINNED_REVISION)
    _set(meta, "/protocol/dataset/synthetic", False, reid=True)
    claimed = meta["protocol"]["dataset"]["fingerprint"]
    problems, _ = lb_validate.fingerprint_check(sub)
    assert "--fingerprint" in problems[0].message
    problems, source = lb_validate.fingerprint_check(sub, (claimed,))
    assert problems == [] and "--fingerprint" in source
    monkeypatch.setitem(fingerprints.KNOWN_FINGERPRINTS, (PINNED_REVISION, "prompt"), "a" * 64)
    problems, _ = lb_validate.fingerprint_check(sub, (claimed,))  # a given value never overrides the shipped one
    assert "is not the test split of the hub data" in problems[0].message
    meta["protocol"]["dataset"]["fingerprint"] = "a" * 64
    problems, source = lb_validate.fingerprint_check(sub)
    assert problems == [] and "shipped" in source


# --- safe writes --------------------------------------------------------------------------------------


def test_atomic_writes_keep_the_umask(tmp_path):
    from community_alignment.io_utils import atomic_write_text

    old = os.umask(0o022)
    try:
        for mask, mode in ((0o022, 0o644), (0o077, 0o600), (0o002, 0o664)):
            os.umask(mask)
            path = tmp_path / f"f{mask:o}.txt"
            atomic_write_text(str(path), "x")
            assert stat.S_IMODE(path.stat().st_mode) == mode
    finally:
        os.umask(old)


def test_site_files_are_world_readable_under_022(base, tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    shutil.copy(base[1]["length"], folder / "a.parquet")
    old = os.umask(0o022)
    try:
        lb_build.build(str(folder), str(tmp_path / "site"), resamples=0)
    finally:
        os.umask(old)
    assert all(stat.S_IMODE((tmp_path / "site" / f).stat().st_mode) == 0o644 for f in lb_build.SITE_FILES)


def _tree(root) -> dict[str, str]:
    """Every path under `root` (links not followed) → its kind and content hash."""
    out = {}
    for d, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            p = os.path.join(d, name)
            if os.path.islink(p):
                out[p] = "link:" + os.readlink(p)
            elif os.path.isdir(p):
                out[p] = "dir"
            else:
                out[p] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    return out


def _cli(*args, env=None):
    """The command line in a fresh process (what a user sees, tracebacks included)."""
    return subprocess.run(
        [sys.executable, "-m", "community_alignment.cli", *args],
        capture_output=True,
        text=True,
        env=subprocess_env(env),
    )


def _main(capsys, *args) -> tuple[int, str, str]:
    """The command line in this process (same parser and handlers, no interpreter start-up)."""
    from community_alignment.cli import main

    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_submit_dry_run_never_writes_outside_its_folder(base, tmp_path, capsys):
    parent = tmp_path / "parent"
    parent.mkdir()
    (parent / "sibling.txt").write_text("keep")
    (parent / "outside").mkdir()
    table, meta = _read(base[1]["length"])
    hostile = []
    for k, name in enumerate(["org/../../escaped", "../x", "org/x\n", "org/..", "/abs/x", "org/x/../../y"]):
        m = json.loads(json.dumps(meta))
        m["model"]["name"] = name
        path = parent / f"hostile{k}.parquet"
        _write(path, table, m)
        hostile.append(path)
    m = json.loads(json.dumps(meta))
    m["model"]["revision"] = "../../../../tmp/pwned"
    _write(parent / "hostile_rev.parquet", table, m)
    hostile.append(parent / "hostile_rev.parquet")
    dry = parent / "dry"
    before = _tree(tmp_path)
    for path in hostile:
        rc, out, err = _main(capsys, "submit", str(path), "--repo", "me/ca-results", "--dry-run", str(dry))
        assert rc == 1 and "failed validation" in err and "Traceback" not in err
    rc, out, err = _main(capsys, "submit", str(base[1]["length"]), "--repo", "../../evil", "--dry-run", str(dry))
    assert rc == 1 and "--repo must be ORG/NAME" in err
    rc, out, err = _main(
        capsys, "submit", str(base[1]["length"]), "--repo", "me/ca-results", "--dry-run", str(parent / "no" / "such")
    )
    assert rc == 1 and "does not exist" in err
    assert _tree(tmp_path) == before  # nothing created or changed anywhere, not even DIR
    # a link planted inside DIR that leads outside: refused before any write
    dry.mkdir()
    os.symlink(str(parent / "outside"), str(dry / "submissions"))
    before = _tree(tmp_path)
    rc, out, err = _main(capsys, "submit", str(base[1]["length"]), "--repo", "me/ca-results", "--dry-run", str(dry))
    assert rc == 1 and "resolves outside" in err
    assert _tree(tmp_path) == before
    # a valid submission: exactly two new files, both inside DIR, the submission byte for byte
    good = parent / "good"
    rc, out, err = _main(capsys, "submit", str(base[1]["length"]), "--repo", "me/ca-results", "--dry-run", str(good))
    assert rc == 0, err
    new = {p: v for p, v in _tree(tmp_path).items() if p not in before}
    files = {p for p, v in new.items() if v != "dir"}
    assert all(p == str(good) or p.startswith(str(good) + os.sep) for p in new)
    rel = "submissions/main/sample/org/length-model/other-none-aaaaaaaaaaaa.parquet"
    assert files == {str(good / rel), str(good / "COMMIT_MESSAGE.txt")}
    assert (good / rel).read_bytes() == open(base[1]["length"], "rb").read()
    msg = (good / "COMMIT_MESSAGE.txt").read_text()
    assert msg.startswith("Add org/length-model (other, conditioning none) to main") and "create_pr=True" in msg
    # again into the same folder: refused, nothing replaced
    rc, out, err = _main(capsys, "submit", str(base[1]["length"]), "--repo", "me/ca-results", "--dry-run", str(good))
    assert rc == 1 and "exists" in err


def test_upload_paths_are_built_from_validated_parts_only(tmp_path):
    assert safe_relpath(["submissions", "main", "org", "x.parquet"]) == "submissions/main/org/x.parquet"
    for parts in (["a", ".."], ["..", "x"], ["a/b"], ["."], ["a\n"], [""], ["é"], ["-x"]):
        with pytest.raises(SubmitError, match="unsafe path component"):
            safe_relpath(parts)
    for rel in ("../x", "a/../../x", "/etc/passwd"):
        with pytest.raises(SubmitError, match="resolves outside"):
            contained_target(str(tmp_path), rel)
    assert contained_target(str(tmp_path), "a/b") == os.path.join(os.path.realpath(tmp_path), "a", "b")


def test_submit_opens_one_pull_request_through_huggingface_hub(base, monkeypatch):
    import huggingface_hub.constants as hc
    from hub_standin import HubStandIn
    from huggingface_hub import HfApi

    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", False)

    from community_alignment.leaderboard.validate import check_submission

    path = base[1]["oracle"]
    with HubStandIn("me/ca-results", "a" * 40, {}) as hub:
        url = submit(path, "me/ca-results", api=HfApi(endpoint=hub.endpoint, token="hf_test"))
        assert url.endswith("/discussions/1")
        ((api_path, payload),) = hub.commits
        with pytest.raises(
            SubmitError, match=r"could not open the pull request on me/other at http://127\.0\.0\.1"
        ) as e:
            submit(path, "me/other", api=HfApi(endpoint=hub.endpoint, token="hf_test"))
        assert "\n" not in str(e.value)
    assert api_path == "/api/datasets/me/ca-results/commit/main" and payload["create_pr"]
    rel = path_in_repo(check_submission(path))
    assert rel.startswith("submissions/main/sample/org/noisy-oracle/other-none-")
    assert payload["files"] == {rel: open(path, "rb").read()}
    assert payload["summary"] == "Add org/noisy-oracle (other, conditioning none) to main"


def test_submit_without_network_is_one_line(base):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    res = _cli(
        "submit",
        str(base[1]["length"]),
        "--repo",
        "me/ca-results",
        env={"HF_ENDPOINT": f"http://127.0.0.1:{port}", "HF_TOKEN": "hf_test", "HF_HUB_OFFLINE": "0"},
    )
    assert res.returncode == 1 and "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert lines == [
        f"error: cannot reach the Hub at http://127.0.0.1:{port} (Connection refused): nothing was uploaded"
    ]


def test_model_card_is_fenced_recomputed_and_never_claims_the_real_dataset(base, tmp_path, capsys):
    from huggingface_hub import metadata_load

    from community_alignment.protocol.evaluate import evaluate_submission

    path = base[1]["oracle"]
    rc, text, err = _main(capsys, "model-card", path, "--bootstrap-resamples", 20)
    assert rc == 0, err
    assert text.startswith("---\n# WARNING: these numbers come from the SYNTHETIC sample") and text.endswith("\n---\n")
    card = tmp_path / "README.md"
    card.write_text(text + "\n# My model\n")
    meta = metadata_load(str(card))
    results = meta["model-index"][0]["results"]
    assert meta["model-index"][0]["name"] == "org/noisy-oracle" and "datasets" not in meta
    assert {r["dataset"]["type"] for r in results} == {"community-alignment-synthetic-sample"}
    assert "facebook/community-alignment-dataset" not in text
    metrics = {m["type"]: m for r in results for m in r["metrics"]}
    expected = evaluate_submission(str(path), resamples=20, seed=0).headline
    assert metrics["top1_accuracy_macro_country"]["value"] == pytest.approx(expected["value"], abs=1e-6)
    assert "95% CI" in metrics["top1_accuracy_macro_country"]["name"]
    # a bad file gets the validation report, not a card; a v1 results file the re-evaluate message
    v1 = tmp_path / "results.json"
    v1.write_text(json.dumps({"schema_version": 1}))
    rc, out, err = _main(capsys, "model-card", v1)
    assert rc == 1 and "community-alignment evaluate" in err and out == ""


def test_validate_a_hub_submission_through_the_loopback_hub(tmp_path, monkeypatch, capsys):
    """The real Hub path: the data comes from (a stand-in of) the Hub; its fingerprint is not shipped yet,
    so --fingerprint is required, checked against the data, and recorded."""
    import gzip

    import datasets.config
    import huggingface_hub.constants as hc
    from conftest import cheap_model
    from hub_standin import HubStandIn

    from community_alignment.data import schema
    from community_alignment.protocol.references import length_scores
    from community_alignment.protocol.submission import build_metadata, write_submission
    from community_alignment.protocol.truth import load_truth
    from community_alignment.synthetic.sample import sample_path

    data = gzip.decompress(open(sample_path(), "rb").read())
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "ds"))
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(tmp_path / "hub"))
    path = str(tmp_path / "hub.parquet")
    with HubStandIn(schema.HUB_REPO_ID, schema.PINNED_REVISION, {"community_alignment.csv": data}) as hub:
        monkeypatch.setattr(hc, "ENDPOINT", hub.endpoint)  # what HF_ENDPOINT sets at import time
        monkeypatch.setattr(
            hc, "HUGGINGFACE_CO_URL_TEMPLATE", hub.endpoint + "/{repo_id}/resolve/{revision}/{filename}"
        )
        monkeypatch.setattr(hc, "HF_HUB_OFFLINE", False)
        truth = load_truth("main", source="hub")
        assert truth.protocol["dataset"]["source"] == "hub" and not truth.protocol["dataset"]["synthetic"]
        meta = build_metadata(truth.protocol, cheap_model("org/hub-model"))
        write_submission(path, truth.test.conversation_id, truth.test.turn, length_scores(truth.test), meta)
        fp = truth.protocol["dataset"]["fingerprint"]
        rc, out, _ = _main(capsys, "validate", path)
        assert rc == 1 and "not shipped with this package yet: pass --fingerprint" in out
        rc, out, _ = _main(capsys, "validate", path, "--fingerprint", "0" * 64)
        assert rc == 1 and "none of the --fingerprint values" in out
        rc, out, err = _main(capsys, "validate", path, "--fingerprint", fp)
        assert rc == 0, out + err
        assert f"fingerprint {fp} given with --fingerprint (not yet shipped with the package)" in out
    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(tmp_path / "empty"))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "empty_ds"))
    rc, out, _ = _main(capsys, "validate", path, "--fingerprint", fp)  # no Hub, no cache: nothing verified
    assert rc == 1 and "(data): the data this submission claims cannot be loaded" in out


# --- the page in a real browser -----------------------------------------------------------------------


def _chromium():
    for path in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if os.path.exists(path) and shutil.which("chromedriver"):
            return path
    return None


@pytest.mark.skipif(
    _chromium() is None and os.environ.get("CI") != "true", reason="chromium not installed (make browser)"
)
def test_page_in_a_real_browser(corpus, individual_site, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    folder, site, rejected, accepted, info = corpus
    opts = webdriver.ChromeOptions()
    opts.binary_location = _chromium()
    for a in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1400,2400",
    ):
        opts.add_argument(a)
    os.environ["SE_OFFLINE"] = "true"
    driver = webdriver.Chrome(
        options=opts, service=webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    )
    try:
        driver.get((site / "index.html").as_uri())
        assert driver.execute_script("return window.__pwned === undefined")  # hostile names shown, never run
        model_rows = driver.find_elements(By.CSS_SELECTOR, "#board-body tr.model")
        names = [r.find_elements(By.TAG_NAME, "td")[1].text for r in model_rows]
        assert len(model_rows) == len(accepted) - 1 and names[0] == "org/noisy-oracle"
        assert "*" in model_rows[0].find_elements(By.TAG_NAME, "td")[5].text
        ref_rows = driver.find_elements(By.CSS_SELECTOR, "#board-body tr.ref")
        assert any("oracle_individual" in r.text for r in ref_rows)
        # sorting
        header = [
            th
            for th in driver.find_elements(By.CSS_SELECTOR, "#board-head th")
            if th.get_attribute("data-key") == "model"
        ][0]
        header.click()
        col = [
            r.find_elements(By.TAG_NAME, "td")[1].text for r in driver.find_elements(By.CSS_SELECTOR, "#board-body tr")
        ]
        assert col == sorted(col)
        # the monoculture panel: the sentence, three bars, an n × n matrix
        mono = driver.find_element(By.ID, "mono-text").text
        assert "distinct annotators, two annotators pick the same candidate" in mono and "Two submitted models" in mono
        bars = driver.find_elements(By.CSS_SELECTOR, "#mono-bars .bar")
        assert len(bars) == 3 and all(b.size["width"] > 0 for b in bars)
        assert len(driver.find_elements(By.CSS_SELECTOR, "#mono-body tr")) == len(accepted) - 1
        # the per-axis view
        heat = driver.find_elements(By.CSS_SELECTOR, "#heat-body td.cell")
        assert len(heat) >= 5 * len(accepted)
        # details of a model with hostile free-form strings: plain text
        driver.find_elements(By.CSS_SELECTOR, "#board-body tr.model")[0].click()
        assert '"model"' in driver.find_element(By.ID, "detail-body").text
        # the rejected section: every rejected file with its problems, hostile names as inert text
        items = driver.find_elements(By.CSS_SELECTOR, "#rejected-list > li")
        assert len(items) == len(rejected)
        assert driver.find_element(By.ID, "rejected-title").text == f"Rejected ({len(rejected)})"
        text = driver.find_element(By.ID, "rejected-list").text
        assert "community-alignment evaluate" in text and "leading outside the folder" in text
        assert "empty file (0 bytes)" in text
        # the smoke table: listed, never ranked
        Select(driver.find_element(By.ID, "table")).select_by_index(1)
        smoke_rows = driver.find_elements(By.CSS_SELECTOR, "#board-body tr.model")
        assert len(smoke_rows) == 1 and smoke_rows[0].find_elements(By.TAG_NAME, "td")[0].text == "–"
        assert driver.find_element(By.ID, "smoke").is_displayed()
        os.makedirs(os.path.join(REPO_ROOT, "test-artifacts"), exist_ok=True)
        Select(driver.find_element(By.ID, "table")).select_by_index(0)
        assert not driver.find_element(By.ID, "ind-section").is_displayed()  # track main: no individual section
        driver.save_screenshot(os.path.join(REPO_ROOT, "test-artifacts", "leaderboard.png"))
        # track unseen_annotators: the individual headline per model and each model's k-shot curve
        _, ind_site, _ = individual_site
        driver.get((ind_site / "index.html").as_uri())
        page = _page_data(ind_site)["tables"][0]
        assert driver.find_element(By.ID, "ind-section").is_displayed()
        assert "k = 16" in driver.find_element(By.ID, "ind-note").text
        ind_rows = {
            r.find_elements(By.TAG_NAME, "td")[0].text: [td.text for td in r.find_elements(By.TAG_NAME, "td")]
            for r in driver.find_elements(By.CSS_SELECTOR, "#ind-body tr")
        }
        assert set(ind_rows) == {"org/personal", "org/swapped", "org/population"}
        personal = next(r for r in page["rows"] if r["model"] == "org/personal")
        cells = ind_rows["org/personal"]
        assert cells[1] == "native (expected)" and cells[9] == "yes" and ind_rows["org/swapped"][9] == "no"
        assert cells[3].startswith(f"k = 16: {100 * personal['ind_top1']:.1f} [")
        assert cells[5].startswith(f"+{100 * personal['ind_gain']:.1f} [")
        curves = driver.find_elements(By.CSS_SELECTOR, "#ind-curves table")
        assert len(curves) == 3
        first = [
            [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            for tr in curves[0].find_elements(By.CSS_SELECTOR, "tbody tr")
        ]
        assert [r[0] for r in first] == [str(p["k"]) for p in page["individual"][0]["points"]]
        assert first[0][3] == "–" and any(r[-1] == "yes" for r in first)  # k = 0 has no control; personal counts
        driver.save_screenshot(os.path.join(REPO_ROOT, "test-artifacts", "leaderboard-individual.png"))
    finally:
        driver.quit()
