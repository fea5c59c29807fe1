"""Subgroup axes: which comparison column(s) define each axis, and the group label of every comparison."""

from __future__ import annotations

import numpy as np

MISSING = "(missing)"
#: Subgroup axes → the comparison column(s) defining them (ethnicity is only comparable within a country).
AXES: dict[str, tuple[str, ...]] = {
    "country": ("annotator_country",),
    "language": ("assigned_lang",),
    "turn": ("turn",),
    "age": ("annotator_age",),
    "gender": ("annotator_gender",),
    "education": ("annotator_education_level",),
    "political": ("annotator_political",),
    "ethnicity_within_country": ("annotator_country", "annotator_ethnicity"),
    "country_language": ("annotator_country", "assigned_lang"),
    "wave": ("wave",),
    "prompt_origin": ("is_pregenerated_first_prompt",),
}
#: A group enters macro / worst / gap only with at least this many distinct annotators (and never the
#: "(missing)" group). Smaller groups are still reported, with their CIs. The worst of several small
#: groups is biased low by chance alone; each axis also reports the gap a no-signal scorer shows
#: (`noise_floor`), so a gap can be read against it.
MIN_GROUP_ANNOTATORS = 10


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and v != v) or v == ""


def group_labels(columns: dict[str, np.ndarray], axis: str) -> np.ndarray:
    """The group label of each comparison on one axis (missing values → "(missing)")."""
    cols = [np.asarray(columns[c], dtype=object) for c in AXES[axis]]
    if axis == "prompt_origin":
        return np.array(
            [
                MISSING if _missing(v) else ("pregenerated" if v in (True, "True") else "annotator-written")
                for v in cols[0]
            ],
            dtype=object,
        )
    if axis == "turn":
        return np.array([f"turn_{int(v)}" for v in cols[0]], dtype=object)
    if axis == "wave":
        return np.array([MISSING if _missing(v) else f"wave_{int(v)}" for v in cols[0]], dtype=object)
    if len(cols) == 2:
        return np.array([MISSING if _missing(a) or _missing(b) else f"{a} / {b}" for a, b in zip(*cols)], dtype=object)
    return np.array([MISSING if _missing(v) else str(v) for v in cols[0]], dtype=object)


def encode(labels: np.ndarray) -> tuple[list[str], np.ndarray]:
    """(sorted group names, code of each row)."""
    names, codes = np.unique(np.asarray(labels, dtype=str), return_inverse=True)
    return [str(n) for n in names], codes.astype(np.int64)
