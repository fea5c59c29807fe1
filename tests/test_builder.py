"""The datasets builder over the embedded sample: configs, splits, counts, metadata."""

import hashlib
import importlib.util
import os

import datasets
import numpy as np
import pyarrow.compute as pc
import pytest
from conftest import REPO_ROOT, make_row, write_csv

from community_alignment import CommunityAlignment
from community_alignment.data.builder import CONFIG_NAMES, count_rows, read_meta


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    cache = str(tmp_path_factory.mktemp("cache"))
    out = {}
    for name in CONFIG_NAMES:
        b = CommunityAlignment(config_name=name, source="sample", cache_dir=cache)
        b.download_and_prepare()
        out[name] = b.as_dataset()
    return out


def test_row_counts_match_the_metadata(prepared):
    meta = read_meta(prepared["pairwise"]["train"].info)
    counts = count_rows(meta)
    for name, dsd in prepared.items():
        assert {s: ds.num_rows for s, ds in dsd.items()} == counts[name], name
    assert sum(ds.num_rows for ds in prepared["comparisons"].values()) == meta["comparisons"]
    assert sum(ds.num_rows for ds in prepared["pairwise"].values()) == meta["pairs"]
    d = meta["dropped"]
    assert meta["pairs"] == 3 * meta["comparisons"] - d["pair_empty_side"] - d["pair_identical_texts"]


def test_comparisons_equal_sum_of_non_null_labels(prepared):
    conv = prepared["conversations"]
    labels = 0
    for ds in conv.values():
        for t in ("first", "second", "third", "fourth"):
            col = ds[f"{t}_turn_preferred_response"]
            labels += sum(v is not None for v in col)
    meta = read_meta(conv["train"].info)
    assert labels == meta["comparisons"] + meta["dropped"]["label_without_prompt"]


def test_group_configs_partition_every_split(prepared):
    for split in ("train", "validation", "test"):
        pairs = prepared["pairwise"][split].num_rows
        for axis in ("country", "language", "turn"):
            name = f"by_{axis}" if split == "train" else f"by_{axis}_{split}"
            assert sum(ds.num_rows for ds in prepared[name].values()) == pairs, name
            assert {s for ds in prepared[name].values() for s in ds.unique("split")} == {split}, name
    assert set(prepared["by_country"]) == {"united_states", "france", "italy", "brazil", "india"}
    assert set(prepared["by_language_test"]) == {"en", "fr", "it", "pt", "hi"}
    assert set(prepared["by_turn_validation"]) == {"turn_1", "turn_2", "turn_3", "turn_4"}
    india = prepared["by_country_test"]["india"]
    names = india.features["annotator_country"].names
    assert {names[i] for i in india.unique("annotator_country")} == {"india"}
    assert set(prepared["by_turn_test"]["turn_3"].unique("turn")) == {3}


def test_group_rows_are_the_pairwise_rows(prepared):
    """A group split holds exactly the pairwise rows of that group, in the same order."""
    pw = prepared["pairwise"]["test"].to_pandas()
    fr = prepared["by_language_test"]["fr"].to_pandas().reset_index(drop=True)
    code = prepared["pairwise"]["test"].features["assigned_lang"].str2int("fr")
    expected = pw[pw.assigned_lang == code].reset_index(drop=True)
    assert fr.comparison_id.tolist() == expected.comparison_id.tolist()
    assert fr.rejected_index.tolist() == expected.rejected_index.tolist()


def _group_filter(pairwise, axis: str, split_name: str):
    from community_alignment.data.builder import _group_value
    from community_alignment.data.expand import GROUP_AXES

    table = pairwise.data.table
    return table.filter(pc.equal(table[GROUP_AXES[axis]], _group_value(axis, split_name)))


