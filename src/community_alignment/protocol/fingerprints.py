"""Test-split fingerprints of the real dataset, shipped with the package.

A submission names the data it was scored on (source, revision, split scheme) and that data's
test-split fingerprint (SHA-256 of the sorted test conversation ids, `data.splits`). For the embedded
synthetic sample the fingerprint is computed on the spot; for the real data the package ships it here,
so that checking a submission never trusts the submitter's claim.

`KNOWN_FINGERPRINTS[(revision, split_by)]` is the test fingerprint of the Hub dataset at `revision`
(a 40-hex commit) with splits disjoint by `split_by` ("prompt" or "annotator").

The table is **empty for now**: the real data could not be downloaded when protocol v2 was built. To
fill it, on a machine with Hub access run, for the pinned revision (`data.schema.PINNED_REVISION`):

    community-alignment info --source hub --json                          # split_by prompt
    community-alignment info --source hub --split-by annotator --json

and copy `split_fingerprints.test` of each into the table, e.g.
`("97343c7f6399fcbea430ed0f37c1768281a78d56", "prompt"): "<64 hex digits>"`, then add a test that
`load_truth("main", source="hub")` reproduces it. Until a fingerprint is known, `validate`, `submit`,
`model-card` and `leaderboard` require `--fingerprint FP` for hub and local submissions and record
where the fingerprint they checked against came from.
"""

from __future__ import annotations

KNOWN_FINGERPRINTS: dict[tuple[str, str], str] = {}


def known_fingerprint(source: str, revision: str | None, split_by: str, claimed: str | None = None) -> str | None:
    """The shipped test fingerprint for a hub (revision, split_by); for a local file (no revision),
    the claimed fingerprint when it is one of the shipped ones (a local copy of the real data)."""
    if source == "hub" and revision:
        return KNOWN_FINGERPRINTS.get((revision, split_by))
    if source == "local" and claimed is not None:
        known = {fp for (_, s), fp in KNOWN_FINGERPRINTS.items() if s == split_by}
        return claimed if claimed in known else None
    return None
