"""Scorers: baselines, reward-model scoring (one pass per candidate, batch-size invariant), DPO."""

import numpy as np
import pytest

from community_alignment.scoring import baselines
from community_alignment.scoring.base import ComparisonBatch


def _batch(cands, chosen, turn=None):
    n = len(cands)
    cols = {
        "comparison_id": np.array([f"{i}-1" for i in range(n)], dtype=object),
        "annotator_id": np.arange(n),
        "annotator_country": np.array(["india"] * n, dtype=object),
        "assigned_lang": np.array(["en"] * n, dtype=object),
    }
    ctx = [[{"role": "user", "content": f"question {i}"}] for i in range(n)]
    return ComparisonBatch(ctx, cands, np.asarray(chosen), np.asarray(turn or [1] * n), cols)


def test_length_baseline_prefers_longer_scores_duplicates_alike_and_masks_missing():
    b = _batch([["a", "bbb", None, "cc"], ["x", "yy", "x", "zzz"]], [1, 0])
    s = baselines.LengthScorer().score(b)
    assert s[0].tolist()[:2] == [1, 3] and np.isnan(s[0, 2]) and s[0, 3] == 2
    # a scorer never reads the label: a duplicate of the chosen text gets the same score; the metrics
    # (not the scorer) leave it out
    assert s[1, 2] == s[1, 0]
    assert b.duplicates_of_chosen().tolist() == [[False] * 4, [False, False, True, False]]


def test_position_prior_uses_train_frequencies():
    prior = baselines.PositionPriorScorer(np.array([1, 1, 1, 2, 2]), np.array([3, 3, 0, 0, 0]))
    s = prior.score(_batch([["a", "b", "c", "d"]] * 2, [0, 0], turn=[1, 2]))
    assert s[0].argmax() == 3 and s[1].argmax() == 0


@pytest.fixture(scope="module")
def minilm():
    from community_alignment.models.loading import load_reward_model

    return load_reward_model("default")


@pytest.fixture(scope="module")
def sample_batch():
    from community_alignment.data.builder import CommunityAlignment

    b = CommunityAlignment(config_name="comparisons", source="sample")
    b.download_and_prepare()
    return ComparisonBatch.from_dataset(b.as_dataset()["test"].select(range(24)))


def test_reward_scorer_scores_each_candidate_once_and_is_batch_size_invariant(minilm, sample_batch):
    from community_alignment.scoring import engine
    from community_alignment.scoring.reward_model import RewardModelScorer

    calls = []
    original = engine.score_sequences

    def counting(seqs, *a, **k):
        calls.append(len(seqs))
        return original(seqs, *a, **k)

    engine_mod = __import__("community_alignment.scoring.reward_model", fromlist=["x"])
    engine_mod.score_sequences = counting
    try:
        s1 = RewardModelScorer(minilm.model, minilm.tokenizer, "m", max_length=96, batch_size=1).score(sample_batch)
        s7 = RewardModelScorer(minilm.model, minilm.tokenizer, "m", max_length=96, batch_size=7).score(sample_batch)
        s32 = RewardModelScorer(minilm.model, minilm.tokenizer, "m", max_length=96, batch_size=32).score(sample_batch)
    finally:
        engine_mod.score_sequences = original
    assert calls[0] == int(sample_batch.present().sum()) <= 4 * len(sample_batch)
    assert np.array_equal(np.isnan(s1), ~sample_batch.present())
    # no padding: the batch size changes scores only by BLAS round-off (~1e-8), never a decision
    assert np.nanmax(np.abs(s1 - s7)) < 1e-6 and np.nanmax(np.abs(s1 - s32)) < 1e-6
    assert (np.nanargmax(s1, 1) == np.nanargmax(s7, 1)).all() and (np.nanargmax(s1, 1) == np.nanargmax(s32, 1)).all()


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    from community_alignment.models.loading import build_tiny_causal_lm, load_causal_lm

    texts = ["What do you think about marriage?", "Family duty comes first.", "Freedom matters most."] * 50
    path = build_tiny_causal_lm(str(tmp_path_factory.mktemp("lm")), texts, vocab_size=300)
    return load_causal_lm(path)


def test_dpo_scorer_needs_a_reference_and_labels_the_free_variant(tiny_lm):
    from community_alignment.scoring.dpo import DPOScorer, ReferenceFreeDPOScorer

    with pytest.raises(ValueError, match="needs the reference model"):
        DPOScorer(tiny_lm.model, None, tiny_lm.tokenizer, "p", beta=0.1)
    assert ReferenceFreeDPOScorer(tiny_lm.model, tiny_lm.tokenizer, "p", beta=0.1).kind == "dpo_reference_free"


