"""The one template that renders an annotator's profile into the conversation (a system message).

`none` leaves the conversation as is (a pooled model). `country` adds the country and assigned
language; `demographics` adds every recorded attribute. Missing attributes are left out, never
guessed. Golden-string tests pin the exact text (tests/test_conditioning.py).
"""

from __future__ import annotations

CONDITIONING = ("none", "country", "demographics")

_FIELDS = {
    "country": [("annotator_country", "country"), ("assigned_lang", "language")],
    "demographics": [
        ("annotator_country", "country"),
        ("assigned_lang", "language"),
        ("annotator_age", "age"),
        ("annotator_gender", "gender"),
        ("annotator_education_level", "education"),
        ("annotator_political", "political leaning"),
        ("annotator_ethnicity", "ethnicity"),
    ],
}
TEMPLATE = "The person judging these answers has this profile: {profile}."


def render_profile(row: dict, mode: str) -> str | None:
    """The system message for one annotator profile, or None for `none`."""
    if mode not in CONDITIONING:
        raise ValueError(f"conditioning must be one of {CONDITIONING}, got {mode!r}")
    if mode == "none":
        return None
    parts = [f"{label}: {row[key]}" for key, label in _FIELDS[mode] if row.get(key) not in (None, "")]
    return TEMPLATE.format(profile="; ".join(parts))


def condition(messages: list[dict], row: dict, mode: str) -> list[dict]:
    """`messages` with the profile system message prepended (unchanged for `none`)."""
    text = render_profile(row, mode)
    return messages if text is None else [{"role": "system", "content": text}, *messages]


#: Every profile field any conditioning mode reads (what a placebo moves between annotators).
PROFILE_FIELDS = tuple(dict.fromkeys(key for fields in _FIELDS.values() for key, _ in fields))


def placebo_profiles(annotators, rows: dict, seed: int) -> dict:
    """A placebo: annotator → the whole profile of another annotator (a seeded random cycle through the
    distinct annotators: nobody keeps their own), so the profile keeps its distribution but says nothing
    about the person.
    `rows`: column → values aligned with `annotators`; returns annotator → {field: value}."""
    import numpy as np

    ann = np.asarray(annotators)
    uniq, first = np.unique(ann, return_index=True)
    order = np.random.default_rng(seed).permutation(len(uniq))
    perm = np.empty(len(uniq), dtype=np.int64)
    perm[order] = np.roll(order, -1)  # annotator order[i] takes the profile of order[i + 1]
    profile = {f: np.asarray(rows[f], dtype=object)[first] for f in PROFILE_FIELDS if f in rows}
    return {
        int(a) if isinstance(a, (int, np.integer)) else a: {f: v[perm[i]] for f, v in profile.items()}
        for i, a in enumerate(uniq)
    }


def apply_placebo(ds, profiles: dict):
    """The dataset with each row's profile fields replaced by its annotator's placebo profile (model
    inputs only: the evaluation's truth is read from the dataset itself, unchanged)."""
    fields = [f for f in PROFILE_FIELDS if f in ds.column_names]

    def swap(batch: dict) -> dict:
        out = {f: list(batch[f]) for f in fields}
        for i, a in enumerate(batch["annotator_id"]):
            p = profiles[a]
            for f in fields:
                out[f][i] = p.get(f)
        return out

    return ds.map(swap, batched=True, load_from_cache_file=False, keep_in_memory=True, desc="placebo profiles")
