"""`load_dataset("community_alignment")` from fresh processes, any working directory; export folders."""

import json
import os
import subprocess
import sys

import pytest
import yaml
from conftest import REPO_ROOT, subprocess_env

LOAD = """
import json
from datasets import load_dataset
out = {}
for config in (None, "by_country", "by_country_test", "comparisons"):
    dsd = load_dataset("community_alignment", config) if config else load_dataset("community_alignment")
    out[config or "default"] = {s: ds.num_rows for s, ds in dsd.items()}
    out[(config or "default") + "_config"] = next(iter(dsd.values())).info.config_name
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def prepared_cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("ld")
    env = subprocess_env(
        {"HF_DATASETS_CACHE": str(root / "cache"), "HF_HOME": str(root / "home"), "HF_HUB_OFFLINE": "1"}
    )
    cli = [sys.executable, "-m", "community_alignment.cli"]
    subprocess.run([*cli, "prepare", "--all", "--source", "sample"], cwd=root, env=env, check=True, capture_output=True)
    info = subprocess.run(
        [*cli, "info", "--source", "sample", "--json"], cwd=root, env=env, check=True, capture_output=True, text=True
    )
    return root, env, json.loads(info.stdout)


@pytest.mark.parametrize("where", ["tmp", "repo_root"])
def test_bare_name_loads_every_config_offline(prepared_cache, where, tmp_path):
    root, env, info = prepared_cache
    cwd = REPO_ROOT if where == "repo_root" else tmp_path
    out = subprocess.run([sys.executable, "-c", LOAD], cwd=cwd, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["default_config"] == "pairwise"
    assert got["default"] == info["configs"]["pairwise"]
    assert got["by_country"] == info["configs"]["by_country"]
    assert got["by_country_test"] == info["configs"]["by_country_test"]
    assert got["comparisons"] == info["configs"]["comparisons"]


def test_export_folder_loads_with_plain_datasets_and_no_warning(prepared_cache, tmp_path):
    root, env, info = prepared_cache
    out_dir = tmp_path / "export"
    cli = [sys.executable, "-m", "community_alignment.cli"]
    subprocess.run(
        [*cli, "export", str(out_dir), "--source", "sample", "--config", "pairwise", "--config", "by_language_test"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    card = (out_dir / "README.md").read_text()
    front = yaml.safe_load(card.split("---\n")[1])
    assert front["source_datasets"] == ["original"] and front["annotations_creators"] == ["machine-generated"]
    infos = {i["config_name"]: i for i in front["dataset_info"]}
    assert all(s["num_bytes"] > 0 for s in infos["pairwise"]["splits"]) and infos["pairwise"]["dataset_size"] > 0
    assert "arxiv.org/abs/2507.09650" in card
    assert sorted(os.listdir(out_dir / "pairwise")) == [
        f"{s}-00000-of-00001.parquet" for s in ("test", "train", "validation")
    ]
    code = (
        "import json,sys;from datasets import load_dataset;"
        f"a=load_dataset({str(out_dir)!r});b=load_dataset({str(out_dir)!r},'by_language_test');"
        "print(json.dumps([{s:d.num_rows for s,d in a.items()},{s:d.num_rows for s,d in b.items()},a['train'][0]['chosen'],"
        "a['train'].features['chosen_index'].names]))"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    a, b, chosen, names = json.loads(res.stdout.strip().splitlines()[-1])
    assert a == info["configs"]["pairwise"] and b == info["configs"]["by_language_test"]
    assert chosen[0]["role"] == "assistant" and names == ["a", "b", "c", "d"]
    assert "warn" not in res.stderr.lower() and "malformed" not in res.stderr, res.stderr


def test_export_shards_large_splits(tmp_path):
    from community_alignment.data.export import export
    from community_alignment.data.sources import SourceSpec

    written = export(str(tmp_path / "out"), SourceSpec("sample"), configs=["comparisons"], max_shard_size=1 << 20)
    train = sorted(k for k in written if k.startswith("comparisons/train-"))
    assert len(train) > 1 and train[-1].endswith(f"-of-{len(train):05d}.parquet")
    import datasets

    ds = datasets.load_dataset(str(tmp_path / "out"), "comparisons", split="train")
    assert ds.num_rows == sum(written[k] for k in train)


def test_push_to_hub_uploads_the_folder(tmp_path):
    from community_alignment.data.export import export
    from community_alignment.data.sources import SourceSpec

    class FakeApi:
        calls = []

        def create_repo(self, repo_id, **kw):
            self.calls.append(("create_repo", repo_id, kw))

        def upload_folder(self, **kw):
            self.calls.append(("upload_folder", sorted(os.listdir(kw["folder_path"])), kw["repo_id"], kw["repo_type"]))
            self.readme = open(os.path.join(kw["folder_path"], "README.md"), encoding="utf-8").read()
            return "commit-url"

    api = FakeApi()
    written = export(str(tmp_path / "out"), SourceSpec("sample"), configs=["comparisons"], push_to_hub="me/ca", api=api)
    assert set(written) == {f"comparisons/{s}-00000-of-00001.parquet" for s in ("train", "validation", "test")}
    assert api.calls[0] == ("create_repo", "me/ca", {"repo_type": "dataset", "exist_ok": True, "private": False})
    assert api.calls[1] == ("upload_folder", ["README.md", "comparisons"], "me/ca", "dataset")
    assert "load_dataset('me/ca')" in api.readme and str(tmp_path) not in api.readme
