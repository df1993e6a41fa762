"""Typed manifest records: one dataclass per Parquet table (README, "Manifests").

The Parquet schema of each table is derived from these field annotations in
`mgrdark_data.manifest`, so a column is declared in exactly one place.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar


class _Record:
    TABLE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, d: dict[str, Any]):
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class ClipRecord(_Record):
    """One gesture instance, cut from every modality its recording has."""

    TABLE: ClassVar[str] = "clips"
    SCHEMA_VERSION: ClassVar[int] = 2

    clip_id: str
    """Unique and stable across re-runs: recording id ('/' -> '__') + start and end frame."""
    recording: str
    """Recording id: its folder relative to RAW with '/' separators."""
    subject: str
    """Subject id from the annotation row."""
    light: str | None
    """'dark' or 'daylight' when annotated (or implied by the recording path), else null."""
    scene: str | None
    """Scene name when annotated, else null."""
    gesture: str
    """Class name from the vocabulary."""
    label: int
    """Integer class id from the vocabulary."""
    start_frame: int
    """First source RGB frame, 0-based."""
    end_frame: int
    """Last source RGB frame, 0-based, inclusive."""
    num_frames: int
    """Frames of every modality's clip: end_frame - start_frame + 1 with `grid` 'source', else
    the frames of the `--fps` grid from start_s to end_s."""
    fps: float
    """Frame rate every clip of this instance was written at: the RGB stream's with `grid`
    'source' (for a `vfr` clip the average rate), else the `--fps` value."""
    source_row: int
    """Line number of the instance in the annotation CSV (header is line 1)."""
    rgb_path: str
    """RGB clip relative to the dataset root."""
    rgb_width: int
    rgb_height: int
    rgb_bytes: int
    rgb_sha256: str
    depth_path: str | None = None
    """Depth clip relative to the dataset root; null when the recording has no depth."""
    depth_start_frame: int | None = None
    """Source depth frame of clip frame 0 by the time mapping."""
    depth_end_frame: int | None = None
    depth_width: int | None = None
    depth_height: int | None = None
    depth_bytes: int | None = None
    depth_sha256: str | None = None
    ir_path: str | None = None
    """IR clip relative to the dataset root; null when the recording has no IR."""
    ir_start_frame: int | None = None
    """Source IR frame of clip frame 0 by the time mapping (`mgrdark_data.timemap.match`)."""
    ir_end_frame: int | None = None
    """Source IR frame of the last clip frame (IR frames may repeat or be skipped)."""
    ir_width: int | None = None
    ir_height: int | None = None
    ir_aligned: bool | None = None
    """True when the IR clip was warped into the RGB view, False for native IR geometry."""
    ir_bytes: int | None = None
    ir_sha256: str | None = None
    grid: str = "source"
    """'source': clip frame k is RGB frame start_frame + k at its own time; else the `--fps`
    rate every modality, RGB included, was resampled to from start_s (docs/architecture.md,
    "Time model")."""
    start_s: float | None = None
    """Time of RGB frame start_frame on the RGB clock (seconds)."""
    end_s: float | None = None
    """Time of RGB frame end_frame on the RGB clock (seconds)."""
    vfr: bool = False
    """True when the clips keep uneven RGB frame times (`grid` 'source' on a variable-rate RGB
    stream): the containers' timestamps are those times."""
    rgb_sync_error_ms: float | None = None
    """Largest |time of the RGB frame used - clip frame time| (0 with `grid` 'source')."""
    depth_sync_error_ms: float | None = None
    """Largest |depth frame time - (clip frame time + depth offset)| over the clip; null when
    the annotation gave the depth frames (`depth_start_frame`/`depth_end_frame`)."""
    ir_sync_error_ms: float | None = None
    """Largest |IR frame time - (clip frame time + ir_offset_s)| over the clip; null when the
    annotation gave the IR frames (`ir_start_frame`/`ir_end_frame`)."""
    extra: dict[str, str | None] = field(default_factory=dict)
    """Annotation columns beyond the contract, carried unchanged (one string column each)."""