def test_every_group_split_is_a_filter_of_pairwise(prepared):
    """Every split of every group config equals the pairwise table of its source split filtered to the
    group: same rows, same order, same values and schema."""
    for split in ("train", "validation", "test"):
        for axis in ("country", "language", "turn"):
            name = f"by_{axis}" if split == "train" else f"by_{axis}_{split}"
            for g, ds in prepared[name].items():
                expected = _group_filter(prepared["pairwise"][split], axis, g)
                assert ds.data.table.equals(expected, check_metadata=True), (name, g)
                assert ds.features == prepared["pairwise"][split].features


def test_group_splits_across_filter_windows(tmp_path, monkeypatch):
    """Groups written one record batch per filter window (many windows, files of several batches) are
    still the pairwise rows of the group in file order."""
    from community_alignment.data import builder

    monkeypatch.setattr(builder, "DERIVED_WINDOW", 1)
    b = CommunityAlignment(config_name="pairwise", source="sample", cache_dir=str(tmp_path))
    b.download_and_prepare()
    pairwise = b.as_dataset()["train"]
    assert pairwise.data.table["turn"].num_chunks > 10
    d = CommunityAlignment(config_name="by_turn", source="sample", cache_dir=str(tmp_path))
    d.download_and_prepare()
    for g, ds in d.as_dataset().items():
        assert ds.data.table.equals(_group_filter(pairwise, "turn", g), check_metadata=True), g


def test_chunked_expansion_on_a_worker_thread_keeps_rows_and_order(tmp_path, monkeypatch):
    """Many small chunks expanded ahead on the worker thread give the same tables as expanding them one
    after the other, and an error in a later chunk surfaces from the build (not lost on the thread)."""
    from community_alignment.data import builder, expand

    monkeypatch.setattr(builder, "CHUNK_ROWS", 97)
    tables = {}
    for depth in (0, 3):
        monkeypatch.setattr(builder, "PREFETCH", depth)
        for name in ("comparisons", "pairwise"):
            b = CommunityAlignment(config_name=name, source="sample", cache_dir=str(tmp_path / f"{name}{depth}"))
            b.download_and_prepare()
            for split, ds in b.as_dataset().items():
                assert split != "train" or ds.data.table["turn"].num_chunks > 10, name
                tables.setdefault((name, split), []).append(ds.data.table)
    for key, (one_by_one, ahead) in tables.items():
        assert ahead.equals(one_by_one), key
    calls, real_pairs = [], expand.pair_tables

    def fail_on_the_fifth(chunk, dropped, selected=None):
        calls.append(1)
        if len(calls) == 5:
            raise RuntimeError("chunk five broke")
        return real_pairs(chunk, dropped, selected)

    monkeypatch.setattr(expand, "pair_tables", fail_on_the_fifth)
    b = CommunityAlignment(config_name="pairwise", source="sample", cache_dir=str(tmp_path / "broken"))
    with pytest.raises(datasets.exceptions.DatasetGenerationError) as err:
        b.download_and_prepare()
    assert "chunk five broke" in repr(err.value.__cause__)


def test_source_split_is_a_named_config_not_an_option(tmp_path):
    with pytest.raises(ValueError, match="source_split cannot be changed on config 'by_turn'.*by_turn_test"):
        CommunityAlignment(config_name="by_turn", source="sample", source_split="test", cache_dir=str(tmp_path))


def test_derived_configs_do_not_re_expand(tmp_path, monkeypatch):
    from community_alignment.data import expand

    b = CommunityAlignment(config_name="pairwise", source="sample", cache_dir=str(tmp_path))
    b.download_and_prepare()

    def boom(*a, **k):
        raise AssertionError("a derived config re-expanded the conversations")

    for name in ("comparisons", "pairs", "comparison_tables", "pair_tables"):
        monkeypatch.setattr(expand, name, boom)
    for name in ("by_country_test", "by_turn", "pairwise_last_turn"):
        d = CommunityAlignment(config_name=name, source="sample", cache_dir=str(tmp_path))
        d.download_and_prepare()
        assert sum(s.num_examples for s in d.info.splits.values()) > 0


