"""The datasets builder over the embedded sample: configs, splits, counts, metadata."""

import importlib.util
import os

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


def test_group_configs_partition_the_train_pairs(prepared):
    train_pairs = prepared["pairwise"]["train"].num_rows
    for name in ("by_country", "by_language", "by_turn"):
        assert sum(ds.num_rows for ds in prepared[name].values()) == train_pairs
    assert set(prepared["by_country"]) == {"united_states", "france", "italy", "brazil", "india"}
    assert set(prepared["by_language"]) == {"en", "fr", "it", "pt", "hi"}
    assert set(prepared["by_turn"]) == {"turn_1", "turn_2", "turn_3", "turn_4"}
    india = prepared["by_country"]["india"]
    assert set(india["annotator_country"]) == {"india"} and set(india["split"]) == {"train"}


def test_source_split_option(tmp_path):
    b = CommunityAlignment(config_name="by_turn", source="sample", source_split="test", cache_dir=str(tmp_path))
    b.download_and_prepare()
    ds = b.as_dataset()
    assert set(ds["turn_1"]["split"]) == {"test"}
    assert "source_split=test" in b.config_id


def test_synthetic_label_and_metadata(prepared):
    info = prepared["pairwise"]["train"].info
    assert info.description.startswith("SYNTHETIC DATA")
    meta = read_meta(info)
    assert meta["synthetic"] is True and meta["source"] == "sample" and meta["schema_version"] == "v1.1"
    assert len(meta["split_manifest"]["fingerprints"]["test"]) == 64
    assert info.license == "cc-by-4.0"


def test_features_are_typed(prepared):
    f = prepared["comparisons"]["train"].features
    assert f["chosen_index"].dtype == "int8" and f["turn"].dtype == "int8"
    assert f["candidates"].length == 4
    row = prepared["comparisons"]["train"][0]
    assert len(row["candidates"]) == 4 and row["context"][-1]["role"] == "user"
    conv = prepared["conversations"]["train"]
    assert len(conv.column_names) == 45 and conv.features["wave"].dtype == "int8"


def test_local_source_and_cache_invalidation(tmp_path):
    path = write_csv(tmp_path / "ca.csv", [make_row(i, n_turns=2) for i in range(1, 31)])
    b = CommunityAlignment(config_name="comparisons", source="local", data_path=path, cache_dir=str(tmp_path / "c"))
    b.download_and_prepare()
    assert sum(ds.num_rows for ds in b.as_dataset().values()) == 60
    assert read_meta(b.info)["synthetic"] is False
    write_csv(tmp_path / "ca.csv", [make_row(i, n_turns=1) for i in range(1, 31)])  # the file changes
    os.utime(path, ns=(1, 1))
    b2 = CommunityAlignment(config_name="comparisons", source="local", data_path=path, cache_dir=str(tmp_path / "c"))
    assert b2.hash != b.hash
    b2.download_and_prepare()
    assert sum(ds.num_rows for ds in b2.as_dataset().values()) == 30


def test_loading_script_exposes_the_builder(tmp_path):
    spec = importlib.util.spec_from_file_location("loading_script", os.path.join(REPO_ROOT, "loading_script.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    b = mod.CommunityAlignment(config_name="comparisons", source="sample", cache_dir=str(tmp_path))
    b.download_and_prepare()
    assert b.as_dataset()["train"].num_rows == count_rows(read_meta(b.info))["comparisons"]["train"]
