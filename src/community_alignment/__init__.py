"""community-alignment: the Community Alignment dataset and a pluralistic-alignment benchmark."""

from __future__ import annotations

__version__ = "0.1.0"


def __getattr__(name: str):
    # Lazy: `import community_alignment` stays cheap for the CLI; the builder pulls in `datasets`.
    if name in ("CommunityAlignment", "CommunityAlignmentConfig"):
        from .data import builder

        return getattr(builder, name)
    raise AttributeError(f"module 'community_alignment' has no attribute {name!r}")


__all__ = ["CommunityAlignment", "CommunityAlignmentConfig", "__version__"]
