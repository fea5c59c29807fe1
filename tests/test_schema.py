from community_alignment.data import schema

# The 45 v1.1 columns as listed in the public sources (CA_FACTS / ca_stats/schema_missingness.csv).
EXPECTED_V11 = {
    "annotator_age",
    "annotator_country",
    "annotator_education_level",
    "annotator_ethnicity",
    "annotator_gender",
    "annotator_id",
    "annotator_political",
    "assigned_lang",
    "conversation_id",
    "in_balanced_subset",
    "in_balanced_subset_10",
    "is_pregenerated_first_prompt",
    "wave",
} | {
    f"{t}_turn_{s}"
    for t in ("first", "second", "third", "fourth")
    for s in (
        "prompt",
        "response_a",
        "response_b",
        "response_c",
        "response_d",
        "responses",
        "preferred_response",
        "feedback",
    )
}


def test_v11_has_exactly_the_45_columns():
    assert len(EXPECTED_V11) == 45
    assert len(schema.COLUMNS_V11) == 45
    assert set(schema.COLUMNS_V11) == EXPECTED_V11


def test_v10_is_v11_without_wave():
    assert len(schema.COLUMNS_V10) == 44
    assert set(schema.COLUMNS_V11) - set(schema.COLUMNS_V10) == {"wave"}


def test_vocabularies_match_the_facts():
    assert schema.LANGUAGES == ("en", "fr", "it", "pt", "hi")
    assert set(schema.COUNTRIES) == {"united states", "france", "italy", "brazil", "india"}
    assert schema.PREFERRED_LABELS == ("response_a", "response_b", "response_c", "response_d")
    assert schema.PINNED_REVISION == "97343c7f6399fcbea430ed0f37c1768281a78d56"
    assert schema.HUB_REPO_ID == "facebook/community-alignment-dataset"
    assert len(schema.POLITICAL) == 7 and len(schema.EDUCATION_LEVELS) == 5 and len(schema.AGES) == 4


def test_detect_version_by_header_names_in_any_order():
    header = list(reversed(schema.COLUMNS_V11))
    assert schema.detect_version(header, "x.csv") == "v1.1"
    assert schema.detect_version([c for c in header if c != "wave"], "x.csv") == "v1.0"


def test_features_cover_every_conversation_column():
    assert list(schema.conversation_features()) == schema.COLUMNS_V11
    pair = schema.pair_features()
    for c in ("prompt", "chosen", "rejected", "annotator_country", "turn", "split"):
        assert c in pair
