"""`mgrdata export`: list files that video-training libraries read unchanged.

Formats (checked against the libraries' own readers):

* `mmaction`: the annotation file of MMAction2's `VideoDataset` (1.x, checked against v1.2.0
  `mmaction/datasets/video_dataset.py::load_data_list`, also the 0.x reader): one clip per line,
  `<path> <label>`, split on a single space (its default `delimiter=' '`), so a path must not
  contain whitespace. Relative paths are joined onto the config's `data_prefix=dict(video=...)`.
* `pytorchvideo`: the file `LabeledVideoPaths.from_csv` reads (PyTorchVideo 0.1.5,
  `pytorchvideo/data/labeled_video_paths.py`), the input of `labeled_video_dataset` /
  `LabeledVideoDataset`: one clip per line, `<path> <integer label>`, split at the last run of
  whitespace. Relative paths are joined onto `video_path_prefix`.
* `csv`: every clips-manifest column plus a `split` column, one row per clip of the split that
  has all the requested modalities, with the path columns rewritten like the list files.

Paths are absolute by default, or relative to `data_prefix` when given. Files are written per
split ('train', 'val', 'test') and, for the list formats, per modality:
`<out>/<split>_<modality>.txt` or `<out>/<split>.csv`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import MODALITIES
from .errors import MgrdarkError
from .lock import lock_outputs
from .manifest import SPLIT_NAMES, read_frame, read_split
from .paths import DataRoot, atomic_path
from .records import ClipRecord

logger = logging.getLogger(__name__)

FORMATS = ("mmaction", "pytorchvideo", "csv")


class ExportError(MgrdarkError):
    """An export cannot be written as asked (unknown format or modality, unusable paths)."""


@dataclass
class ExportResult:
    """What `export_split` wrote."""

    files: list[Path] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    """Lines (clips) per written file name."""
    skipped: dict[str, int] = field(default_factory=dict)
    """Clips left out per reason, e.g. 'no ir clip' or 'subject not in split'."""


def clip_path(data: DataRoot, rel: str, data_prefix: str | os.PathLike | None) -> str:
    """Absolute path of a manifest path, or relative to `data_prefix` ('/' separators)."""
    # abspath, not resolve: keep the user's spelling of a symlinked dataset root
    absolute = os.path.abspath(data.root / rel)
    if data_prefix is None:
        return Path(absolute).as_posix()
    return Path(os.path.relpath(absolute, os.path.abspath(data_prefix))).as_posix()


def write_list(path: Path, rows: Sequence[tuple[str, int]], fmt: str) -> Path:
    """Write `<path> <label>` lines; mmaction splits on ' ', so paths must have no whitespace."""
    for p, _ in rows:
        if fmt == "mmaction" and any(ch.isspace() for ch in p):
            raise ExportError(
                f"path {p!r} contains whitespace, which MMAction2's annotation reader splits "
                "on; use --data-prefix to write relative paths or move the dataset root"
            )
        if "\n" in p or "\r" in p:
            raise ExportError(f"path {p!r} contains a line break")
    with atomic_path(path) as tmp:
        tmp.write_text("".join(f"{p} {label}\n" for p, label in rows), encoding="utf-8")
    return path


def read_list(path: str | os.PathLike) -> list[tuple[str, int]]:
    """Parse a list file back the way PyTorchVideo's `from_csv` does (path, int label)."""
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        p, label = line.rsplit(None, 1)
        rows.append((p, int(label)))
    return rows


def export_split(
    data: DataRoot,
    *,
    fmt: str,
    split: str,
    modalities: Sequence[str] = ("rgb",),
    out: str | os.PathLike | None = None,
    data_prefix: str | os.PathLike | None = None,
) -> ExportResult:
    """Write the list files of one split file for one library.

    Args:
        data: Dataset root.
        fmt: 'mmaction', 'pytorchvideo' or 'csv'.
        split: Split name: DATA/splits/<split>.parquet.
        modalities: Modalities to list (one file each for the list formats).
        out: Output folder (default DATA/exports/<split>/<fmt>).
        data_prefix: Write paths relative to this folder instead of absolute ones.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    bad = [m for m in modalities if m not in MODALITIES]
    if bad or not modalities:
        raise ExportError(f"unknown modality {bad}; expected some of {', '.join(MODALITIES)}")
    out = Path(out) if out is not None else data.root / "exports" / split / fmt
    with lock_outputs(data, "export", out):
        assignment = read_split(data.split_path(split)).set_index("subject")["split"]
        clips = read_frame(data.clips_manifest, ClipRecord)
        clips = clips.assign(split=clips["subject"].map(assignment))
        result = ExportResult()
        unassigned = int(clips["split"].isna().sum())
        if unassigned:
            result.skipped["subject not in split"] = unassigned
            logger.warning(
                "%d clip(s) belong to subjects the split %r does not assign; left out",
                unassigned,
                split,
            )
        for name in SPLIT_NAMES:
            part = clips[clips["split"] == name]
            if part.empty:
                continue
            if fmt == "csv":
                has_all = part[[f"{m}_path" for m in modalities]].notna().all(axis=1)
                if not has_all.all():
                    key = f"lacks one of {', '.join(modalities)}"
                    result.skipped[key] = result.skipped.get(key, 0) + int((~has_all).sum())
                if has_all.any():
                    _write_csv(part[has_all], out / f"{name}.csv", data, data_prefix, result)
                continue
            for m in modalities:
                have = part[part[f"{m}_path"].notna()]
                if len(have) < len(part):
                    key = f"no {m} clip"
                    result.skipped[key] = result.skipped.get(key, 0) + len(part) - len(have)
                if have.empty:
                    continue
                rows = [
                    (clip_path(data, rel, data_prefix), int(label))
                    for rel, label in zip(have[f"{m}_path"], have["label"], strict=True)
                ]
                path = write_list(out / f"{name}_{m}.txt", rows, fmt)
                result.files.append(path)
                result.counts[path.name] = len(rows)
        if not result.files:
            raise ExportError(f"split {split!r} selects no clips with {', '.join(modalities)}")
        return result


def _write_csv(
    part: pd.DataFrame,
    path: Path,
    data: DataRoot,
    data_prefix: str | os.PathLike | None,
    result: ExportResult,
) -> None:
    df = part.copy()
    for m in MODALITIES:
        df[f"{m}_path"] = [
            None if pd.isna(r) else clip_path(data, r, data_prefix) for r in df[f"{m}_path"]
        ]
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    result.files.append(path)
    result.counts[path.name] = len(df)
