"""Which recordings a raw tree holds, and what is known about each (DESIGN sections 2 and 3).

A recording is a folder under RAW, at any depth, holding an `rgb.<ext>` file; its id is the
folder relative to RAW with '/' separators. Light, scene and subject come from the annotation
CSV when given; otherwise light is guessed from a path component named `dark` or `daylight`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import recordings
from ..errors import AnnotationError


@dataclass(frozen=True)
class RecordingFiles:
    """The streams of one raw recording that alignment needs."""

    recording: str
    rgb: Path
    ir: Path | None
    ir_offset_s: float | None
    """From sync.json, None when there is no sync.json or it has no ir_offset_s."""

    @classmethod
    def of(cls, files: recordings.RecordingFiles) -> RecordingFiles:
        sync = recordings.read_sync(files.sync) if files.sync else None
        return cls(files.recording, files.rgb, files.ir, sync.ir_offset_s if sync else None)


@dataclass
class RecordingMeta:
    """What is known about each recording; keys are recording ids."""

    light: dict[str, str | None] = field(default_factory=dict)
    scene: dict[str, str | None] = field(default_factory=dict)
    subject: dict[str, str | None] = field(default_factory=dict)


def discover_recordings(raw: str | os.PathLike) -> dict[str, RecordingFiles]:
    """Every recording under RAW, by id, in sorted order (`mgrdark_data.recordings` rules)."""
    found = recordings.discover_recordings(raw)
    return {rid: RecordingFiles.of(found[rid]) for rid in sorted(found)}


def resolve_recording(raw: str | os.PathLike, recording: str) -> RecordingFiles:
    """The files of one recording id, with a message naming what is missing."""
    return RecordingFiles.of(recordings.recording_files(raw, recording))


guess_light = recordings.light_from_path
LIGHTS = recordings.LIGHTS


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
    for column, target in (("light", meta.light), ("scene", meta.scene), ("subject", meta.subject)):
        if column not in df.columns:
            continue
        for rid, value in zip(df["recording"], df[column], strict=True):
            value = value.strip()
            if value and target.get(rid) is None:
                target[rid] = value.lower() if column == "light" else value
    return meta
