"""NC sampling (parsing, retries, tiny local LM), diversity, and the monoculture analysis on the sample."""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import cheap_model, subprocess_env

from community_alignment.analysis import diversity, monoculture
from community_alignment.analysis.nc_sampling import NC_INSTRUCTIONS, ParseError, parse_nc, sample_candidates


def test_parse_clean_output():
    text = "Tradition first.\n###\nFreedom first.\n###\nSecurity first.\n###\nBalance both."
    assert parse_nc(text) == ["Tradition first.", "Freedom first.", "Security first.", "Balance both."]


@pytest.mark.parametrize(
    "text",
    [
        "### Response 1\n1. Tradition first.\n### Response 2\n2) Freedom first.\n### Response 3\nResponse 3: Security.\n### 4\n**4.** Balance.",
        "Response A:\nTradition first.\n###\n\n###\nFreedom first.\n###\nSecurity.\n###\nBalance.\n###\n   \n",
    ],
)
def test_parse_numbering_noise_and_empty_parts(text):
    parts = parse_nc(text)
    assert len(parts) == 4 and parts[0].startswith("Tradition") and parts[-1].startswith("Balance")
    assert not any(p.startswith(("1.", "2)", "Response", "**")) for p in parts)


@pytest.mark.parametrize(
    "text,found",
    [
        ("Just one answer without markers.", 1),
        ("a\n###\nb\n###\nc", 3),
        ("a\n###\nb\n###\nc\n###\nd\n###\ne", 5),
        ("###\n###\n###", 0),
    ],
)
def test_parse_wrong_counts_are_errors(text, found):
    with pytest.raises(ParseError, match=f"found {found}"):
        parse_nc(text)


def test_instructions_in_five_languages():
    assert set(NC_INSTRUCTIONS) == {"en", "fr", "it", "pt", "hi"}
    assert all("###" in t and "{prompt}" in t for t in NC_INSTRUCTIONS.values())


class FakeGen:
    def __init__(self, outputs):
        self.outputs, self.calls = list(outputs), []

    def generate(self, msgs, n=1):
        self.calls.append(msgs)
        return [[self.outputs.pop(0) if self.outputs else "no markers"] * n for _ in msgs]


PROMPTS = [{"prompt_id": "p1", "prompt": "What about marriage?", "language": "fr"}]


def test_retry_then_success():
    gen = FakeGen(["a\n###\nb", "a\n###\nb\n###\nc\n###\nd"])
    (r,) = sample_candidates(gen, PROMPTS, "nc", max_retries=2, progress=False)
    assert r.candidates == ["a", "b", "c", "d"] and r.attempts == 2 and r.error is None
    assert "Écris quatre réponses" in gen.calls[0][0] and "What about marriage?" in gen.calls[0][0]
    row = r.row()
    assert row["context"] == [{"role": "user", "content": "What about marriage?"}] and row["chosen_index"] is None


def test_bounded_retries_then_a_clear_error_and_no_padding():
    gen = FakeGen([])
    (r,) = sample_candidates(gen, PROMPTS, "nc", max_retries=2, progress=False)
    assert r.candidates is None and r.attempts == 3 and len(gen.calls) == 3
    assert r.error == "prompt p1: expected 4 responses separated by '###' lines, found 1 after 3 attempt(s)"


def test_tiny_local_lm_end_to_end(tmp_path):
    from community_alignment.analysis.nc_sampling import Generator
    from community_alignment.models.loading import build_tiny_causal_lm, load_causal_lm

    path = build_tiny_causal_lm(str(tmp_path / "lm"), ["hello world ### tradition freedom"] * 100, vocab_size=300)
    lm = load_causal_lm(path)
    gen = Generator(lm.model, lm.tokenizer, max_new_tokens=12)
    prompts = [{"prompt_id": str(i), "prompt": f"question {i}", "language": "en"} for i in range(3)]
    indep = sample_candidates(gen, prompts, "independent", progress=False)
    assert [len(r.candidates) for r in indep] == [4, 4, 4]
    nc = sample_candidates(gen, prompts, "nc", max_retries=1, progress=False)
    for r in nc:  # a random tiny LM: parsed if it happens to emit 4 parts, else a clear error — never padded
        assert (r.candidates is not None and len(r.candidates) == 4) or (r.candidates is None and "found" in r.error)
        assert r.attempts <= 2


