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
