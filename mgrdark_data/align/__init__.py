"""IR -> RGB alignment and IR clock offsets (docs/architecture.md, "IR alignment").

`estimate_alignment` works on frame pairs in memory; `sample_frame_pairs` reads them from a
recording; `resolve_alignments` decides per recording (with fallbacks) for `mgrdata align` and
`mgrdata segment`; `warp_ir_to_rgb` applies a decision to a frame.
"""

from .decision import AlignmentDecision
from .estimate import Alignment, estimate_alignment
from .geometry import affine_matrix, alignment_error, warp_ir_to_rgb
from .overlay import overlay_image, write_overlay
from .resolve import MIN_SCORE, estimate_recording, resolve_alignments
from .sample import FramePairs, sample_frame_pairs, stream_motion
from .sync import estimate_ir_offset, motion_energy
from .table import AlignmentTableError, read_alignment_table, write_alignment_table

__all__ = [
    "MIN_SCORE",
    "Alignment",
    "AlignmentDecision",
    "AlignmentTableError",
    "FramePairs",
    "affine_matrix",
    "alignment_error",
    "estimate_alignment",
    "estimate_ir_offset",
    "estimate_recording",
    "motion_energy",
    "overlay_image",
    "read_alignment_table",
    "resolve_alignments",
    "sample_frame_pairs",
    "stream_motion",
    "warp_ir_to_rgb",
    "write_alignment_table",
    "write_overlay",
]
