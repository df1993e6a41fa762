"""What segmentation is told about one recording's IR geometry (and, optionally, its clock)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class AlignmentDecision:
    """The IR->RGB transform to use for one recording, or None for native IR geometry.

    IR pixel (u, v) shows the scene point seen at RGB pixel (scale*u + shift_x,
    scale*v + shift_y), in the source pixels of both streams.
    """

    scale: float | None
    shift_x: float | None
    shift_y: float | None
    score: float | None
    """Confidence of the transform used (a fallback's own score), None when none is used."""
    method: str
    """'auto:<estimator>', 'fallback:daylight', 'fallback:scene', 'native', 'none', 'file' or
    the method column of a table."""
    note: str | None = None
    """Why a fallback or native geometry was used, else None."""
    mode: str = "auto"
    """'auto' (estimated now), 'file' (read from a table) or 'none' (alignment switched off)."""
    ir_offset_s: float | None = None
    """IR clock offset estimated from motion or given in the table; None means: use sync.json
    (or 0.0 without one)."""
    sync_score: float | None = None
    """Confidence of an estimated ir_offset_s in [0, 1]."""
    frames_used: int | None = None
    """Frame pairs the estimate used."""

    @property
    def aligned(self) -> bool:
        """True when IR should be warped into the RGB view."""
        return self.scale is not None

    def to_row(self, recording: str) -> dict:
        """A row of the alignment table (`table.COLUMNS` plus mode)."""
        return {
            "recording": recording,
            "scale": self.scale,
            "shift_x": self.shift_x,
            "shift_y": self.shift_y,
            "score": self.score,
            "frames_used": self.frames_used,
            "method": self.method,
            "ir_offset_s": self.ir_offset_s,
            "sync_score": self.sync_score,
            "note": self.note,
            "mode": self.mode,
        }


def native(method: str, note: str | None, mode: str = "auto", **kw) -> AlignmentDecision:
    """A decision to keep the IR stream's own geometry."""
    return AlignmentDecision(None, None, None, None, method, note, mode, **kw)
