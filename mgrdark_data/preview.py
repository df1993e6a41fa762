"""`mgrdata preview`: a contact sheet of one clip, RGB | IR | depth side by side.

A few clip frames, one row each; every tile is labelled with its source frame, that frame's
time and its sync error (from `manifest/frames.parquet`), so a person can check sync and
alignment at a glance. Drawn with OpenCV; depth is shown with a colour map over the clip's
depth range.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pyarrow.parquet as pq

from .errors import ManifestError, OptionError
from .manifest import read_frame, read_table
from .media.read import iter_frames
from .paths import DataRoot, atomic_path
from .records import ClipRecord, FrameRecord

TILE_HEIGHT = 200
LABEL_HEIGHT = 34
MARGIN = 6
HEADER = 28
FONT = cv2.FONT_HERSHEY_SIMPLEX
ORDER = ("rgb", "ir", "depth")


@dataclass
class ContactSheet:
    """What `write_preview` drew, and where."""

    path: Path
    frames: list[int]
    """Clip frame indices shown, one row each."""
    boxes: dict[tuple[int, str], tuple[int, int, int, int]] = field(default_factory=dict)
    """(clip frame, modality) -> (x, y, width, height) of its image tile in the PNG."""
    labels: dict[tuple[int, str], str] = field(default_factory=dict)


def _clip_row(root: DataRoot, clip_id: str) -> dict:
    clips = read_frame(root.clips_manifest, ClipRecord)
    rows = clips[clips.clip_id == clip_id]
    if rows.empty:
        near = [c for c in clips.clip_id if clip_id.split("__")[0] in c][:3]
        hint = f"; e.g. {', '.join(near)}" if near else ""
        raise OptionError(f"no clip {clip_id!r} in {root.clips_manifest}{hint}")
    return rows.iloc[0].to_dict()


def _frame_rows(root: DataRoot, clip_id: str) -> dict[str, np.ndarray]:
    path = root.frames_manifest
    if not path.exists():
        raise ManifestError(f"{path} does not exist; re-run `mgrdata segment` to write it")
    read_table(path, FrameRecord)  # schema check
    table = pq.read_table(path, filters=[("clip_id", "==", clip_id)]).sort_by("frame")
    return {c: table.column(c).to_numpy(zero_copy_only=False) for c in table.column_names}


def _decode(path: Path, wanted: list[int]) -> dict[int, np.ndarray]:
    keep, out = set(wanted), {}
    for k, frame in iter_frames(path, stop=max(wanted) + 1):
        if k in keep:
            img = frame.to_ndarray() if frame.format.name == "gray16le" else None
            out[k] = img if img is not None else frame.to_ndarray(format="rgb24")
    return out


def _depth_colours(images: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """16-bit depth -> a colour map over the clip's depth range (0 = no reading, black)."""
    values = np.concatenate([img[img > 0].ravel() for img in images.values()])
    lo, hi = np.percentile(values, (1, 99)) if values.size else (0.0, 1.0)
    hi = max(hi, lo + 1)
    out = {}
    for k, img in images.items():
        scaled = np.clip((img.astype(np.float32) - lo) / (hi - lo) * 255, 0, 255).astype(np.uint8)
        colour = cv2.applyColorMap(scaled, cv2.COLORMAP_TURBO)[..., ::-1]
        colour[img == 0] = 0
        out[k] = colour
    return out


def _tile(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    width = max(1, round(w * TILE_HEIGHT / h))
    return cv2.resize(img, (width, TILE_HEIGHT), interpolation=cv2.INTER_NEAREST)


def _text(canvas: np.ndarray, text: str, x: int, y: int, scale: float = 0.42) -> None:
    cv2.putText(canvas, text, (x, y), FONT, scale, (235, 235, 235), 1, cv2.LINE_AA)


def write_preview(
    data: str | os.PathLike | None,
    clip_id: str,
    out: str | os.PathLike | None = None,
    *,
    count: int = 4,
) -> ContactSheet:
    """Draw `count` frames of a clip (first, last and evenly between), every modality side by
    side, each tile labelled with its source frame and that frame's time on the RGB clock
    ('ir #312 at 12.493 s'), the clip frame and its time, and the sync error; write a PNG.

    Args:
        data: Dataset root.
        clip_id: A clip of `manifest/clips.parquet`.
        out: PNG to write (default: `<clip_id>.png` in the current folder).
        count: Clip frames shown (rows).
    """
    root = DataRoot.resolve(data)
    row = _clip_row(root, clip_id)
    frames = _frame_rows(root, clip_id)
    n = int(row["num_frames"])
    wanted = sorted({int(round(x)) for x in np.linspace(0, n - 1, max(1, min(count, n)))})
    modalities = [m for m in ORDER if isinstance(row.get(f"{m}_path"), str)]
    images = {m: _decode(root.root / row[f"{m}_path"], wanted) for m in modalities}
    if "depth" in images:
        images["depth"] = _depth_colours(images["depth"])
    tiles = {(k, m): _tile(images[m][k]) for m in modalities for k in wanted}
    widths = {m: max(tiles[(k, m)].shape[1] for k in wanted) for m in modalities}
    row_h = TILE_HEIGHT + LABEL_HEIGHT + MARGIN
    width = MARGIN + sum(widths[m] + MARGIN for m in modalities)
    canvas = np.full((HEADER + row_h * len(wanted) + MARGIN, width, 3), 24, np.uint8)
    _text(
        canvas,
        f"{clip_id}  {row['gesture']}  {n} frames at {row['fps']:g} fps (grid {row['grid']})",
        MARGIN,
        19,
        0.5,
    )
    sheet = ContactSheet(Path(out or f"{clip_id}.png"), wanted)
    for r, k in enumerate(wanted):
        y = HEADER + r * row_h
        x = MARGIN
        for m in modalities:
            tile = tiles[(k, m)]
            h, w = tile.shape[:2]
            canvas[y : y + h, x : x + w] = tile if tile.ndim == 3 else tile[..., None]
            source = frames[f"{m}_frame"][k]
            error = frames[f"{m}_error_ms"][k]
            t = frames["time_s"][k]
            # The source frame's own time, on the RGB clock: clip frame time + sync error.
            head = f"{m} #{int(source)} at {t + float(error) / 1000:.3f} s"
            tail = f"clip frame {k} ({t:.3f} s) sync {float(error):+.1f} ms"
            if np.isnan(float(error)):  # a per-sensor range gave the frame: no time, no error
                head, tail = f"{m} #{int(source)} (annotated range)", f"clip frame {k} ({t:.3f} s)"
            _text(canvas, head, x, y + h + 14)
            _text(canvas, tail, x, y + h + 29)
            sheet.boxes[(k, m)] = (x, y, w, h)
            sheet.labels[(k, m)] = f"{head}\n{tail}"
            x += widths[m] + MARGIN
    ok, png = cv2.imencode(".png", canvas[..., ::-1])
    if not ok:
        raise OptionError(f"cannot encode the contact sheet of {clip_id}")
    with atomic_path(sheet.path) as tmp:
        tmp.write_bytes(png.tobytes())
    return sheet
