"""Render one synthetic take into a raw recording folder (README, "Raw layout and annotations")."""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..paths import make_dir
from .capture import STREAMS, CaptureOptions
from .clocks import StreamClock
from .figure import Figure, person_figure
from .plan import DARK_OFFSET, SynthTake
from .render import DepthComposer, IrComposer, RgbComposer, make_noise_bank, stamp_index
from .scene import depth_background, ir_background, rgb_background
from .streams import PngStream, SynthEncoding, VideoStream, write_timestamps

logger = logging.getLogger(__name__)

NOISE_FRAMES = 6
"""Noise frames per bank: enough that the eye sees no repetition, few enough to stay cheap."""
REFLECTANCE_MEAN = 0.45
"""Mean of the room's reflectance image before a dark take's exposure is applied."""
# Sensor noise as (blotchy sigma, per-pixel grain), in 8-bit levels (millimetres for depth);
# a dark take's blotchy sigma is its take's `dark_noise`.
# Per-pixel grain is what makes H.264 expensive, so most of the noise is blotchy.
DARK_GRAIN = 2.0
DAYLIGHT_NOISE = (1.2, 0.6)
IR_NOISE = (1.0, 0.3)
DEPTH_NOISE = (2.0, 0.5)


@dataclass(frozen=True)
class RecordingResult:
    """What `render_recording` wrote."""

    recording: str
    folder: Path
    rgb_frames: int
    ir_frames: int
    depth_kind: str
    labels: list[dict[str, str | int | float]]
    """Annotation rows of this recording (see `SynthTake.label_rows`)."""
    truth: dict
    """This recording's entry of `truth.json`."""


def _vignette(height: int, width: int, strength: float) -> np.ndarray:
    y = (np.arange(height, dtype=np.float32) - (height - 1) / 2) / max((height - 1) / 2, 1)
    x = (np.arange(width, dtype=np.float32) - (width - 1) / 2) / max((width - 1) / 2, 1)
    return 1.0 - strength * (y[:, None] ** 2 + x[None, :] ** 2) / 2


def build_composers(
    take: SynthTake, rng: np.random.Generator
) -> tuple[RgbComposer, DepthComposer, IrComposer]:
    """The three frame makers of a recording, backgrounds and noise banks precomputed."""
    rig, scene, n = take.rig, take.scene, take.clocks.rgb.slots
    cam = rig.rgb
    shape = (cam.height, cam.width, 3)
    if take.light == "dark":
        # Night: a dim, bluish, strongly vignetted exposure with heavy, blotchy sensor noise;
        # the person differs from the room by only a few levels, under noise of about as many.
        bg = rgb_background(scene, rig.optics, cam, "dark", REFLECTANCE_MEAN * 255)
        cast = np.array([0.92, 1.0, 1.15], np.float32) * rng.uniform(0.95, 1.05, 3)
        shade = _vignette(cam.height, cam.width, 0.5)[..., None] * cast.astype(np.float32)
        offset = DARK_OFFSET  # the night frame is mostly black level and dark current
        gain = (take.exposure * 255 - offset) / max(float((bg * shade).mean()), 1.0)
        noise = make_noise_bank(rng, shape, take.dark_noise, NOISE_FRAMES, n, grain=DARK_GRAIN)
        rgb = RgbComposer(cam, bg, shade * gain, offset, noise)
    else:
        bg = rgb_background(scene, rig.optics, cam, "daylight", take.exposure * 255)
        balance = rng.uniform(0.97, 1.03, 3).astype(np.float32)
        shade = _vignette(cam.height, cam.width, 0.1)[..., None] * balance
        shade /= float(shade.mean())
        noise = make_noise_bank(
            rng, shape, DAYLIGHT_NOISE[0], NOISE_FRAMES, n, grain=DAYLIGHT_NOISE[1]
        )
        rgb = RgbComposer(cam, bg, shade, 0.0, noise)
    d = rig.depth
    depth = DepthComposer(
        d,
        depth_background(scene, rig.optics, d),
        make_noise_bank(
            rng,
            (d.height, d.width),
            DEPTH_NOISE[0],
            NOISE_FRAMES,
            take.clocks.depth.slots,
            grain=DEPTH_NOISE[1],
            dtype=np.int16,
        ),
    )
    ir_cam = rig.ir
    ir = IrComposer(
        ir_cam,
        ir_background(scene, rig.optics, ir_cam),
        make_noise_bank(
            rng,
            (ir_cam.height, ir_cam.width),
            IR_NOISE[0],
            NOISE_FRAMES,
            take.ir_frames,
            grain=IR_NOISE[1],
        ),
    )
    return rgb, depth, ir


def figure_at(take: SynthTake, t: float) -> Figure:
    """The person as seen at scene time `t` (seconds on the RGB clock)."""
    pose, x_px, dist = take.pose_at(t)
    subject = take.subject
    return person_figure(
        pose, subject.body, subject.look, take.rig.optics, take.x0_mm(x_px, dist), dist
    )


Sink = VideoStream | PngStream
Composer = RgbComposer | DepthComposer | IrComposer


