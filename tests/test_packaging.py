"""Packaging: the data layer installs and runs without the benchmark's heavy dependencies."""

import configparser
import json
import os
import subprocess
import sys

from conftest import REPO_ROOT, subprocess_env

# (pandas is a dependency of `datasets`; `datasets` itself imports scipy when it is installed)
HEAVY = ("trl", "evaluate", "matplotlib", "torch", "transformers", "accelerate", "sentence_transformers")

RUN = """
import json, sys
from community_alignment.cli import main
import community_alignment.data.builder, community_alignment.data.export, community_alignment.data.card
out = sys.argv[1]
rc = [
    main(["info", "--source", "sample", "--json"]),
    main(["prepare", "--source", "sample", "--config", "comparisons", "--config", "by_turn_test"]),
    main(["export", out + "/export", "--source", "sample", "--config", "pairwise_last_turn"]),
    main(["card", "--source", "sample", "--out", out + "/card.md"]),
]
from datasets import load_dataset
load_dataset("community_alignment", "by_turn_test")
heavy = sys.argv[2].split(",")
print(json.dumps({"rc": rc, "heavy": sorted(m for m in heavy if m in sys.modules)}))
"""


def test_data_commands_never_import_the_benchmark_stack(tmp_path):
    env = subprocess_env({"HF_DATASETS_CACHE": str(tmp_path / "ds"), "HF_HUB_OFFLINE": "1"})
    res = subprocess.run(
        [sys.executable, "-c", RUN, str(tmp_path), ",".join(HEAVY)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got == {"rc": [0, 0, 0, 0], "heavy": []}


def test_base_install_is_the_data_layer_only():
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(REPO_ROOT, "setup.cfg"))
    base = {line.split(">")[0].split("=")[0].strip().lower() for line in cfg["options"]["install_requires"].split("\n")}
    base.discard("")
    assert base == {"datasets", "huggingface-hub", "pyarrow", "numpy", "tqdm", "pyyaml", "jsonschema"}
    extras = cfg["options.extras_require"]
    assert "trl" in extras["benchmark"] and "evaluate" in extras["benchmark"] and "matplotlib" in extras["benchmark"]
    assert "community-alignment[benchmark,leaderboard]" in extras["test"]


def test_constraints_pin_what_the_tests_run_on():
    from importlib.metadata import version

    pins = {}
    for line in open(os.path.join(REPO_ROOT, "constraints.txt"), encoding="utf-8"):
        if line.strip() and not line.startswith("#"):
            name, _, v = line.strip().partition("==")
            pins[name.lower().replace("_", "-")] = v
    assert pins["torch"] == "2.13.0" and "community-alignment" not in pins
    for name in ("datasets", "huggingface-hub", "pyarrow", "trl", "transformers", "pytest"):
        assert version(name) == pins[name], name


def test_the_suite_never_uses_the_users_caches():
    import datasets.config
    import huggingface_hub.constants as hub_constants
    from conftest import SESSION_HF

    for value in (
        os.environ["HF_HOME"],
        os.environ["HF_DATASETS_CACHE"],
        str(datasets.config.HF_DATASETS_CACHE),
        str(hub_constants.HF_HUB_CACHE),
    ):
        assert value.startswith(SESSION_HF), value
    code = (
        "import datasets.config as c, huggingface_hub.constants as h; print(c.HF_DATASETS_CACHE); print(h.HF_HUB_CACHE)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env())
    assert all(line.startswith(SESSION_HF) for line in res.stdout.split()), res.stdout
