"""Progress display for every command of both CLIs (the only place tqdm is created).

On a terminal: tqdm bars named after their stage. When stderr is not a terminal (a log file,
a pipe, a batch job): plain lines, one per update step, at most one every `interval` seconds
and never more than about 20 per stage, so a log stays readable. `--quiet`: nothing (the
command still prints its result).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import IO, Any

from ..progress import Progress, ProgressBar


class LineBar:
    """A progress bar that writes plain lines: `segment: 120/480 clip (25%) 12.0 s loss=0.31`."""

    def __init__(
        self, stage: str, total: int, unit: str, *, stream: IO[str], interval: float = 10.0
    ):
        self.stage, self.total, self.unit, self.stream = stage, total, unit, stream
        self.interval = interval
        self.n = 0
        self.postfix = ""
        self._t0 = time.monotonic()
        self._last_time = -float("inf")
        self._last_n = 0
        self._last_state: tuple[int, str] | None = None
        self._step = max(1, total // 20) if total > 0 else 1
        self._closed = False

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if self.n - self._last_n >= self._step and now - self._last_time >= self.interval:
            self._write(now)

    def set_postfix(self, ordered_dict: Mapping[str, Any] | None = None, **kw: Any) -> None:
        items = {**(ordered_dict or {}), **kw}
        self.postfix = " ".join(f"{k}={_short(v)}" for k, v in items.items())

    def close(self) -> None:
        """Write the final state, unless the last line already showed it."""
        if not self._closed and self.n > 0 and (self.n, self.postfix) != self._last_state:
            self._write(time.monotonic())
        self._closed = True

    def _write(self, now: float) -> None:
        self._last_time, self._last_n = now, self.n
        self._last_state = (self.n, self.postfix)
        share = f" ({100 * self.n / self.total:.0f}%)" if self.total > 0 else ""
        line = f"{self.stage}: {self.n}/{self.total} {self.unit}{share} {now - self._t0:.1f} s"
        if self.postfix:
            line += f" {self.postfix}"
        print(line, file=self.stream, flush=True)


def _short(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def progress_factory(
    quiet: bool, *, stream: IO[str] | None = None, interval: float = 10.0
) -> Progress | None:
    """The factory a command passes to library code: None when quiet, tqdm on a terminal,
    `LineBar` otherwise."""
    if quiet:
        return None
    out = stream if stream is not None else sys.stderr
    if _is_terminal(out):
        from tqdm import tqdm

        def make_tqdm(stage: str, total: int, unit: str) -> ProgressBar:
            # leave=False: a 60-epoch stage would otherwise leave 60 finished bars behind; the
            # command prints its result when it ends.
            return tqdm(
                total=total, desc=stage, unit=unit, file=out, dynamic_ncols=True, leave=False
            )

        return make_tqdm

    def make_line(stage: str, total: int, unit: str) -> ProgressBar:
        return LineBar(stage, total, unit, stream=out, interval=interval)

    return make_line


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