def test_pairwise_last_turn_keeps_only_the_current_prompt(prepared):
    full, last = prepared["pairwise"]["train"], prepared["pairwise_last_turn"]["train"]
    assert full.num_rows == last.num_rows
    late = [i for i, t in enumerate(full["turn"]) if t == 3][:20]
    assert late
    for i in late:
        assert len(full[i]["prompt"]) == 5 and last[i]["prompt"] == full[i]["prompt"][-1:]
        assert last[i]["chosen"] == full[i]["chosen"] and last[i]["comparison_id"] == full[i]["comparison_id"]


def test_synthetic_label_and_metadata(prepared):
    info = prepared["pairwise"]["train"].info
    assert info.description.startswith("SYNTHETIC DATA")
    meta = read_meta(info)
    assert meta["synthetic"] is True and meta["source"] == "sample" and meta["schema_version"] == "v1.1"
    assert len(meta["split_manifest"]["fingerprints"]["test"]) == 64
    assert info.license == "cc-by-4.0"


def test_features_are_typed(prepared):
    f = prepared["comparisons"]["train"].features
    assert isinstance(f["chosen_index"], datasets.ClassLabel) and f["chosen_index"].names == ["a", "b", "c", "d"]
    assert f["annotator_country"].names == ["united states", "france", "italy", "brazil", "india"]
    assert f["assigned_lang"].names == ["en", "fr", "it", "pt", "hi"]
    assert f["turn"].dtype == "int8" and f["candidates"].length == 4
    row = prepared["comparisons"]["train"][0]
    assert len(row["candidates"]) == 4 and row["context"][-1]["role"] == "user" and 0 <= row["chosen_index"] <= 3
    pf = prepared["pairwise"]["train"].features
    assert pf["rejected_index"].names == ["a", "b", "c", "d"]
    conv = prepared["conversations"]["train"]
    assert len(conv.column_names) == 45 and conv.features["wave"].dtype == "int8"


def test_stratify_by_chosen_index_and_country(prepared):
    ds = prepared["pairwise"]["train"]
    for column in ("chosen_index", "annotator_country"):
        parts = ds.train_test_split(test_size=0.2, stratify_by_column=column, seed=0)
        full = np.bincount(ds[column], minlength=5) / ds.num_rows
        test = np.bincount(parts["test"][column], minlength=5) / parts["test"].num_rows
        assert np.abs(full - test).max() < 0.01, column


