"""Raw recordings: discovery, stream files, sync.json, and each stream's probe and timeline.

The layout is README's "Raw layout and annotations". A recording is a folder under RAW, at any
depth, holding an `rgb.<ext>` video or an `rgb/` folder of image frames; its id is the folder
relative to RAW with '/' separators. Segmentation, alignment and `mgrdata inspect` all find
recordings, their files and their timelines here (docs/architecture.md, "Time model").
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from .errors import MediaError, RecordingError
from .media.probe import StreamInfo, probe_stream
from .timeline import Timeline, TimestampsError, from_numbers, from_pts, from_sidecar
from .timeline import read_timestamps as read_sidecar

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm")
LIGHTS = ("dark", "daylight")
STREAMS = ("rgb", "depth", "ir")


class SyncFileError(RecordingError):
    """A recording's sync.json cannot be used."""


@dataclass(frozen=True)
class RecordingFiles:
    """The stream files of one recording folder (paths are absolute)."""

    recording: str
    """Recording id: the folder relative to RAW with '/' separators."""
    folder: Path
    rgb: Path
    """An RGB video or a folder of image frames."""
    depth: Path | None
    """A depth video or a folder of 16-bit PNG frames."""
    ir: Path | None
    """An IR video or a folder of image frames."""
    sync: Path | None

    def stream(self, name: str) -> Path | None:
        return getattr(self, name)

    def timestamps(self, name: str) -> Path | None:
        """The stream's `<name>.timestamps.csv`, when the recording has one."""
        path = self.folder / f"{name}.timestamps.csv"
        return path if path.is_file() else None


@dataclass(frozen=True)
class Sync:
    """Offsets of the time mapping and stream rates, from sync.json (all optional)."""

    ir_offset_s: float = 0.0
    """The IR frame for time t is the one nearest t + ir_offset_s."""
    depth_offset_frames: int = 0
    """Legacy: depth offset in depth frame periods (used when depth_offset_s is not given)."""
    depth_offset_s: float | None = None
    source: str = "default"
    """'sync.json', 'alignment table' (ir_offset_s from `--align FILE`) or 'default'."""
    rgb_fps: Fraction | None = None
    depth_fps: Fraction | None = None
    ir_fps: Fraction | None = None

    def fps(self, stream: str) -> Fraction | None:
        """`<stream>_fps` from sync.json: an image folder's rate, a video's nominal rate."""
        return getattr(self, f"{stream}_fps")


@dataclass(frozen=True)
class Stream:
    """One probed stream of a recording and its timeline."""

    name: str
    info: StreamInfo
    timeline: Timeline

    @property
    def path(self) -> Path:
        return self.info.path

    @property
    def frames(self) -> int:
        return self.info.frames

    @property
    def fps(self) -> Fraction:
        """Nominal frame rate (the timeline's)."""
        return self.timeline.rate

    @property
    def width(self) -> int:
        return self.info.width

    @property
    def height(self) -> int:
        return self.info.height


@dataclass(frozen=True)
class RecordingInfo:
    """A probed recording: every readable stream with its timeline, and the sync offsets."""

    files: RecordingFiles
    rgb: Stream
    depth: Stream | None
    ir: Stream | None
    sync: Sync
    depth_error: str | None = None
    """Why a depth stream that exists cannot be used (its clips are left out), else None."""
    ir_error: str | None = None

    def stream(self, name: str) -> Stream | None:
        return getattr(self, name)

    def truncations(self) -> list[str]:
        """'<file> is truncated: container says N frames, M in the file', per stream."""
        streams = (self.rgb, self.depth, self.ir)
        return [s.info.truncated for s in streams if s is not None and s.info.truncated]

    def with_ir_offset(self, ir_offset_s: float) -> RecordingInfo:
        """The same recording with the IR offset of an alignment table (`--align FILE`):
        `mgrdata align --sync` fills it only for recordings without sync.json, so a value there
        was estimated or typed in on purpose, and it overrides sync.json's."""
        sync = replace(self.sync, ir_offset_s=ir_offset_s, source="alignment table")
        return replace(self, sync=sync)

    def offset(self, name: str) -> Fraction:
        """Seconds added to an RGB-clock time to find this stream's frame."""
        if name == "ir":
            return Fraction(self.sync.ir_offset_s)
        if name == "depth":
            if self.sync.depth_offset_s is not None:
                return Fraction(self.sync.depth_offset_s)
            assert self.depth is not None
            return self.sync.depth_offset_frames * self.depth.timeline.period
        return Fraction(0)


