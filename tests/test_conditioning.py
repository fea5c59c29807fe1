"""Golden strings: the exact text a model sees (conditioning template and plain rendering)."""

import pytest

from community_alignment.models.encoding import Encoder, render_plain
from community_alignment.training.conditioning import condition, render_profile

ROW = {
    "annotator_country": "india",
    "assigned_lang": "hi",
    "annotator_age": "18-34",
    "annotator_gender": None,
    "annotator_education_level": "Post-secondary graduate",
    "annotator_political": "Somewhat left-leaning",
    "annotator_ethnicity": "Dravidian",
}
MSGS = [{"role": "user", "content": "What do you think about marriage?"}]


def test_none_leaves_the_conversation_alone():
    assert render_profile(ROW, "none") is None and condition(MSGS, ROW, "none") is MSGS


def test_country_template_golden():
    assert (
        render_profile(ROW, "country")
        == "The person judging these answers has this profile: country: india; language: hi."
    )


def test_demographics_template_golden_skips_missing():
    assert render_profile(ROW, "demographics") == (
        "The person judging these answers has this profile: country: india; language: hi; age: 18-34; "
        "education: Post-secondary graduate; political leaning: Somewhat left-leaning; ethnicity: Dravidian."
    )


def test_condition_prepends_a_system_message():
    out = condition(MSGS, ROW, "country")
    assert out[0]["role"] == "system" and out[1:] == MSGS


def test_unknown_mode():
    with pytest.raises(ValueError, match="conditioning must be one of"):
        render_profile(ROW, "religion")


def test_plain_rendering_golden():
    ctx = condition(
        MSGS + [{"role": "assistant", "content": "It depends."}, {"role": "user", "content": "Why?"}], ROW, "country"
    )
    assert render_plain(ctx) == (
        "system: The person judging these answers has this profile: country: india; language: hi.\n"
        "user: What do you think about marriage?\nassistant: It depends.\nuser: Why?"
    )


def test_minilm_sees_exactly_this_text():
    from transformers import AutoTokenizer

    from community_alignment.models.loading import resolve_reward_model

    tok = AutoTokenizer.from_pretrained(resolve_reward_model("default")[0])
    enc = Encoder(tok, max_length=64)
    ids = enc.encode(condition(MSGS, ROW, "country"), "Family duty comes first.")
    assert tok.decode(ids) == (
        "[CLS] system : the person judging these answers has this profile : country : india ; language : hi. "
        "user : what do you think about marriage? [SEP] family duty comes first. [SEP]"
    )
    assert enc.truncated == 0
    long = enc.encode(MSGS * 20, "word " * 100)
    assert len(long) == 64 and enc.truncated == 1
    assert tok.decode(long).endswith("word word [SEP]") and "[SEP] word" in tok.decode(long)


def test_truncation_keeps_the_profile():
    from transformers import AutoTokenizer

    from community_alignment.models.loading import resolve_reward_model

    tok = AutoTokenizer.from_pretrained(resolve_reward_model("default")[0])
    enc = Encoder(tok, max_length=48)
    history = [
        {"role": "user", "content": "old question " * 30},
        {"role": "assistant", "content": "old answer " * 30},
        {"role": "user", "content": "last question"},
    ]
    text = tok.decode(enc.encode(condition(history, ROW, "country"), "answer " * 40))
    assert text.startswith("[CLS] system : the person judging these answers has this profile : country : india")
    assert "last question [SEP] answer" in text and enc.truncated == 1


def test_placebo_profiles_permute_whole_profiles_across_annotators():
    from collections import Counter

    from community_alignment.training.conditioning import PROFILE_FIELDS, placebo_profiles

    ann = [1, 1, 2, 3, 4, 5, 6, 7, 8]
    rows = {f: [f"{f}-{a}" for a in ann] for f in PROFILE_FIELDS}
    p = placebo_profiles(ann, rows, seed=3)
    assert sorted(p) == [1, 2, 3, 4, 5, 6, 7, 8]
    # each annotator gets one other annotator's whole profile; the multiset of profiles is unchanged
    assert Counter(v["annotator_country"] for v in p.values()) == Counter(f"annotator_country-{a}" for a in p)
    for prof in p.values():
        src = prof["annotator_country"].split("-")[1]
        assert all(v == f"{f}-{src}" for f, v in prof.items())
    assert all(prof["annotator_country"] != f"annotator_country-{a}" for a, prof in p.items())  # nobody keeps theirs
    assert placebo_profiles(ann, rows, seed=3) == p and placebo_profiles(ann, rows, seed=4) != p
