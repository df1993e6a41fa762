"""Raw recordings: discovery, stream files, sync offsets and probing.

The layout is README's "Raw layout and annotations". A recording is a folder under RAW, at any
depth, holding an `rgb.<ext>` file; its id is the folder relative to RAW with '/' separators.
Segmentation and alignment both find recordings and their files here.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

from .errors import RecordingError
from .media.probe import StreamInfo, probe_stream

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm")
LIGHTS = ("dark", "daylight")


@dataclass(frozen=True)
class RecordingFiles:
    """The stream files of one recording folder (paths are absolute)."""

    recording: str
    """Recording id: the folder relative to RAW with '/' separators."""
    folder: Path
    rgb: Path
    depth: Path | None
    """A depth video or a folder of 16-bit PNG frames."""
    ir: Path | None
    sync: Path | None


@dataclass(frozen=True)
class Sync:
    """Offsets of the time mapping."""

    ir_offset_s: float = 0.0
    depth_offset_frames: int = 0
    source: str = "default"
    """'sync.json', 'estimated' (from an alignment table) or 'default'."""


@dataclass(frozen=True)
class RecordingInfo:
    """A probed recording: every stream's facts plus its sync offsets."""

    files: RecordingFiles
    rgb: StreamInfo
    depth: StreamInfo | None
    ir: StreamInfo | None
    sync: Sync


def _stream_file(folder: Path, stem: str) -> Path | None:
    found = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.stem == stem and p.suffix.lower() in VIDEO_EXTENSIONS
    )
    if len(found) > 1:
        log.warning("%s: several %s files %s; using %s", folder, stem, found, found[0].name)
    return found[0] if found else None


def recording_files(raw: str | Path, recording: str) -> RecordingFiles:
    """The stream files of one recording id; RecordingError names what is missing."""
    folder = Path(raw) / recording
    if not folder.is_dir():
        raise RecordingError(f"recording {recording}: no folder {folder}")
    rgb = _stream_file(folder, "rgb")
    if rgb is None:
        raise RecordingError(
            f"recording {recording} has no rgb.* file; expected one of "
            + ", ".join(f"rgb{s}" for s in VIDEO_EXTENSIONS)
        )
    depth_dir = folder / "depth"
    depth = depth_dir if depth_dir.is_dir() else _stream_file(folder, "depth")
    sync = folder / "sync.json"
    return RecordingFiles(
        recording, folder, rgb, depth, _stream_file(folder, "ir"), sync if sync.is_file() else None
    )


def discover_recordings(raw: str | Path) -> dict[str, RecordingFiles]:
    """Every folder under RAW (any depth) holding an `rgb.<ext>` video is a recording; the
    result is sorted by recording id."""
    raw = Path(raw)
    if not raw.is_dir():
        raise RecordingError(f"raw folder {raw} does not exist or is not a folder")
    found: dict[str, RecordingFiles] = {}
    for rgb in sorted(raw.rglob("rgb.*")):
        if rgb.suffix.lower() not in VIDEO_EXTENSIONS or not rgb.is_file():
            continue
        rec_id = rgb.parent.relative_to(raw).as_posix()
        if rec_id == ".":
            raise RecordingError(
                f"{raw} itself holds {rgb.name}; recordings are sub-folders of RAW"
            )
        if rec_id not in found:
            found[rec_id] = recording_files(raw, rec_id)
    return dict(sorted(found.items()))


def read_sync(path: Path | None) -> Sync:
    """Parse `sync.json`; a missing file means zero offsets."""
    if path is None:
        return Sync()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise RecordingError(f"{path}: cannot parse sync.json ({e}); fix or delete it") from e
    if not isinstance(data, dict):
        raise RecordingError(f"{path}: sync.json must be a JSON object")
    try:
        ir = float(data.get("ir_offset_s", 0.0))
        depth_raw = data.get("depth_offset_frames", 0)
        depth = int(depth_raw)
    except (TypeError, ValueError) as e:
        raise RecordingError(f"{path}: bad offset value ({e})") from e
    if not math.isfinite(ir) or depth != float(depth_raw):
        raise RecordingError(f"{path}: offsets must be a finite float and an integer")
    return Sync(ir, depth, "sync.json")


def sync_ir_offset(files: RecordingFiles) -> float | None:
    """The IR offset sync.json gives, None when the recording has no sync.json."""
    return read_sync(files.sync).ir_offset_s if files.sync is not None else None


def probe_recording(files: RecordingFiles, ir_offset_s: float | None = None) -> RecordingInfo:
    """Probe every stream; raises RecordingError/MediaError naming the broken file.

    `ir_offset_s` comes from an alignment table (`--align FILE`): `mgrdata align --sync` fills
    it only for recordings without sync.json, so a value there was estimated or typed in on
    purpose, and it overrides sync.json's.
    """
    sync = read_sync(files.sync)
    if ir_offset_s is not None:
        sync = Sync(ir_offset_s, sync.depth_offset_frames, "alignment table")
    return RecordingInfo(
        files,
        probe_stream(files.rgb),
        probe_stream(files.depth) if files.depth else None,
        probe_stream(files.ir) if files.ir else None,
        sync,
    )


def light_from_path(recording: str) -> str | None:
    """'dark' or 'daylight' when a path component says so (e.g. S01/dark/hall_1)."""
    parts = {p.lower() for p in recording.split("/")}
    hits = [light for light in LIGHTS if light in parts]
    return hits[0] if len(hits) == 1 else None


def take_key(recording: str) -> str:
    """The recording id without its light component: the dark and daylight takes of one
    subject and scene share it when the tree is laid out as .../<light>/... ."""
    return "/".join(p for p in recording.split("/") if p.lower() not in LIGHTS)
