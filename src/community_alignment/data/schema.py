"""The Community Alignment CSV schema (v1.1 and v1.0), its vocabularies and the `datasets` Features."""

from __future__ import annotations

import datasets

HUB_REPO_ID = "facebook/community-alignment-dataset"
PINNED_REVISION = "97343c7f6399fcbea430ed0f37c1768281a78d56"
HUB_FILES = {
    "v1.1": "community_alignment.csv",
    "v1.0-filtered": "data/filtered_community_alignment.csv",
    "v1.0-full": "data/full_community_alignment.csv",
}

TURNS = ("first", "second", "third", "fourth")
LETTERS = ("a", "b", "c", "d")
PREFERRED_LABELS = tuple(f"response_{x}" for x in LETTERS)

LANGUAGES = ("en", "fr", "it", "pt", "hi")
COUNTRIES = ("united states", "france", "italy", "brazil", "india")
AGES = ("18-34", "35-45", "46-54", "55+")
GENDERS = ("male", "female")
EDUCATION_LEVELS = (
    "(At most) Complete Secondary",
    "Some post-secondary",
    "Post-secondary graduate",
    "Some or complete graduate degree",
    "Other",
)
POLITICAL = (
    "Very left-leaning",
    "Somewhat left-leaning",
    "Middle-of-the-road, centrist",
    "Somewhat right-leaning",
    "Very right-leaning",
    "I don't think of myself in this way",
    "Prefer not to say",
)
ETHNICITY_BY_COUNTRY = {
    "united states": (
        "White",
        "Black or African American",
        "Hispanic or Latino",
        "Asian",
        "Other",
        "Prefer not to say",
    ),
    "france": ("Non immigrant", "Immigrant"),
    "italy": ("Italian", "Foreign national"),
    "india": ("Indo-Aryan", "Dravidian"),
    "brazil": ("White", "Brown/Mixed"),
}


def turn_columns(turn: str) -> list[str]:
    """The eight columns of one turn, in the package's canonical order."""
    return (
        [f"{turn}_turn_prompt"]
        + [f"{turn}_turn_response_{x}" for x in LETTERS]
        + [f"{turn}_turn_responses", f"{turn}_turn_preferred_response", f"{turn}_turn_feedback"]
    )


ID_COLUMNS = ["conversation_id", "annotator_id"]
INT_COLUMNS = ["conversation_id", "annotator_id", "wave"]
BOOL_COLUMNS = ["is_pregenerated_first_prompt", "in_balanced_subset", "in_balanced_subset_10"]
DEMOGRAPHIC_COLUMNS = [
    "annotator_country",
    "annotator_age",
    "annotator_gender",
    "annotator_education_level",
    "annotator_political",
    "annotator_ethnicity",
]
TURN_COLUMNS = [c for t in TURNS for c in turn_columns(t)]
RESPONSE_COLUMNS = [f"{t}_turn_response_{x}" for t in TURNS for x in LETTERS]
TEXT_COLUMNS = [c for c in TURN_COLUMNS if not c.endswith("preferred_response")]

#: The 45 columns of v1.1 in the package's canonical order (the real file's order is unknown:
#: everything is mapped by header name).
COLUMNS_V11: list[str] = (
    ["conversation_id", "annotator_id", "assigned_lang", "wave"] + BOOL_COLUMNS + TURN_COLUMNS + DEMOGRAPHIC_COLUMNS
)
#: v1.0 files have the same columns without `wave` (44).
COLUMNS_V10: list[str] = [c for c in COLUMNS_V11 if c != "wave"]


def detect_version(header: list[str], path: str) -> str:
    """Return "v1.1" or "v1.0" from a header, or raise naming the missing columns."""
    present = set(header)
    missing_v10 = [c for c in COLUMNS_V10 if c not in present]
    if missing_v10:
        raise SchemaError(
            f"{path}: missing required column(s) {', '.join(missing_v10)} "
            f"(the file has {len(header)} columns; Community Alignment v1.1 has 45, v1.0 has 44)"
        )
    return "v1.1" if "wave" in present else "v1.0"


class SchemaError(ValueError):
    """Raised for input that does not follow the Community Alignment schema."""


# --- datasets Features --------------------------------------------------------------------------

MESSAGE = {"role": datasets.Value("string"), "content": datasets.Value("string")}
MESSAGES = datasets.List(MESSAGE)

