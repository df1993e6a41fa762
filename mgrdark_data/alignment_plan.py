"""Which IR geometry each recording's IR clips get: `--align auto | none | FILE`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .annotations import Instance
from .errors import MgrdarkError
from .recordings import RecordingFiles


@dataclass(frozen=True)
class AlignmentChoice:
    """The IR -> RGB mapping used for one recording (DESIGN section 6 meaning)."""

    mode: str
    """'auto', 'file' or 'none'."""
    aligned: bool
    """False: IR clips keep native geometry (no trustworthy alignment was found)."""
    scale: float = 1.0
    shift_x: float = 0.0
    shift_y: float = 0.0
    score: float | None = None
    method: str | None = None
    note: str | None = None
    """Why a fallback was used (reported as a warning in the summary)."""
    ir_offset_s: float | None = None
    """An estimated IR time offset, used when the recording has no sync.json."""


def choose_alignments(
    mode: str, raw: Path, found: dict[str, RecordingFiles], instances: list[Instance]
) -> dict[str, AlignmentChoice]:
    """An AlignmentChoice per recording with IR; empty for `--align none`."""
    if mode == "none":
        return {}
    if mode != "auto" and not Path(mode).is_file():
        raise MgrdarkError(
            f"--align {mode!r}: expected 'auto', 'none' or an existing alignment table "
            "written by `mgrdata align`"
        )
    with_ir = [r for r, f in found.items() if f.ir is not None]
    if not with_ir:
        return {}
    try:
        from .align import resolve_alignments
    except ImportError as e:  # pragma: no cover - the align package ships with mgrdark_data
        raise MgrdarkError(
            f"--align {mode}: alignment is unavailable ({e}); use --align none"
        ) from e
    light = {i.recording: i.light for i in instances if i.light}
    scene = {i.recording: i.scene for i in instances if i.scene}
    subject = {i.recording: i.subject for i in instances}
    decisions = resolve_alignments(
        raw, with_ir, mode=mode, light_of=light, scene_of=scene, subject_of=subject
    )
    out = {}
    for rec_id, d in decisions.items():
        aligned = d.scale is not None and d.shift_x is not None and d.shift_y is not None
        out[rec_id] = AlignmentChoice(
            mode=d.mode,
            aligned=aligned,
            scale=d.scale if aligned else 1.0,
            shift_x=d.shift_x if aligned else 0.0,
            shift_y=d.shift_y if aligned else 0.0,
            score=d.score,
            method=d.method,
            note=d.note,
            ir_offset_s=d.ir_offset_s,
        )
    return out
