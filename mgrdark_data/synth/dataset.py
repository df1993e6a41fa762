"""A whole synthetic raw dataset: recordings for every subject, light and scene, plus
`RAW/labels.csv` (annotations/README.md) and `RAW/truth.json` (the true IR geometry and
offsets).
"""

from __future__ import annotations

import contextlib
import csv
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import OptionError
from ..paths import atomic_path, make_dir
from ..pool import worker_pool
from ..progress import Progress, stage_bar
from .capture import CaptureOptions
from .plan import (
    DARK_EXPOSURE,
    DARK_NOISE_SIGMA,
    DARK_OFFSET,
    DIST_RANGE_MM,
    LIGHTS,
    MIN_DISTANCE_MM,
    SynthTake,
    make_subject,
    plan_take,
)
from .scene import make_scene, scene_names, stable_hash
from .streams import SynthEncoding
from .truth import dumps_truth
from .writer import RecordingResult, render_recording

logger = logging.getLogger(__name__)

LABEL_COLUMNS = ("recording", "subject", "gesture", "start_frame", "end_frame", "light", "scene")
SECONDS_COLUMNS = ("recording", "subject", "gesture", "start_s", "end_s", "light", "scene")
"""Columns of labels.csv with `seconds`: gesture spans as times on the RGB clock."""


@dataclass(frozen=True)
class SynthResult:
    """What `synthesize` wrote."""

    raw: Path
    labels_path: Path
    truth_path: Path
    recordings: list[str]
    """Recording ids, sorted."""
    gestures: int
    """Number of annotated gesture instances."""
    rgb_frames: int
    """RGB frames over all recordings."""
    expected_rejects: int = 0
    """Gestures that segmentation must reject (truth.json `expect_reject`)."""


def subject_ids(count: int) -> list[str]:
    return [f"S{i + 1:02d}" for i in range(count)]


def plan_dataset(
    *,
    subjects: int = 4,
    scenes: int = 2,
    scale: float = 1.0,
    seed: int = 0,
    repeats: int = 1,
    gesture_frames: tuple[int, int] = (45, 210),
    rest_frames: tuple[int, int] = (10, 40),
    dark_noise: float = DARK_NOISE_SIGMA,
    distance_mm: tuple[float, float] = DIST_RANGE_MM,
    capture: CaptureOptions | None = None,
    dark_exposure: tuple[float, float] = DARK_EXPOSURE,
) -> list[SynthTake]:
    """Plans of every recording `synthesize` writes, in recording id order.

    Recording ids are `<subject>/<light>/<scene>`. One recording per subject (chosen by the
    seed) stores depth as a PNG folder instead of a video, so both input kinds occur.
    """
    if subjects < 1 or scenes < 1 or repeats < 1:
        raise OptionError("subjects, scenes and repeats must be at least 1")
    if scale <= 0:
        raise OptionError(f"scale must be positive, got {scale}")
    if dark_noise < 0:
        raise OptionError(f"dark_noise must be >= 0, got {dark_noise}")
    if not MIN_DISTANCE_MM <= distance_mm[0] <= distance_mm[1]:
        raise OptionError(
            f"person distance {distance_mm[0]:g}..{distance_mm[1]:g} mm: need "
            f"{MIN_DISTANCE_MM:g} <= MIN <= MAX (nearer, the person leaves the view)"
        )
    if not DARK_OFFSET / 255 < dark_exposure[0] <= dark_exposure[1] <= 1:
        raise OptionError(
            f"dark exposure {dark_exposure[0]:g}..{dark_exposure[1]:g}: need "
            f"{DARK_OFFSET / 255:.3f} < MIN <= MAX <= 1 (mean RGB level on [0, 1], above the "
            "black level)"
        )
    rooms = {name: make_scene(name, seed) for name in scene_names(scenes)}
    takes = []
    for sid in subject_ids(subjects):
        subject = make_subject(sid, seed)
        ids = [f"{sid}/{light}/{name}" for light in LIGHTS for name in rooms]
        rng = np.random.default_rng([seed, stable_hash("depth-png:" + sid)])
        png = ids[int(rng.integers(len(ids)))]
        for rid in ids:
            _, light, name = rid.split("/")
            takes.append(
                plan_take(
                    rid,
                    subject=subject,
                    light=light,
                    scene=rooms[name],
                    seed=seed,
                    scale=scale,
                    repeats=repeats,
                    gesture_frames=gesture_frames,
                    rest_frames=rest_frames,
                    depth_kind="png" if rid == png else "video",
                    dark_noise=dark_noise,
                    distance_mm=distance_mm,
                    capture=capture,
                    dark_exposure=dark_exposure,
                )
            )
    return sorted(takes, key=lambda p: p.recording)


