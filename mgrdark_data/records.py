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
    SCHEMA_VERSION: ClassVar[int] = 1

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
    """end_frame - start_frame + 1; every modality's clip has exactly this many frames."""
    fps: float
    """Frame rate of every clip of this instance (the RGB stream's)."""
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
    """Source depth frame of clip frame 0 (start_frame + depth_offset_frames)."""
    depth_end_frame: int | None = None
    depth_width: int | None = None
    depth_height: int | None = None
    depth_bytes: int | None = None
    depth_sha256: str | None = None
    ir_path: str | None = None
    """IR clip relative to the dataset root; null when the recording has no IR."""
    ir_start_frame: int | None = None
    """Source IR frame of clip frame 0 by the time mapping (`mgrdark_data.timemap`)."""
    ir_end_frame: int | None = None
    """Source IR frame of the last clip frame (IR frames may repeat or be skipped)."""
    ir_width: int | None = None
    ir_height: int | None = None
    ir_aligned: bool | None = None
    """True when the IR clip was warped into the RGB view, False for native IR geometry."""
    ir_bytes: int | None = None
    ir_sha256: str | None = None
    extra: dict[str, str | None] = field(default_factory=dict)
    """Annotation columns beyond the contract, carried unchanged (one string column each)."""


@dataclass
class RecordingRecord(_Record):
    """One raw recording: its streams, the time mapping and the IR alignment used."""

    TABLE: ClassVar[str] = "recordings"
    SCHEMA_VERSION: ClassVar[int] = 1

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
    """Depth frame offset of the time mapping."""
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


@dataclass
class RejectRecord(_Record):
    """One annotation row that was not cut, with the reason."""

    TABLE: ClassVar[str] = "rejects"
    SCHEMA_VERSION: ClassVar[int] = 1

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


REJECT_CODES: dict[str, str] = {
    "non_integer_frame": "start_frame/end_frame is not an integer",
    "start_after_end": "start_frame > end_frame",
    "negative_frame": "a frame index is below the index base",
    "outside_stream": "the span runs past the RGB stream",
    "depth_not_covering": "the depth stream does not cover the span",
    "ir_not_covering": "the IR stream does not cover the span",
    "unknown_class": "gesture is neither a class name nor an id of the vocabulary",
    "unsafe_recording": "recording path is absolute or leaves RAW",
    "unknown_recording": "no recording folder with an rgb.* file at that path",
    "missing_subject": "subject is empty",
    "duplicate": "same recording and span as an earlier row",
    "overlap": "span overlaps another instance of the same recording",
    "bad_light": "light is neither 'dark' nor 'daylight'",
    "bad_sync": "the recording's sync.json is unreadable or malformed",
    "media_error": "a stream of the recording could not be decoded",
    "verify_failed": "the written clip did not decode to the expected frame count",
}
"""Every reject reason code and what it means."""