@dataclass
class RecordingRecord(_Record):
    """One raw recording: its streams, the time mapping and the IR alignment used."""

    TABLE: ClassVar[str] = "recordings"
    SCHEMA_VERSION: ClassVar[int] = 3

    recording: str
    """Recording id: its folder relative to RAW with '/' separators."""
    status: str
    """'ok', or 'error' when a stream could not be read (see `error`)."""
    rgb_file: str
    """RGB video relative to RAW."""
    rgb_fps: float | None = None
    rgb_frames: int | None = None
    rgb_width: int | None = None
    rgb_height: int | None = None
    rgb_file_bytes: int | None = None
    depth_file: str | None = None
    """Depth video or PNG folder relative to RAW; null when absent."""
    depth_kind: str | None = None
    """'video' or 'png'."""
    depth_frames: int | None = None
    depth_width: int | None = None
    depth_height: int | None = None
    depth_file_bytes: int | None = None
    ir_file: str | None = None
    """IR video relative to RAW; null when absent."""
    ir_fps: float | None = None
    ir_frames: int | None = None
    ir_width: int | None = None
    ir_height: int | None = None
    ir_file_bytes: int | None = None
    ir_offset_s: float = 0.0
    """IR time offset of the time mapping (`mgrdark_data.timemap`)."""
    depth_offset_frames: int = 0
    """Depth offset in depth frame periods, as sync.json gave it (legacy)."""
    sync_source: str = "default"
    """Where the offsets came from: 'sync.json', 'alignment table' or 'default'."""
    align_mode: str = "none"
    """'none' (native IR geometry), 'auto' (estimated), 'file' (from an alignment table)."""
    align_scale: float | None = None
    """IR pixel (u, v) is RGB pixel (scale*u + shift_x, scale*v + shift_y)."""
    align_shift_x: float | None = None
    align_shift_y: float | None = None
    align_score: float | None = None
    """Confidence of the alignment in [0, 1]."""
    align_method: str | None = None
    align_note: str | None = None
    """Why a fallback alignment was used, if one was."""
    error: str | None = None
    """The decoder's message when status is 'error'."""
    depth_offset_s: float | None = None
    """Depth time offset used (seconds; from depth_offset_s or depth_offset_frames)."""
    rgb_kind: str | None = None
    """'video', or the image format of a folder of frames ('png', 'jpeg', ...)."""
    ir_kind: str | None = None
    depth_fps: float | None = None
    """Nominal depth rate (rgb_fps and ir_fps are the other streams')."""
    rgb_time_source: str | None = None
    """Where the frame times come from: 'sidecar', 'pts', 'filename' or 'cfr'."""
    rgb_measured_fps: float | None = None
    """(frames - 1) / (last frame time - first frame time)."""
    rgb_start_s: float | None = None
    """First frame time on the RGB clock (offsets removed)."""
    rgb_end_s: float | None = None
    rgb_duration_s: float | None = None
    rgb_dropped: int | None = None
    """Frames missing from the stream's rate (a 30 -> 15 fps switch is not a drop)."""
    rgb_largest_gap_ms: float | None = None
    """Longest interval between consecutive frames."""
    rgb_segments: int | None = None
    """Stretches at one frame rate (more than one: variable frame rate)."""
    depth_time_source: str | None = None
    depth_measured_fps: float | None = None
    depth_start_s: float | None = None
    depth_end_s: float | None = None
    depth_duration_s: float | None = None
    depth_dropped: int | None = None
    depth_largest_gap_ms: float | None = None
    depth_segments: int | None = None
    depth_error: str | None = None
    """Why the depth stream was left out (its clip columns are null), else null."""
    ir_time_source: str | None = None
    ir_measured_fps: float | None = None
    ir_start_s: float | None = None
    ir_end_s: float | None = None
    ir_duration_s: float | None = None
    ir_dropped: int | None = None
    ir_largest_gap_ms: float | None = None
    ir_segments: int | None = None
    ir_error: str | None = None
    """Why the IR stream was left out (its clip columns are null), else null."""
    truncated: str | None = None
    """Streams whose file ends before its container's index says ('ir.mp4 is truncated:
    container says 1608 frames, 974 in the file'; '; '-separated); their frames up to the
    cut are used. Null when none is."""


@dataclass
class FrameRecord(_Record):
    """One frame of one clip and the source frame each modality showed for it
    (`manifest/frames.parquet`): what `mgrdata preview` labels."""

    TABLE: ClassVar[str] = "frames"
    SCHEMA_VERSION: ClassVar[int] = 1

    clip_id: str
    frame: int
    """Clip frame index k, from 0."""
    time_s: float
    """t_k: the clip frame's time on the RGB clock (seconds)."""
    rgb_frame: int
    """Source RGB frame (decode order)."""
    rgb_error_ms: float
    """Source frame time - t_k."""
    depth_frame: int | None = None
    depth_error_ms: float | None = None
    """Source depth frame time - (t_k + depth offset)."""
    ir_frame: int | None = None
    ir_error_ms: float | None = None
    """Source IR frame time - (t_k + ir_offset_s)."""


@dataclass
class RejectRecord(_Record):
    """One annotation row that was not cut, with the reason."""

    TABLE: ClassVar[str] = "rejects"
    SCHEMA_VERSION: ClassVar[int] = 2

    source_row: int
    """Line number in the annotation CSV (header is line 1)."""
    reason_code: str
    """Machine-readable reason, one of `REJECT_CODES`."""
    reason: str
    """Human-readable reason with the values involved."""
    recording: str | None = None
    subject: str | None = None
    gesture: str | None = None
    start_frame: str | None = None
    """The cell as written in the CSV (it may not be an integer)."""
    end_frame: str | None = None
    start_s: str | None = None
    """The start_s cell as written, for rows that give seconds."""
    end_s: str | None = None


REJECT_CODES: dict[str, str] = {
    "non_integer_frame": "start_frame/end_frame is not an integer",
    "bad_time": "start_s/end_s is not a finite number",
    "start_after_end": "start_frame > end_frame",
    "negative_frame": "a frame index is below the index base",
    "outside_stream": "the span runs past the RGB stream",
    "depth_not_covering": "the depth stream does not cover the span",
    "ir_not_covering": "the IR stream does not cover the span",
    "incomplete_sensor_range": "only one of a per-sensor pair (ir_/depth_start_frame, _end_frame)",
    "bad_list_line": "an imported dataset's list line cannot be read (`mgrdata import`)",
    "unknown_class": "gesture is neither a class name nor an id of the vocabulary",
    "unsafe_recording": "recording path is absolute or leaves RAW",
    "unknown_recording": "no recording folder with an rgb.* file at that path",
    "missing_subject": "subject is empty",
    "duplicate": "same recording and span as an earlier row",
    "overlap": "span overlaps another instance of the same recording",
    "bad_light": "light is neither 'dark' nor 'daylight'",
    "bad_sync": "the recording's sync.json is unreadable or malformed",
    "bad_timestamps": "the RGB stream's timestamps (rgb.timestamps.csv) cannot be used",
    "sync_gap": "a stream has no frame within the sync tolerance of some clip frame",
    "media_error": "a stream of the recording could not be decoded",
    "verify_failed": "the written clip did not decode to the expected frame count",
    "task_failed": "the task cutting a stream failed on every attempt (worker died or raised)",
}
"""Every reject reason code and what it means."""