def test_dpo_implicit_reward_matches_a_direct_computation(tiny_lm):
    import copy

    import torch

    from community_alignment.scoring.dpo import DPOScorer, ReferenceFreeDPOScorer

    b = _batch([["Family duty comes first.", "Freedom matters most.", "It depends.", "No idea."]], [0])
    same = DPOScorer(tiny_lm.model, tiny_lm.model, tiny_lm.tokenizer, "p", beta=0.5).score(b)
    assert np.allclose(same, 0.0)  # policy == reference → implicit reward 0
    policy = copy.deepcopy(tiny_lm.model)
    with torch.no_grad():
        for p in policy.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    s = DPOScorer(policy, tiny_lm.model, tiny_lm.tokenizer, "p", beta=0.5).score(b)
    free = ReferenceFreeDPOScorer(policy, tiny_lm.tokenizer, "p", beta=0.5).score(b)
    ref_free = ReferenceFreeDPOScorer(tiny_lm.model, tiny_lm.tokenizer, "r", beta=0.5).score(b)
    assert np.allclose(s, free - ref_free, atol=1e-4)
    # direct: β Σ log π(completion) for candidate 1
    tok = tiny_lm.tokenizer
    ctx = b.contexts[0]
    prompt = tok.apply_chat_template(ctx, add_generation_prompt=True, tokenize=True, return_dict=False)
    full = tok.apply_chat_template(
        [*ctx, {"role": "assistant", "content": b.candidates[0][1]}], tokenize=True, return_dict=False
    )
    ids = torch.tensor([full])
    with torch.no_grad():
        logp = torch.log_softmax(policy(ids).logits[0, :-1].float(), -1)
    direct = sum(logp[t - 1, full[t]].item() for t in range(len(prompt), len(full)))
    assert free[0, 1] == pytest.approx(0.5 * direct, abs=1e-4)


def test_sample_oracle_probabilities_align_with_the_test_split(hf_env):
    from community_alignment.protocol.references import reference_inputs
    from community_alignment.protocol.truth import load_truth

    truth = load_truth("main")
    p = truth.oracle["p_true"]
    assert p.shape == (len(truth.test.turn), 4) and np.allclose(p.sum(1), 1, atol=1e-5)
    # the generator showed every candidate; a cell the file shows as "EMPTY STRING" is absent: the
    # references renormalise the true distribution over the present candidates
    oracle = reference_inputs(truth)["oracle_individual"]
    assert np.allclose(oracle.truth.sum(1), 1) and (oracle.truth[~truth.test.data.present] == 0).all()


def test_candidate_first_truncation_keeps_the_answer_and_counts(minilm):
    from community_alignment.models.encoding import Encoder

    enc = Encoder(minilm.tokenizer, max_length=64, context_tokens=8)
    long_ctx = [{"role": "user", "content": "word " * 200}]
    ids = enc.encode(long_ctx, "short answer here")
    assert len(ids) <= 64
    answer = minilm.tokenizer("short answer here", add_special_tokens=False)["input_ids"]
    sep = ids.index(minilm.tokenizer.sep_token_id)
    assert ids[sep + 1 : sep + 1 + len(answer)] == answer and sep - 1 == 8  # the context kept its last 8 tokens
    enc.encode(long_ctx, "answer " * 200)  # a candidate longer than the budget is cut, and counted
    st = enc.stats()
    assert st["sequences"] == 2 and st["truncated"] == 2 and st["candidates_whole"] == 1
    assert st["candidate_tokens"] > st["candidate_tokens_kept"]


def test_engine_scores_identical_sequences_once_and_ties_them_exactly():
    import torch

    from community_alignment.scoring.engine import score_sequences

    seen = []

    def forward(ids, mask):
        seen.extend(tuple(r) for r in ids.tolist())
        return ids.float().mean(1) / 7.0

    seqs = [[1, 2, 3], [4, 5], [1, 2, 3], [9, 9, 9], [4, 5]]
    for bs in (1, 2, 5):
        seen.clear()
        out = score_sequences(seqs, forward, batch_size=bs)
        assert sorted(seen) == sorted({tuple(s) for s in seqs})  # each distinct sequence once
        assert out[0] == out[2] and out[1] == out[4]  # bit-identical, so a tie is exact

    def vector(ids, mask):
        return torch.stack([ids.float().sum(1), ids.float().max(1).values], 1)

    v = score_sequences(seqs, vector, batch_size=2)
    assert v.shape == (5, 2) and v[3].tolist() == [27.0, 9.0]
    assert score_sequences([], vector).shape == (0,)