def _write_frames(
    take: SynthTake,
    group: list[tuple[StreamClock, Composer, Sink]],
    stamp: bool,
    stop: threading.Event,
) -> None:
    """Render and write the frames of streams that share one timeline, one figure per time:
    frame k shows scene time times[k] - offset_s (the stream's clock minus its offset)."""
    lead = group[0][0]
    labels = [_frame_labels(clock) for clock, _, _ in group]
    for k, t in enumerate(lead.times):
        if stop.is_set():
            return
        fig = figure_at(take, float(t) - lead.offset_s)
        for (clock, composer, sink), label in zip(group, labels, strict=True):
            img = composer.frame(clock.numbers[k], fig)
            if stamp:
                stamp_index(img, k, clock.name)
            sink.write(img, label[k])


def _frame_labels(clock: StreamClock) -> list[int | None]:
    """What each frame is written under: its number in a folder, its true PTS in a video, the
    next position in a video whose true times are in a timestamps file."""
    if clock.folder:
        return list(clock.numbers)
    return [None] * len(clock.times) if clock.timestamps else clock.pts


def _open(clock: StreamClock, folder: Path, take: SynthTake, encoding: SynthEncoding) -> Sink:
    if clock.folder:
        return PngStream(folder / clock.path, encoding, kind=clock.name)
    cam = {"rgb": take.rig.rgb, "depth": take.rig.depth, "ir": take.rig.ir}[clock.name]
    return VideoStream(
        folder / clock.path,
        clock.name,
        cam.width,
        cam.height,
        float(clock.fps),
        encoding,
        refs=NOISE_FRAMES if clock.name == "rgb" else None,
        time_base=None if clock.timestamps else clock.time_base,
    )


def _clear_stale(folder: Path, take: SynthTake, write_sync: bool) -> None:
    """Remove what an earlier run with other options left, so no stream is ambiguous."""
    stale = []
    for clock in take.clocks.streams:
        video = f"{clock.name}.{'mkv' if clock.name == 'depth' else 'mp4'}"
        stale.append(folder / (video if clock.folder else clock.name))
        if not clock.timestamps:
            stale.append(folder / f"{clock.name}.timestamps.csv")
    if not write_sync:
        stale.append(folder / "sync.json")
    for path in stale:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def render_recording(
    take: SynthTake,
    raw: str | Path,
    *,
    encoding: SynthEncoding | None = None,
    write_sync: bool = True,
) -> RecordingResult:
    """Write `RAW/<recording>/{rgb.mp4 | rgb/, depth.mkv | depth/, ir.mp4 | ir/, sync.json}`
    and any `<stream>.timestamps.csv`, as the take's clocks say.

    Every stream samples the same take at its own frame times: frame k of a stream shows scene
    time t_k - offset_s, so each frame's content is the scene at its true time (`truth.json`).
    """
    encoding = encoding or SynthEncoding()
    folder = make_dir(Path(raw) / take.recording)
    _clear_stale(folder, take, write_sync)
    rng = np.random.default_rng(list(take.seed_words))
    composers = dict(zip(STREAMS, build_composers(take, rng), strict=True))
    clocks = take.clocks
    sinks: list[Sink] = []
    stop = threading.Event()
    try:
        groups: list[list[tuple[StreamClock, Composer, Sink]]] = []
        for clock in (clocks.rgb, clocks.depth, clocks.ir):
            sinks.append(_open(clock, folder, take, encoding))
            job = (clock, composers[clock.name], sinks[-1])
            lead = groups[0][0][0] if groups else None
            if lead and (clock.times, clock.offset_s) == (lead.times, lead.offset_s):
                groups[0].append(job)  # depth on the RGB clock: the same figure for both
            else:
                groups.append([job])
        # Streams on other clocks are rendered by their own threads: encoding and cv2 release
        # the GIL, and each stream's content depends only on the take, never on the interleaving.
        stamp = clocks.options.stamp
        with ThreadPoolExecutor(max(1, len(groups) - 1), thread_name_prefix="synth-clock") as pool:
            others = [pool.submit(_write_frames, take, g, stamp, stop) for g in groups[1:]]
            try:
                _write_frames(take, groups[0], stamp, stop)
            except BaseException:
                stop.set()  # leaving the pool waits for the other threads: make them quit now
                raise
            for done in others:
                done.result()
        for sink in sinks:
            sink.close()
    except BaseException:
        stop.set()
        for sink in sinks:
            sink.abort()
        raise
    for clock in clocks.streams:
        if clock.timestamps:
            path = folder / f"{clock.name}.timestamps.csv"
            write_timestamps(path, clock.timestamps_us(), clocks.options.timestamps_unit)
    if write_sync:
        sync: dict[str, float | int] = {"ir_offset_s": take.ir_offset_s, "depth_offset_frames": 0}
        if clocks.options != CaptureOptions():
            sync.update({f"{c.name}_fps": float(c.fps) for c in clocks.streams})
        (folder / "sync.json").write_text(json.dumps(sync) + "\n")
    logger.info(
        "wrote %s: %d RGB frames, %d IR frames, %d gestures",
        take.recording,
        take.rgb_frames,
        len(clocks.ir.times),
        len(take.gestures),
    )
    return RecordingResult(
        take.recording,
        folder,
        take.rgb_frames,
        len(clocks.ir.times),
        take.depth_kind,
        take.label_rows(),
        take.truth(),
    )
