"""The official protocol: versioned tracks and the protocol id that names what a number was computed on.

A protocol id names the dataset (its source and revision, or the synthetic sample), the split scheme,
the split fingerprint (SHA-256 of the sorted test conversation ids), the protocol version and the
track: `ca-v2/<track>/<dataset>/<split_by>/<fingerprint[:16]>`. Numbers are only ranked together when
their protocol ids are equal, and never when the track is `smoke`.
"""

from __future__ import annotations

from dataclasses import dataclass

PROTOCOL_VERSION = 2


@dataclass(frozen=True)
class Track:
    name: str
    split_by: str | None  # the disjoint unit of train / validation / test (None: the run's own)
    languages: tuple[str, ...] | None  # assigned languages evaluated (None: all)
    ranked: bool
    description: str


TRACKS: dict[str, Track] = {
    "main": Track(
        "main",
        "prompt",
        None,
        True,
        "the whole test split of the prompt-disjoint splits (annotators are seen in training: the "
        "seen-annotator track)",
    ),
    "en": Track(
        "en",
        "prompt",
        ("en",),
        True,
        "the English comparisons (assigned language en) of the same test split; adds pairwise AUC, the "
        "metric of the one published CA reward-model result (WIMHF)",
    ),
    "unseen_annotators": Track(
        "unseen_annotators",
        "annotator",
        None,
        True,
        "the individual track: annotator-disjoint splits (people the model never saw); the submission scores "
        "every comparison of the validation and test annotators (plus, for a personalized model, k-shot scores "
        "of the test annotators' query sets); few-shot personalization per annotator on fixed episodes "
        "(protocol.episodes), tuned on validation annotators only",
    ),
    "smoke": Track(
        "smoke",
        None,
        None,
        False,
        "a subsampled or filtered evaluation (quick checks): reported, never ranked",
    ),
}


def get_track(name: str) -> Track:
    if name not in TRACKS:
        raise ValueError(f"unknown track {name!r}; choose from {sorted(TRACKS)}")
    return TRACKS[name]


def dataset_tag(source: str, revision: str | None, synthetic: bool) -> str:
    if synthetic or source == "sample":
        return "sample"
    if source == "hub":
        return f"hub@{(revision or 'unknown')[:12]}"
    return "local"


def protocol_id(track: str, source: str, revision: str | None, synthetic: bool, split_by: str, fingerprint: str) -> str:
    return f"ca-v{PROTOCOL_VERSION}/{track}/{dataset_tag(source, revision, synthetic)}/{split_by}/{fingerprint[:16]}"
