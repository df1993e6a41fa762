"""Synthetic raw recordings (`mgrdata synth`): a rendered person performing the vocabulary's
gestures in seeded rooms, filmed by an RGB, a depth and an IR camera, in the dark and in
daylight, with exact labels and the true IR geometry and clock offsets in `RAW/truth.json`.

Modules: `motions` (class -> pose), `figure` (pose -> drawing primitives), `cameras` (views and
projection), `scene` (rooms), `render` (frames), `plan` (what a take contains), `capture`
(options for the streams' clocks and files), `clocks` (every stream's frame times), `streams`
(encoders), `writer` (one recording), `dataset` (a whole raw tree), `truth` (truth.json and the
test oracle of what segmentation must produce).
"""

from .capture import CAPTURE_PRESETS, CaptureOptions
from .dataset import (
    LABEL_COLUMNS,
    SynthResult,
    plan_dataset,
    synthesize,
    synthesize_recording,
    write_labels,
    write_truth,
)
from .plan import SynthTake, make_subject, plan_take
from .scene import make_scene
from .streams import SynthEncoding
from .truth import ClipExpectation, clip_expectation, expected_sources, read_truth
from .writer import RecordingResult, render_recording

__all__ = [
    "CAPTURE_PRESETS",
    "LABEL_COLUMNS",
    "CaptureOptions",
    "ClipExpectation",
    "SynthTake",
    "RecordingResult",
    "SynthEncoding",
    "SynthResult",
    "clip_expectation",
    "expected_sources",
    "make_scene",
    "make_subject",
    "plan_dataset",
    "plan_take",
    "read_truth",
    "render_recording",
    "synthesize",
    "synthesize_recording",
    "write_labels",
    "write_truth",
]
