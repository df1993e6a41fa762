"""Which recordings a raw tree holds, and what is known about each (DESIGN sections 2 and 3).

A recording is a folder under RAW, at any depth, holding an `rgb.<ext>` file; its id is the
folder relative to RAW with '/' separators. Light, scene and subject come from the annotation
CSV when given; otherwise light is guessed from a path component named `dark` or `daylight`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import AnnotationError, RecordingError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov")
LIGHTS = ("dark", "daylight")


@dataclass(frozen=True)
class RecordingFiles:
    """The streams of one raw recording that alignment needs."""

    recording: str
    rgb: Path
    ir: Path | None
    ir_offset_s: float | None
    """From sync.json, None when there is no sync.json or it has no ir_offset_s."""


@dataclass
class RecordingMeta:
    """What is known about each recording; keys are recording ids."""

    light: dict[str, str | None] = field(default_factory=dict)
    scene: dict[str, str | None] = field(default_factory=dict)
    subject: dict[str, str | None] = field(default_factory=dict)


def _stream(folder: Path, stem: str) -> Path | None:
    found = sorted(
        p for p in folder.iterdir()
        if p.is_file() and p.stem == stem and p.suffix.lower() in VIDEO_SUFFIXES
    )
    return found[0] if found else None


def read_sync(folder: Path) -> float | None:
    """`ir_offset_s` of a recording's sync.json, None when absent."""
    path = folder / "sync.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        value = data.get("ir_offset_s")
        return None if value is None else float(value)
    except (ValueError, TypeError, AttributeError) as e:
        raise RecordingError(
            f"{path}: not a JSON object with a numeric ir_offset_s ({e}); fix or remove it"
        ) from e


def discover_recordings(raw: str | os.PathLike) -> dict[str, RecordingFiles]:
    """Every recording under RAW, by id, in sorted order."""
    raw = Path(raw)
    if not raw.is_dir():
        raise RecordingError(f"raw folder {raw} does not exist")
    out: dict[str, RecordingFiles] = {}
    for dirpath, dirnames, _ in os.walk(raw):
        dirnames.sort()
        folder = Path(dirpath)
        rgb = _stream(folder, "rgb")
        if rgb is None:
            continue
        rid = folder.relative_to(raw).as_posix()
        if rid == ".":
            raise RecordingError(
                f"{raw} itself holds rgb.*; recordings must be sub-folders of RAW"
            )
        out[rid] = RecordingFiles(rid, rgb, _stream(folder, "ir"), read_sync(folder))
    return dict(sorted(out.items()))


def resolve_recording(raw: str | os.PathLike, recording: str) -> RecordingFiles:
    """The files of one recording id, with a message naming what is missing."""
    folder = Path(raw) / recording
    if not folder.is_dir():
        raise RecordingError(f"recording {recording}: no folder {folder}")
    rgb = _stream(folder, "rgb")
    if rgb is None:
        raise RecordingError(
            f"recording {recording} has no rgb.* file; expected one of "
            + ", ".join(f"rgb{s}" for s in VIDEO_SUFFIXES)
        )
    return RecordingFiles(recording, rgb, _stream(folder, "ir"), read_sync(folder))


def guess_light(recording: str) -> str | None:
    """'dark' or 'daylight' when exactly one path component says so."""
    parts = {p.lower() for p in recording.split("/")}
    found = [light for light in LIGHTS if light in parts]
    return found[0] if len(found) == 1 else None


def take_key(recording: str) -> str:
    """The recording id without its light component: the dark and daylight takes of one
    subject and scene share it when the tree is laid out as .../<light>/... ."""
    return "/".join(p for p in recording.split("/") if p.lower() not in LIGHTS)


def metadata_from_annotations(path: str | os.PathLike) -> RecordingMeta:
    """Light, scene and subject per recording from an annotation CSV (first non-empty value)."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as e:
        raise AnnotationError(f"cannot read annotation file {path}: {e}") from e
    if "recording" not in df.columns:
        raise AnnotationError(f"{path}: no 'recording' column; see DESIGN section 3")
    meta = RecordingMeta()
    for column, target in (("light", meta.light), ("scene", meta.scene),
                           ("subject", meta.subject)):
        if column not in df.columns:
            continue
        for rid, value in zip(df["recording"], df[column], strict=True):
            value = value.strip()
            if value and target.get(rid) is None:
                target[rid] = value.lower() if column == "light" else value
    return meta