#: `chosen_index` / `rejected_index`: ClassLabel a–d (values 0–3 as before), so `stratify_by_column` works.
CANDIDATE_LABEL = datasets.ClassLabel(names=list(LETTERS))
#: Country and language as ClassLabels (filter / stratify by them); `turn` stays an integer 1–4
#: (a ClassLabel would renumber it 0–3): `ds.class_encode_column("turn")` makes it one when needed.
COUNTRY_LABEL = datasets.ClassLabel(names=list(COUNTRIES))
LANGUAGE_LABEL = datasets.ClassLabel(names=list(LANGUAGES))

_DEMOGRAPHIC_FEATURES = {c: datasets.Value("string") for c in DEMOGRAPHIC_COLUMNS}
_DEMOGRAPHIC_FEATURES["annotator_country"] = COUNTRY_LABEL
_FLAG_FEATURES = {
    "assigned_lang": LANGUAGE_LABEL,
    "wave": datasets.Value("int8"),
    "is_pregenerated_first_prompt": datasets.Value("bool"),
    "in_balanced_subset": datasets.Value("bool"),
    "in_balanced_subset_10": datasets.Value("bool"),
}


def conversation_features() -> datasets.Features:
    feats: dict = {}
    for c in COLUMNS_V11:
        if c in ("conversation_id", "annotator_id"):
            feats[c] = datasets.Value("int64")
        elif c in _FLAG_FEATURES:
            feats[c] = _FLAG_FEATURES[c]
        elif c in _DEMOGRAPHIC_FEATURES:
            feats[c] = _DEMOGRAPHIC_FEATURES[c]
        else:
            feats[c] = datasets.Value("string")
    return datasets.Features(feats)


def _comparison_meta() -> dict:
    return {
        "comparison_id": datasets.Value("string"),
        "conversation_id": datasets.Value("int64"),
        "annotator_id": datasets.Value("int64"),
        "turn": datasets.Value("int8"),
        "prompt_group": datasets.Value("string"),
        "context_complete": datasets.Value("bool"),
    }


def comparison_features() -> datasets.Features:
    return datasets.Features(
        {
            **_comparison_meta(),
            "context": MESSAGES,
            "candidates": datasets.List(datasets.Value("string"), length=4),
            "chosen_index": CANDIDATE_LABEL,
            "has_empty_candidate": datasets.Value("bool"),
            "feedback": datasets.Value("string"),
            "split": datasets.Value("string"),
            **_FLAG_FEATURES,
            **_DEMOGRAPHIC_FEATURES,
        }
    )


def pair_features() -> datasets.Features:
    return datasets.Features(
        {
            "prompt": MESSAGES,
            "chosen": MESSAGES,
            "rejected": MESSAGES,
            **_comparison_meta(),
            "chosen_index": CANDIDATE_LABEL,
            "rejected_index": CANDIDATE_LABEL,
            "split": datasets.Value("string"),
            **_FLAG_FEATURES,
            **_DEMOGRAPHIC_FEATURES,
        }
    )


#: Metadata columns carried from a conversation onto each of its comparisons and pairs.
CARRIED_COLUMNS = ["annotator_id", *_FLAG_FEATURES, *DEMOGRAPHIC_COLUMNS]
#: Columns stored as ClassLabel ids whose consumers want the names (country, language).
NAMED_LABEL_COLUMNS = ("annotator_country", "assigned_lang")


def decode_labels(columns: dict, features) -> dict:
    """`columns` (name -> list/array of values, e.g. `ds.to_dict()` or a `map` batch) with the ClassLabel
    ids of `annotator_country` / `assigned_lang` replaced by their names (None stays None). Ids of
    `chosen_index` / `rejected_index` stay integers (0 = a … 3 = d)."""
    out = dict(columns)
    for name in NAMED_LABEL_COLUMNS:
        feat = features.get(name) if features is not None else None
        if name in out and isinstance(feat, datasets.ClassLabel):
            names = feat.names
            out[name] = [names[v] if v is not None and v >= 0 else None for v in out[name]]
    return out


def encode_label(features, column: str, values: list) -> list:
    """Filter values for `column` in the dataset's storage: names → ids for a ClassLabel column."""
    feat = features.get(column) if features is not None else None
    if isinstance(feat, datasets.ClassLabel):
        return [feat.str2int(v) if isinstance(v, str) else int(v) for v in values]
    return list(values)
