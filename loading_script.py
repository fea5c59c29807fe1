"""Classic `datasets` loading script for Community Alignment (for `datasets` < 4 users).

    # datasets < 4 (scripts were removed in 4.0):
    load_dataset("path/to/loading_script.py", "pairwise", source="sample")

With `datasets` >= 4 use the package instead: `community-alignment prepare --all`, then
`load_dataset("community_alignment", "pairwise")` (see the README). Needs `pip install community-alignment`.
The source is given as config fields: `source`, `data_path`, `revision`, `hub_file`, `split_by`.
"""

from community_alignment.data.builder import CommunityAlignment, CommunityAlignmentConfig

__all__ = ["CommunityAlignment", "CommunityAlignmentConfig"]
