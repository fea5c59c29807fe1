"""Our own progress bars, switched off by the same environment variables as `datasets`' and `huggingface_hub`'s."""

from __future__ import annotations

import os

#: Setting either to 1/true/yes/on disables every progress bar of the package.
SWITCHES = ("HF_DATASETS_DISABLE_PROGRESS_BARS", "HF_HUB_DISABLE_PROGRESS_BARS")


def progress_disabled() -> bool:
    """True when the user switched progress bars off (either HF variable), or `datasets` was told to."""
    if any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on") for v in SWITCHES):
        return True
    import sys

    if "datasets" in sys.modules:  # honour `datasets.disable_progress_bars()` too, without importing it
        from datasets.utils.logging import is_progress_bar_enabled

        return not is_progress_bar_enabled()
    return False


def progress_bar(iterable=None, **kwargs):
    """`tqdm.auto.tqdm` with `disable` set from the switches above."""
    from tqdm.auto import tqdm

    kwargs.setdefault("disable", progress_disabled())
    return tqdm(iterable, **kwargs)