def _stream_path(folder: Path, stem: str) -> Path | None:
    """`<stem>.<video ext>` or a `<stem>/` folder of frames (a folder wins for depth, as it
    always did; a video wins for rgb and ir, which were videos only before)."""
    found = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.stem == stem and p.suffix.lower() in VIDEO_EXTENSIONS
    )
    if len(found) > 1:
        log.warning("%s: several %s files %s; using %s", folder, stem, found, found[0].name)
    frames = folder / stem
    if frames.is_dir() and (stem == "depth" or not found):
        if found:
            log.warning("%s: both %s/ and %s; using the folder", folder, stem, found[0].name)
        return frames
    return found[0] if found else None


def recording_files(raw: str | Path, recording: str) -> RecordingFiles:
    """The stream files of one recording id; RecordingError names what is missing."""
    folder = Path(raw) / recording
    if not folder.is_dir():
        raise RecordingError(f"recording {recording}: no folder {folder}")
    rgb = _stream_path(folder, "rgb")
    if rgb is None:
        raise RecordingError(
            f"recording {recording} has no rgb.* file; expected an rgb/ folder of frames or "
            "one of " + ", ".join(f"rgb{s}" for s in VIDEO_EXTENSIONS)
        )
    sync = folder / "sync.json"
    return RecordingFiles(
        recording,
        folder,
        rgb,
        _stream_path(folder, "depth"),
        _stream_path(folder, "ir"),
        sync if sync.is_file() else None,
    )


def _is_rgb(path: Path) -> bool:
    if path.is_file():
        return path.suffix.lower() in VIDEO_EXTENSIONS
    return path.is_dir() and path.name == "rgb"


def discover_recordings(raw: str | Path) -> dict[str, RecordingFiles]:
    """Every folder under RAW (any depth) holding an `rgb.<ext>` video or an `rgb/` folder is
    a recording; the result is sorted by recording id."""
    raw = Path(raw)
    if not raw.is_dir():
        raise RecordingError(f"raw folder {raw} does not exist or is not a folder")
    found: dict[str, RecordingFiles] = {}
    for rgb in sorted([*raw.rglob("rgb.*"), *raw.rglob("rgb")]):
        if not _is_rgb(rgb):
            continue
        rec_id = rgb.parent.relative_to(raw).as_posix()
        if rec_id == ".":
            raise RecordingError(
                f"{raw} itself holds {rgb.name}; recordings are sub-folders of RAW"
            )
        if rec_id not in found:
            found[rec_id] = recording_files(raw, rec_id)
    return dict(sorted(found.items()))


def _number(data: dict, key: str, path: Path) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError) as e:
        raise SyncFileError(f"{path}: {key} = {value!r} is not a number") from e
    if not math.isfinite(number):
        raise SyncFileError(f"{path}: {key} must be finite, got {value!r}")
    return number


def read_sync(path: Path | None) -> Sync:
    """Parse `sync.json`; a missing file means zero offsets and rates from the streams."""
    if path is None:
        return Sync()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise SyncFileError(f"{path}: cannot parse sync.json ({e}); fix or delete it") from e
    if not isinstance(data, dict):
        raise SyncFileError(f"{path}: sync.json must be a JSON object")
    ir = _number(data, "ir_offset_s", path) or 0.0
    depth_s = _number(data, "depth_offset_s", path)
    frames = _number(data, "depth_offset_frames", path)
    if frames is not None and not frames.is_integer():
        raise SyncFileError(f"{path}: depth_offset_frames must be an integer, got {frames}")
    if frames is not None and depth_s is not None:
        raise SyncFileError(f"{path}: give depth_offset_s or depth_offset_frames, not both")
    rates = {}
    for stream in STREAMS:
        fps = _number(data, f"{stream}_fps", path)
        if fps is not None and fps <= 0:
            raise SyncFileError(f"{path}: {stream}_fps must be positive, got {fps}")
        # The decimal as written: 29.97 is 2997/100, not the nearest binary fraction.
        rates[f"{stream}_fps"] = Fraction(repr(fps)) if fps is not None else None
    return Sync(ir, int(frames or 0), depth_s, "sync.json", **rates)


