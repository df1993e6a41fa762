"""The one progress type every long-running library function takes.

Library code never draws anything: it receives a `Progress` (a factory) from its caller, opens
one `ProgressBar` per stage with a name, a total and a unit, and updates it. The CLI layer
supplies the factory (`mgrdark_data.cli.progress.progress_factory`): tqdm bars on a terminal,
plain one-line-per-update text when stderr is a file or a pipe, nothing with `--quiet`.
tqdm bars satisfy `ProgressBar` as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol


class ProgressBar(Protocol):
    """One stage's bar: advanced with `update`, annotated with `set_postfix`, then closed."""

    def update(self, n: int = 1) -> Any: ...

    def set_postfix(self, ordered_dict: Mapping[str, Any] | None = None, **kw: Any) -> Any: ...

    def close(self) -> Any: ...


Progress = Callable[[str, int, str], ProgressBar]
"""`progress(stage, total, unit)` -> a bar for `total` units of work named `stage`
(e.g. `progress("segment", 480, "clip")`, `progress("teacher epoch 3/60", 30, "batch")`)."""


class NullBar:
    """A bar that shows nothing (no progress factory was given)."""

    def update(self, n: int = 1) -> None:
        """Shows nothing."""

    def set_postfix(self, ordered_dict: Mapping[str, Any] | None = None, **kw: Any) -> None:
        """Shows nothing."""

    def close(self) -> None:
        """Nothing to close."""


def open_bar(progress: Progress | None, stage: str, total: int, unit: str) -> ProgressBar:
    """A bar from `progress`, or a silent one when there is no factory."""
    return progress(stage, total, unit) if progress is not None else NullBar()


@contextmanager
def stage_bar(
    progress: Progress | None, stage: str, total: int, unit: str
) -> Iterator[ProgressBar]:
    """`open_bar` as a context manager that always closes the bar."""
    bar = open_bar(progress, stage, total, unit)
    try:
        yield bar
    finally:
        bar.close()


def prefixed(progress: Progress | None, prefix: str) -> Progress | None:
    """A factory whose stage names start with `prefix` (e.g. the MTCD stage: 'teacher: ...')."""
    if progress is None:
        return None

    def make(stage: str, total: int, unit: str) -> ProgressBar:
        return progress(f"{prefix}: {stage}", total, unit)

    return make
