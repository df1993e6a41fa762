"""tqdm progress bars for the library's progress-factory hooks (tqdm stays in the CLI layer)."""

from __future__ import annotations

from tqdm import tqdm

from ..engine.trainer import ProgressFactory


def tqdm_factory(quiet: bool) -> ProgressFactory | None:
    """A `factory(total, desc)` making tqdm bars, or None when quiet."""
    if quiet:
        return None

    def make(total: int, desc: str) -> tqdm:
        return tqdm(total=total, desc=desc, unit="batch", leave=False, dynamic_ncols=True)

    return make