class FakeEmbedder:
    def __call__(self, texts):
        vocab = sorted({w for t in texts for w in t.lower().split()})
        m = np.array([[t.lower().split().count(w) for w in vocab] for t in texts], dtype=float)
        return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_diversity_orders_diverse_above_near_duplicates():
    same = {"prompt_id": "a", "method": "independent", "candidates": ["family comes first"] * 4}
    diverse = {
        "prompt_id": "b",
        "method": "nc",
        "candidates": [
            "family comes first",
            "personal freedom matters",
            "security and income",
            "evidence over tradition",
        ],
    }
    per = diversity.set_diversity([same, diverse], embedder=FakeEmbedder())
    assert per[0]["embedding_distance"] < 1e-9 and per[0]["lexical_distinctness"] == 0
    assert per[1]["embedding_distance"] > 0.5 and per[1]["lexical_distinctness"] > 0.8
    summ = diversity.summarize(per)
    assert summ["nc"]["embedding_distance"] > summ["independent"]["embedding_distance"]


def test_minilm_embedder_is_unit_norm_and_meaningful():
    e = diversity.Embedder()
    v = e(["Family duty comes first.", "Family obligations come first.", "The stock market fell today."])
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2]


def test_monoculture_groups_built_to_disagree_disagree_more(hf_env):
    data, synthetic = monoculture.all_comparisons("sample")
    h = monoculture.human_disagreement(data)
    assert synthetic and h["sets"] > 10  # sets judged by ≥ 10 *distinct* annotators, all splits
    assert 0 < h["mean_entropy_bits"] < 2 and 0.25 < h["plurality_share"] < 1
    # countries were generated with different ideal points; gender shifts are tiny
    assert h["between_group_jsd"]["country"] > h["between_group_jsd"]["gender"] + 0.05


def _submission(root, name, scorer):
    from community_alignment.pipeline.config import BenchmarkArguments
    from community_alignment.pipeline.run import score_and_evaluate

    model = cheap_model(f"org/{name}")
    b = BenchmarkArguments(name=name, runs_dir=str(root), bootstrap_resamples=0, max_val_comparisons=40)
    score_and_evaluate(b, scorer, model, None, 0)
    return str(root / name / "submission.parquet")


def test_monoculture_cli_with_submissions(hf_env, tmp_path):
    from community_alignment.protocol.truth import load_truth
    from community_alignment.scoring.baselines import LengthScorer, PositionPriorScorer

    truth = load_truth("main")
    subs = [
        _submission(tmp_path, "len", LengthScorer()),
        _submission(tmp_path, "prior", PositionPriorScorer(truth.train_turn, truth.train_chosen)),
    ]
    res = subprocess.run(
        [sys.executable, "-m", "community_alignment.cli", "monoculture", "--source", "sample", "--submissions", *subs,
         "--out", str(tmp_path / "mono")],
        capture_output=True, text=True, env=subprocess_env(),
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads((tmp_path / "mono" / "monoculture.json").read_text())
    m = out["models"]["models"]
    assert m["matrix"][0][0] == 1.0 and 0 <= m["matrix"][0][1] <= 1 and m["matrix"][0][1] == m["matrix"][1][0]
    assert out["models"]["annotators"]["sets"] > 0
    assert set(out["models"]["model_matches_annotators"]) == {"org/len (other, none)", "org/prior (other, none)"}
    assert (tmp_path / "mono" / "monoculture.png").stat().st_size > 5000
    assert "one-size-fits-all" in (tmp_path / "mono" / "report.md").read_text()


def test_diversity_cli(tmp_path):
    f = tmp_path / "c.jsonl"
    f.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"prompt_id": "1", "method": "nc", "candidates": ["a b c", "d e f", "g h i", "j k l"]},
                {"prompt_id": "1", "method": "independent", "candidates": ["a b c", "a b c d", "a b", "a c"]},
            ]
        )
    )
    res = subprocess.run(
        [sys.executable, "-m", "community_alignment.cli", "diversity", str(f), "--json"],
        capture_output=True,
        text=True,
        env=subprocess_env(),
    )
    assert res.returncode == 0, res.stderr[-2000:]
    summ = json.loads(res.stdout)["summary"]
    assert summ["nc"]["lexical_distinctness"] == 1.0 and summ["independent"]["lexical_distinctness"] < 1.0
