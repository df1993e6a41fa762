"""A tiny NvGesture tree in the download's exact layout, every frame coding its own index.

`sk_color.avi` (rgb), `sk_depth.avi` (8-bit gray H.264, like the real one) and `duo_left.avi`
(35 fps, its own frame numbering) show `index_image(i)` in frame i, so a test reads back which
source frame of each sensor every clip frame is. The lists are written as NVIDIA's are: one
space-separated record per line with a trailing space.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..importers.nvgesture import STREAM_FILES, TEST_LIST, TRAIN_LIST
from .media import write_index_video


@dataclass(frozen=True)
class NvTake:
    """One recording folder and its list line."""

    folder_class: int
    """The `class_XX` folder (1-25)."""
    subject: int
    rep: int
    label: int
    """The line's `label:` (1-25); may differ from the folder, as in the v2 lists."""
    color: tuple[int, int]
    """(start, end) as the list writes them: 0-based, end exclusive."""
    depth: tuple[int, int]
    duo: tuple[int, int]
    frames: int = 40
    """Frames of sk_color.avi and sk_depth.avi."""
    duo_frames: int = 47
    list: str = "train"

    @property
    def folder(self) -> str:
        return f"Video_data/class_{self.folder_class:02d}/subject{self.subject}_r{self.rep}"

    def line(self) -> str:
        (c0, c1), (d0, d1), (i0, i1) = self.color, self.depth, self.duo
        return (
            f"path:./{self.folder} depth:sk_depth:{d0}:{d1} color:sk_color:{c0}:{c1} "
            f"duo_left:duo_left:{i0}:{i1} label:{self.label} "
        )


DEFAULT_TAKES = (
    NvTake(1, 1, 0, 1, (6, 26), (6, 26), (7, 30)),
    NvTake(2, 1, 1, 2, (10, 30), (10, 30), (12, 35)),
    # color and depth windows one frame apart, as in 4 lines of the real train list
    NvTake(20, 3, 0, 20, (5, 25), (4, 24), (6, 29)),
    # the folder says class 21, the label says 20 (v2 relabelled clips like this)
    NvTake(21, 3, 2, 20, (8, 28), (8, 28), (9, 32), frames=36),
    NvTake(1, 5, 0, 1, (12, 32), (12, 32), (14, 37), list="test"),
    NvTake(21, 13, 0, 21, (3, 23), (3, 23), (3, 26), list="test"),
)


def make_nvgesture_tree(
    root: str | Path,
    takes: Sequence[NvTake] = DEFAULT_TAKES,
    *,
    size: tuple[int, int] = (64, 48),
    extra_lines: dict[str, Sequence[str]] | None = None,
) -> Path:
    """Write the recordings and both v2 lists under `root`; `extra_lines` appends raw lines
    to a list ('train' or 'test'), e.g. a malformed one."""
    root = Path(root)
    lists: dict[str, list[str]] = {"train": [], "test": []}
    for t in takes:
        folder = root / t.folder
        write_index_video(folder / STREAM_FILES["rgb"], t.frames, fps=30, size=size)
        write_index_video(folder / STREAM_FILES["depth"], t.frames, fps=30, size=size, kind="ir")
        write_index_video(folder / STREAM_FILES["ir"], t.duo_frames, fps=35, size=size, kind="ir")
        lists[t.list].append(t.line())
    for name, lines in (extra_lines or {}).items():
        lists[name] += list(lines)
    for name, file in (("train", TRAIN_LIST), ("test", TEST_LIST)):
        (root / file).write_text("".join(line + "\n" for line in lists[name]))
    return root