def test_cache_is_keyed_on_content_not_mtime(tmp_path):
    """An edit that keeps the file's size and mtime still gets a new cache entry (the key is a SHA-256)."""
    path = tmp_path / "ca.csv"
    write_csv(path, [make_row(i, n_turns=2) for i in range(1, 31)])
    st = os.stat(path)
    b = CommunityAlignment(
        config_name="comparisons", source="local", data_path=str(path), cache_dir=str(tmp_path / "c")
    )
    b.download_and_prepare()
    assert read_meta(b.info)["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    data = path.read_bytes().replace(b"prompt 1 turn 1", b"prompt 1 turn X")  # same size
    with open(path, "r+b") as f:  # in place: same inode
        f.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(path).st_size == st.st_size and os.stat(path).st_mtime_ns == st.st_mtime_ns
    b2 = CommunityAlignment(
        config_name="comparisons", source="local", data_path=str(path), cache_dir=str(tmp_path / "c")
    )
    assert b2.hash != b.hash
    b2.download_and_prepare()
    texts = {m["content"] for ds in b2.as_dataset().values() for ctx in ds["context"] for m in ctx}
    assert "prompt 1 turn X" in texts and "prompt 1 turn 1" not in texts


def test_content_digest_is_remembered(tmp_path, monkeypatch):
    from community_alignment.data import sources

    path = write_csv(tmp_path / "ca.csv", [make_row(1)])
    digest = sources.content_digest(path)
    sources._DIGESTS.clear()
    calls = []
    real = hashlib.sha256
    monkeypatch.setattr(sources.hashlib, "sha256", lambda *a: calls.append(1) or real(*a))
    assert sources.content_digest(path) == digest and calls == []  # read back from the memo file
    os.utime(path)  # ctime/mtime change: recomputed
    sources._DIGESTS.clear()
    assert sources.content_digest(path) == digest and calls == [1]


def test_loading_script_exposes_the_builder(tmp_path):
    spec = importlib.util.spec_from_file_location("loading_script", os.path.join(REPO_ROOT, "loading_script.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    b = mod.CommunityAlignment(config_name="comparisons", source="sample", cache_dir=str(tmp_path))
    b.download_and_prepare()
    assert b.as_dataset()["train"].num_rows == count_rows(read_meta(b.info))["comparisons"]["train"]


def test_same_bytes_as_local_and_as_sample_are_different_sources(tmp_path):
    from community_alignment.data.sources import SourceSpec, identify
    from community_alignment.synthetic.sample import sample_path

    local, sample = identify(SourceSpec("local", sample_path())), identify(SourceSpec("sample"))
    assert local.sha256 == sample.sha256 and local.identity() != sample.identity()
    b = CommunityAlignment(
        config_name="conversations", source="local", data_path=sample_path(), cache_dir=str(tmp_path)
    )
    b.download_and_prepare()
    assert read_meta(b.info)["synthetic"] is False  # not the sample's cache entry


def test_conditioning_reads_country_names_not_label_ids(prepared):
    """Consumers decode the ClassLabels: the profile says `country: india`, never `country: 4`."""
    from community_alignment.data.schema import decode_labels
    from community_alignment.training.conditioning import condition

    ds = prepared["by_country"]["india"].select(range(3))
    batch = decode_labels(ds[:3], ds.features)
    row = {k: v[0] for k, v in batch.items()}
    system = condition(row["prompt"], row, "country")[0]["content"]
    assert "country: india" in system and f"language: {row['assigned_lang']}" in system
    assert row["assigned_lang"] in ("en", "hi") and batch["chosen_index"][0] in (0, 1, 2, 3)


def test_split_fingerprints_are_those_of_the_prepared_splits(prepared):
    """The manifest is recomputed here from the conversations config itself (sorted ids per split)."""
    meta = read_meta(prepared["conversations"]["train"].info)
    for split, ds in prepared["conversations"].items():
        ids = np.sort(np.asarray(ds["conversation_id"], dtype="<i8"))
        assert hashlib.sha256(ids.tobytes()).hexdigest() == meta["split_manifest"]["fingerprints"][split], split


def test_a_tiny_file_builds_the_configs_it_has_rows_for(tmp_path, capsys):
    """`datasets` cannot load a prepared split of no rows: such splits are left out, a config without
    any row is not built (and listed), and asking for that config alone is a clear error (exit 1)."""
    from community_alignment.cli import main
    from community_alignment.data.builder import EmptyConfigError
    from community_alignment.data.export import prepare
    from community_alignment.data.sources import SourceSpec

    path = write_csv(tmp_path / "one.csv", [make_row(1, n_turns=2)])
    cache = str(tmp_path / "c")
    built = prepare(CONFIG_NAMES, SourceSpec("local", path), cache_dir=cache)
    split = read_meta(built["conversations"].info)["split_manifest"]
    (only,) = [s for s, n in split["conversations"].items() if n]
    for name, b in built.items():
        assert set(b.as_dataset()) <= {only} | {"united_states", "en", "turn_1", "turn_2"}, name
    assert built["pairwise"].as_dataset()[only].num_rows == 6
    missing = set(CONFIG_NAMES) - set(built)
    assert missing and all(not n.endswith("_" + only) for n in missing)
    name = sorted(missing)[0]
    with pytest.raises(EmptyConfigError, match=f"config {name!r} has no rows in this file"):
        prepare([name], SourceSpec("local", path), cache_dir=cache)
    argv = ["prepare", "--all", "--source", "local", "--data-path", path, "--cache-dir", cache]
    assert main(argv) == 0
    assert "not built, no rows in this file: " in capsys.readouterr().out
    assert main(["prepare", "--config", name, "--source", "local", "--data-path", path, "--cache-dir", cache]) == 1
