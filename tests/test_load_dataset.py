"""`load_dataset("community_alignment")` from fresh processes, any working directory; export folders."""

import json
import subprocess
import sys

import pytest
from conftest import REPO_ROOT, subprocess_env

LOAD = """
import json
from datasets import load_dataset
out = {}
for config in (None, "by_country", "comparisons"):
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
    assert got["comparisons"] == info["configs"]["comparisons"]


def test_export_folder_loads_with_plain_datasets(prepared_cache, tmp_path):
    root, env, info = prepared_cache
    out_dir = tmp_path / "export"
    cli = [sys.executable, "-m", "community_alignment.cli"]
    subprocess.run(
        [*cli, "export", str(out_dir), "--source", "sample", "--config", "pairwise", "--config", "by_language"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    assert (out_dir / "README.md").read_text().startswith("---\n")
    code = (
        "import json,sys;from datasets import load_dataset;"
        f"a=load_dataset({str(out_dir)!r});b=load_dataset({str(out_dir)!r},'by_language');"
        "print(json.dumps([{s:d.num_rows for s,d in a.items()},{s:d.num_rows for s,d in b.items()},a['train'][0]['chosen']]))"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    a, b, chosen = json.loads(res.stdout.strip().splitlines()[-1])
    assert a == info["configs"]["pairwise"] and b == info["configs"]["by_language"]
    assert chosen[0]["role"] == "assistant"


def test_push_to_hub_uploads_the_folder(tmp_path, hf_env):
    from community_alignment.data.export import export

    class FakeApi:
        calls = []

        def create_repo(self, repo_id, **kw):
            self.calls.append(("create_repo", repo_id, kw))

        def upload_folder(self, **kw):
            import os

            self.calls.append(("upload_folder", sorted(os.listdir(kw["folder_path"])), kw["repo_id"], kw["repo_type"]))
            return "commit-url"

    api = FakeApi()
    written = export(str(tmp_path / "out"), {"source": "sample"}, configs=["comparisons"], push_to_hub="me/ca", api=api)
    assert set(written) == {f"comparisons/{s}-00000-of-00001.parquet" for s in ("train", "validation", "test")}
    assert api.calls[0] == ("create_repo", "me/ca", {"repo_type": "dataset", "exist_ok": True, "private": False})
    assert api.calls[1] == ("upload_folder", ["README.md", "comparisons"], "me/ca", "dataset")