def write_labels(path: str | os.PathLike, rows: Iterable[dict], seconds: bool = False) -> Path:
    """Write annotation rows (the annotation CSV's columns, then light and scene), sorted by
    recording and start frame; with `seconds`, spans as `start_s`/`end_s` (the true times of
    the first and last RGB frame, in microseconds: each maps back to its frame as the nearest)
    instead of frames."""
    rows = sorted(rows, key=lambda r: (r["recording"], int(r["start_frame"])))
    columns = SECONDS_COLUMNS if seconds else LABEL_COLUMNS
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow(
                {k: f"{r[k]:.6f}" if k in ("start_s", "end_s") else r[k] for k in columns}
            )
    return path


def write_truth(path: str | os.PathLike, results: Iterable[RecordingResult]) -> Path:
    """Write `truth.json` (format: `mgrdark_data.synth.truth`): per recording the true IR
    mapping, clock offsets, every stream's frame times and each gesture's expected outcome."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(dumps_truth({r.recording: r.truth for r in results}), encoding="utf-8")
    return path


def _render(args: tuple[SynthTake, str, SynthEncoding, bool]) -> RecordingResult:
    take, raw, encoding, write_sync = args
    return render_recording(take, raw, encoding=encoding, write_sync=write_sync)


def synthesize(
    raw: str | os.PathLike,
    *,
    subjects: int = 4,
    scenes: int = 2,
    scale: float = 1.0,
    seed: int = 0,
    repeats: int = 1,
    gesture_frames: tuple[int, int] = (45, 210),
    rest_frames: tuple[int, int] = (10, 40),
    write_sync: bool = True,
    encoding: SynthEncoding | None = None,
    workers: int = 1,
    dark_noise: float = DARK_NOISE_SIGMA,
    distance_mm: tuple[float, float] = DIST_RANGE_MM,
    capture: CaptureOptions | None = None,
    label_seconds: bool = False,
    dark_exposure: tuple[float, float] = DARK_EXPOSURE,
    progress: Progress | None = None,
) -> SynthResult:
    """Write a synthetic raw dataset into `raw`, deterministic per `seed`.

    Args:
        raw: the raw root to create (existing recordings of the same ids are overwritten).
        subjects: number of performers, `S01`, `S02`, ...
        scenes: rooms per subject; each is recorded once in the dark and once in daylight.
        scale: multiplies every resolution (RGB 1920x1080, depth 512x424, IR 1408x1068).
        seed: the same seed gives byte-identical labels and identical decoded frames.
        repeats: how often each class occurs per take.
        gesture_frames: (min, max) length of a gesture in RGB frames (as annotated: frames
            of a variable-rate take last longer at its lower rate).
        rest_frames: (min, max) pause before, between and after gestures.
        write_sync: write each recording's `sync.json`; without it, offsets must be estimated.
        encoding: encoder settings of the raw streams.
        workers: recordings rendered in parallel processes.
        progress: progress display, stage "synth", one unit a recording.
        dark_noise: blotchy sensor noise of the dark takes' RGB in 8-bit levels: how hard
            dark RGB is (the person stands out from the room by a few levels).
        distance_mm: (min, max) distance of the person from the cameras; nearer is larger.
        dark_exposure: (min, max) of a dark take's mean RGB level on [0, 1]; higher lifts
            the person further above the black level (more contrast under the same noise).
        capture: the streams' clocks and files (variable rate, drops, timestamps files, image
            folders); default: constant-rate videos.
        label_seconds: labels.csv gives spans as `start_s`/`end_s` instead of frames.
    """
    takes = plan_dataset(
        subjects=subjects,
        scenes=scenes,
        scale=scale,
        seed=seed,
        repeats=repeats,
        gesture_frames=gesture_frames,
        rest_frames=rest_frames,
        dark_noise=dark_noise,
        distance_mm=distance_mm,
        capture=capture,
        dark_exposure=dark_exposure,
    )
    raw = make_dir(raw)  # after the plan: refused options leave no folder behind
    encoding = encoding or SynthEncoding()
    jobs = [(take, str(raw), encoding, write_sync) for take in takes]
    results: list[RecordingResult] = []
    with contextlib.ExitStack() as stack:
        pool = stack.enter_context(worker_pool(min(workers, len(jobs))))
        rendered = pool.map(_render, jobs)
        bar = stack.enter_context(stage_bar(progress, "synth", len(jobs), "recording"))
        for result in rendered:
            results.append(result)
            bar.update()
    labels = write_labels(
        raw / "labels.csv", (row for r in results for row in r.labels), seconds=label_seconds
    )
    truth = write_truth(raw / "truth.json", results)
    return SynthResult(
        raw,
        labels,
        truth,
        [r.recording for r in results],
        sum(len(r.labels) for r in results),
        sum(r.rgb_frames for r in results),
        sum(bool(g["expect_reject"]) for r in results for g in r.truth["gestures"]),
    )


def synthesize_recording(
    raw: str | os.PathLike,
    recording_id: str,
    *,
    width: int = 1920,
    height: int = 1080,
    light: str = "dark",
    scene: str = "hall",
    subject: str | None = None,
    seed: int = 0,
    gestures: int = 10,
    seconds: float = 0.0,
    gesture_frames: tuple[int, int] = (45, 210),
    rest_frames: tuple[int, int] = (10, 40),
    depth_kind: str = "video",
    write_sync: bool = True,
    encoding: SynthEncoding | None = None,
    capture: CaptureOptions | None = None,
) -> RecordingResult:
    """Write one recording of at least `gestures` gestures and `seconds` seconds.

    Depth and IR sizes follow the RGB width's scale of 1920. Only the recording folder is
    written; pass the result to `write_labels` / `write_truth` for the annotation files.

    Args:
        raw: raw root.
        recording_id: folder relative to `raw`, e.g. 'bench/dark/hall'.
        width: RGB width (even).
        height: RGB height (even).
        light: 'dark' or 'daylight'.
        scene: room name (seeded like the rooms of `synthesize`).
        subject: subject id; default: the first component of `recording_id`.
        seed: the same seed gives the same recording.
        gestures: minimum number of gestures (every class once before any repeats).
        seconds: minimum duration.
        gesture_frames: (min, max) gesture length in RGB frames.
        rest_frames: (min, max) pause around gestures.
        depth_kind: 'video' (depth.mkv) or 'png' (depth/ folder).
        write_sync: write `sync.json`.
        encoding: encoder settings.
        capture: the streams' clocks and files (see `synthesize`).
    """
    if width % 2 or height % 2:
        raise OptionError(f"RGB size must be even for H.264 4:2:0, got {width}x{height}")
    if depth_kind not in ("video", "png"):
        raise OptionError(f"depth_kind must be 'video' or 'png', got {depth_kind!r}")
    subject_id = subject or (recording_id.split("/")[0] if "/" in recording_id else "S01")
    take = plan_take(
        recording_id,
        subject=make_subject(subject_id, seed),
        light=light,
        scene=make_scene(scene, seed),
        seed=seed,
        rgb_size=(width, height),
        repeats=0,
        min_gestures=gestures,
        min_seconds=seconds,
        gesture_frames=gesture_frames,
        rest_frames=rest_frames,
        depth_kind=depth_kind,
        capture=capture,
    )
    return render_recording(take, raw, encoding=encoding, write_sync=write_sync)
