"""The benchmark's data: filtered, deterministically subsampled splits of the builder's configs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class DataSelection:
    """A `SourceSpec` (source, data_path, revision, hub_file, split_by) plus row filters."""

    source: str = "sample"
    data_path: str | None = None
    revision: str | None = None
    split_by: str = "prompt"
    countries: list[str] | None = None
    languages: list[str] | None = None
    turns: list[int] | None = None
    cache_dir: str | None = None
    hub_file: str = "v1.1"

    @property
    def spec(self):
        """The data source as the one `SourceSpec` the builder and the CLI share."""
        from ..data.sources import SourceSpec

        return SourceSpec.of(self)

    @classmethod
    def from_spec(cls, spec, **filters) -> DataSelection:
        import dataclasses

        return cls(**dataclasses.asdict(spec), **filters)


def load_config(sel: DataSelection, config: str):
    """download_and_prepare one config of the builder and return its DatasetDict."""
    from ..data.builder import CommunityAlignment

    b = CommunityAlignment(config_name=config, cache_dir=sel.cache_dir, **sel.spec.builder_kwargs())
    b.download_and_prepare()
    return b.as_dataset()


def apply_filters(ds, sel: DataSelection):
    """Keep rows of the chosen countries / languages / turns (vectorised over Arrow batches)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from ..data.schema import encode_label

    conds = [("annotator_country", sel.countries), ("assigned_lang", sel.languages), ("turn", sel.turns)]
    # country / language are ClassLabels: filter on their ids
    conds = [(c, encode_label(ds.features, c, v)) for c, v in conds if v]
    if not conds:
        return ds

    def keep(batch: pa.Table) -> pa.Array:
        mask = None
        for col, values in conds:
            m = pc.is_in(batch[col], value_set=pa.array(values, batch[col].type))
            mask = m if mask is None else pc.and_(mask, m)
        return mask

    return ds.with_format("arrow").filter(keep, batched=True).with_format(None)


def subsample(ds, n: int | None, seed: int):
    """A deterministic random subset of n rows (all rows when n is None or ≥ len)."""
    if not n or n >= len(ds):
        return ds
    idx = np.sort(np.random.default_rng(seed).permutation(len(ds))[:n])
    return ds.select(idx)
