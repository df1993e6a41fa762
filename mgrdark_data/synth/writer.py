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
from .figure import Figure, person_figure
from .plan import SynthTake
from .render import DepthComposer, IrComposer, RgbComposer, make_noise_bank
from .scene import depth_background, ir_background, rgb_background
from .streams import PngStream, SynthEncoding, VideoStream

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
    labels: list[dict[str, str | int]]
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
    rig, scene, n = take.rig, take.scene, take.rgb_frames
    cam = rig.rgb
    shape = (cam.height, cam.width, 3)
    if take.light == "dark":
        # Night: a dim, bluish, strongly vignetted exposure with heavy, blotchy sensor noise;
        # the person differs from the room by only a few levels, under noise of about as many.
        bg = rgb_background(scene, rig.optics, cam, "dark", REFLECTANCE_MEAN * 255)
        cast = np.array([0.92, 1.0, 1.15], np.float32) * rng.uniform(0.95, 1.05, 3)
        shade = _vignette(cam.height, cam.width, 0.5)[..., None] * cast.astype(np.float32)
        offset = 9.0  # black level plus dark current: the night frame is mostly offset
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
            n,
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


def _figure(take: SynthTake, t: float) -> Figure:
    pose, x_px, dist = take.pose_at(t)
    subject = take.subject
    return person_figure(
        pose, subject.body, subject.look, take.rig.optics, take.x0_mm(x_px, dist), dist
    )


def _write_ir(
    take: SynthTake, composer: IrComposer, stream: VideoStream, stop: threading.Event
) -> None:
    """Render and encode every IR frame: frame j shows scene time j / ir_fps - ir_offset_s."""
    for j in range(take.ir_frames):
        if stop.is_set():
            return
        stream.write(composer.frame(j, _figure(take, take.ir_time(j))))


def _clear_stale(folder: Path, take: SynthTake, write_sync: bool) -> None:
    """Remove what an earlier run with other options left, so no stream is ambiguous."""
    stale = [folder / ("depth" if take.depth_kind == "video" else "depth.mkv")]
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
    """Write `RAW/<recording>/{rgb.mp4, depth.mkv | depth/, ir.mp4, sync.json}`.

    The IR camera samples the same take at its own rate: IR frame j shows scene time
    j / ir_fps - ir_offset_s, which is what the time mapping (`mgrdark_data.timemap`) expects.
    """
    encoding = encoding or SynthEncoding()
    folder = make_dir(Path(raw) / take.recording)
    _clear_stale(folder, take, write_sync)
    rng = np.random.default_rng(list(take.seed_words))
    rgb_c, depth_c, ir_c = build_composers(take, rng)
    rig = take.rig
    streams: list[VideoStream | PngStream] = []
    stop = threading.Event()
    try:
        rgb_s = VideoStream(
            folder / "rgb.mp4",
            "rgb",
            rig.rgb.width,
            rig.rgb.height,
            take.rgb_fps,
            encoding,
            refs=NOISE_FRAMES,
        )
        streams.append(rgb_s)
        depth_s: VideoStream | PngStream
        if take.depth_kind == "png":
            depth_s = PngStream(folder / "depth", encoding)
        else:
            depth_s = VideoStream(
                folder / "depth.mkv",
                "depth",
                rig.depth.width,
                rig.depth.height,
                take.rgb_fps,
                encoding,
            )
        streams.append(depth_s)
        ir_s = VideoStream(
            folder / "ir.mp4", "ir", rig.ir.width, rig.ir.height, take.ir_fps, encoding
        )
        streams.append(ir_s)
        # IR has its own clock, so it is rendered by its own thread: encoding and cv2 release
        # the GIL, and each stream's content depends only on the take, never on the interleaving.
        with ThreadPoolExecutor(1, thread_name_prefix="synth-ir") as pool:
            ir_done = pool.submit(_write_ir, take, ir_c, ir_s, stop)
            try:
                for i in range(take.rgb_frames):
                    fig = _figure(take, i / take.rgb_fps)
                    rgb_s.write(rgb_c.frame(i, fig))
                    depth_s.write(depth_c.frame(i, fig))
            except BaseException:
                stop.set()  # leaving the pool waits for the IR thread: make it quit now
                raise
            ir_done.result()
        for s in streams:
            s.close()
    except BaseException:
        stop.set()
        for s in streams:
            s.abort()
        raise
    if write_sync:
        sync = {"ir_offset_s": take.ir_offset_s, "depth_offset_frames": 0}
        (folder / "sync.json").write_text(json.dumps(sync) + "\n")
    logger.info(
        "wrote %s: %d RGB frames, %d IR frames, %d gestures",
        take.recording,
        take.rgb_frames,
        take.ir_frames,
        len(take.gestures),
    )
    return RecordingResult(
        take.recording,
        folder,
        take.rgb_frames,
        take.ir_frames,
        take.depth_kind,
        take.label_rows(),
        take.truth(),
    )