def probe_recording(files: RecordingFiles, ir_offset_s: float | None = None) -> RecordingInfo:
    """Probe every stream and build its timeline (docs/architecture.md, "Time model").

    Timestamps files share one capture clock. When RGB has one, every file is counted from RGB's
    first time (RGB frame 0 is time 0, as for a container); otherwise they are taken as
    written, on the RGB stream's clock. Container timestamps count from the stream's first
    frame. RGB problems (and a bad sync.json) raise RecordingError/MediaError naming the file:
    the recording cannot be cut. A depth or IR stream that cannot be used (undecodable, a bad
    timestamps file) is left out with the reason in `depth_error`/`ir_error`.

    `ir_offset_s`: an alignment table's IR offset (`RecordingInfo.with_ir_offset`).
    """
    sync = read_sync(files.sync)
    rgb = _probe(files, "rgb", sync, None)
    streams: dict[str, Stream | None] = {"depth": None, "ir": None}
    errors: dict[str, str | None] = {"depth": None, "ir": None}
    for name in streams:
        if files.stream(name) is None:
            continue
        try:
            streams[name] = _probe(files, name, sync, rgb.timeline.rate)
        except (MediaError, RecordingError) as e:
            errors[name] = str(e)
            log.warning("%s: %s left out: %s", files.recording, name, e)
    found = {"rgb": rgb, **streams}
    if rgb.timeline.source == "sidecar":
        # Timestamps files share the capture clock; its zero is RGB's first frame.
        origin = int(rgb.timeline.ticks[0])
        for name, s in found.items():
            if s is not None and s.timeline.source == "sidecar":
                found[name] = Stream(name, s.info, s.timeline.shifted(origin))
    info = RecordingInfo(
        files, found["rgb"], found["depth"], found["ir"], sync, errors["depth"], errors["ir"]
    )
    return info.with_ir_offset(ir_offset_s) if ir_offset_s is not None else info


def _probe(files: RecordingFiles, name: str, sync: Sync, rgb_rate: Fraction | None) -> Stream:
    path = files.stream(name)
    assert path is not None
    try:
        return probe_file(path, name, sync.fps(name), rgb_rate, files.timestamps(name))
    except TimestampsError as e:
        raise TimestampsError(f"recording {files.recording}, {name}: {e}") from e


def probe_file(
    path: Path,
    name: str,
    fps: Fraction | None = None,
    rgb_rate: Fraction | None = None,
    sidecar: Path | None = None,
) -> Stream:
    """One stream and its timeline, from its file (or folder) and, when given, its timestamps
    file; `fps` is sync.json's `<name>_fps`, `rgb_rate` the rate an image folder falls back to.
    """
    info = probe_stream(path, depth=name == "depth")
    if info.kind == "video":
        timeline: Timeline | None = _video_timeline(info, fps)
    else:
        rate = fps or rgb_rate
        if rate is None and sidecar is None:
            raise RecordingError(
                f"{path} is a folder of frames with no {name}.timestamps.csv and no "
                f"{name}_fps in sync.json; give one of them"
            )
        timeline = from_numbers(info.numbers, rate) if rate else None
    if sidecar is not None:
        ns = read_sidecar(sidecar, info.frames)
        timeline = from_sidecar(ns, timeline.rate if timeline else None)
    assert timeline is not None
    return Stream(name, info, timeline)


def _video_timeline(info: StreamInfo, given: Fraction | None) -> Timeline:
    """The container's timestamps, or a constant rate when a packet has none."""
    if info.pts is None or info.time_base is None:
        return Timeline.cfr(info.frames, given or info.fps or 30)
    return from_pts(info.pts, info.time_base, [given] if given else info.rates)


def light_from_path(recording: str) -> str | None:
    """'dark' or 'daylight' when a path component says so (e.g. S01/dark/hall_1)."""
    parts = {p.lower() for p in recording.split("/")}
    hits = [light for light in LIGHTS if light in parts]
    return hits[0] if len(hits) == 1 else None


def take_key(recording: str) -> str:
    """The recording id without its light component: the dark and daylight takes of one
    subject and scene share it when the tree is laid out as .../<light>/... ."""
    return "/".join(p for p in recording.split("/") if p.lower() not in LIGHTS)
