"""What one synthetic take contains, decided up front from a seed.

A `SynthTake` fixes everything random about a take (subject, room, cameras, clock offset,
the gesture schedule and each gesture's style and position), so rendering is a pure function
of the take and the same seed always gives the same files. `pose_at` turns the schedule into
the person's pose at any time, which lets the IR camera sample the take at its own rate.
(The segmenter's plans of clip jobs are another thing: `mgrdark_data.planning`.)
"""

from __future__ import annotations

import bisect
import colorsys
import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..errors import OptionError
from ..timemap import ir_index
from ..vocabulary import load_vocabulary
from .cameras import Rig, make_rig
from .capture import RGB_FPS, CaptureOptions
from .clocks import TakeClocks, plan_clocks
from .figure import Look
from .motions import (
    MIRRORED_FROM,
    MOTIONS,
    SINGLE_ARM_CLASSES,
    BodyShape,
    GestureStyle,
    Pose,
    gesture_pose,
    rest_pose,
    with_idle,
)
from .scene import Scene, stable_hash

LIGHTS = ("dark", "daylight")
IR_FPS = 30.0
MAX_IR_OFFSET_S = 0.2
DARK_NOISE_SIGMA = 7.5
"""Default blotchy sensor noise of dark RGB (8-bit levels): about the person's contrast to the
room, so dark RGB alone is near chance for a small classifier (bench/RESULTS.md, "ablation")."""
DARK_EXPOSURE = (0.07, 0.11)
"""Range of a dark take's mean RGB level on [0, 1] (daylight: 0.42-0.48). A black level of 9
8-bit levels takes most of it, so the room and the person span only a few levels above it."""
DARK_OFFSET = 9.0
"""Black level plus dark current of the dark takes' RGB, in 8-bit levels."""
DIST_RANGE_MM = (2700.0, 3400.0)
"""Where the body plane stands; with arms reaching forward the person spans 2-4 m."""
MIN_DISTANCE_MM = 1500.0
"""Nearest body plane `--distance` allows: at 1.5 m the 16:9 view still holds the head and
raised hands of a tall person down to the knees (the camera is 1 m high)."""

_SKINS = ((233, 192, 160), (210, 160, 120), (180, 130, 95), (141, 85, 54), (95, 60, 40))
_HAIRS = ((30, 22, 18), (70, 45, 25), (120, 85, 50), (200, 170, 110), (150, 150, 150))


@dataclass(frozen=True)
class Subject:
    """A performer: body proportions, appearance and personal idle rhythm."""

    id: str
    body: BodyShape
    look: Look
    idle_phase: float


def _jitter(rng: np.random.Generator, rgb: tuple[int, ...], amount: int) -> tuple[int, int, int]:
    c = np.clip(np.asarray(rgb) + rng.integers(-amount, amount + 1, 3), 0, 255)
    return int(c[0]), int(c[1]), int(c[2])


def make_subject(subject_id: str, seed: int) -> Subject:
    """A seeded performer: the same id and seed always give the same person."""
    rng = np.random.default_rng([seed, stable_hash("subject:" + subject_id)])
    body = BodyShape(
        height_mm=float(rng.uniform(1550, 1900)),
        shoulder=float(rng.uniform(0.108, 0.132)),
        hip=float(rng.uniform(0.05, 0.062)),
        head_r=float(rng.uniform(0.057, 0.066)),
    )
    hue, sat, val = rng.uniform(0, 1), rng.uniform(0.2, 0.9), rng.uniform(0.25, 0.95)
    shirt = tuple(int(255 * c) for c in colorsys.hsv_to_rgb(hue, sat, val))
    pants = (
        _jitter(rng, (35, 45, 80), 15),
        _jitter(rng, (30, 30, 32), 10),
        _jitter(rng, (110, 110, 115), 20),
        _jitter(rng, (170, 150, 110), 20),
    )
    look = Look(
        skin=_jitter(rng, _SKINS[int(rng.integers(len(_SKINS)))], 12),
        hair=_jitter(rng, _HAIRS[int(rng.integers(len(_HAIRS)))], 10),
        shirt=(shirt[0], shirt[1], shirt[2]),
        pants=pants[int(rng.integers(len(pants)))],
        long_sleeves=bool(rng.random() < 0.5),
        heat_skin=int(rng.integers(214, 232)),
        heat_shirt=int(rng.integers(160, 196)),
        heat_pants=int(rng.integers(148, 178)),
        heat_hair=int(rng.integers(172, 196)),
    )
    return Subject(subject_id, body, look, float(rng.uniform(0, 2 * math.pi)))


@dataclass(frozen=True)
class SynthGesture:
    """One performed gesture: its class, RGB frame span and how it is performed."""

    gesture: int
    """Class id in the vocabulary."""
    name: str
    start: int
    """First RGB frame, 0-based."""
    end: int
    """Last RGB frame, inclusive."""
    style: GestureStyle
    x_px: float
    """Image x of the pelvis (scene pixels) while the gesture lasts."""
    dist_mm: float
    """Distance of the body plane while the gesture lasts."""


@dataclass(frozen=True)
class SynthTake:
    """Everything that decides the content of one recording."""

    recording: str
    subject: Subject
    light: str
    scene: Scene
    rig: Rig
    gestures: tuple[SynthGesture, ...]
    rgb_frames: int
    ir_offset_s: float
    exposure: float
    """Target mean RGB level of the empty room, 0-1 (dark about 0.07-0.11)."""
    clocks: TakeClocks
    """Every stream's written frames and their true times."""
    depth_kind: str = "video"
    """'video' (depth.mkv) or 'png' (depth/ folder)."""
    dark_noise: float = DARK_NOISE_SIGMA
    """Blotchy sensor noise of a dark take's RGB, in 8-bit levels (daylight takes ignore it)."""
    seed_words: tuple[int, ...] = ()
    """Entropy for the render-time noise of this recording."""
    rgb_fps: float = RGB_FPS
    ir_fps: float = IR_FPS
    _starts: list[int] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._starts.extend(i.start for i in self.gestures)

    @cached_property
    def _rest(self) -> Pose:
        return rest_pose(self.subject.body)

    def ir_frame_for(self, rgb_index: int) -> int:
        """IR frame number shown with RGB frame `rgb_index` of a constant-rate take, by
        `mgrdark_data.timemap` (any take: `clocks` and `truth.expected_sources`)."""
        return ir_index(rgb_index, self.rgb_fps, self.ir_fps, self.ir_offset_s)

    @property
    def ir_frames(self) -> int:
        """IR frame numbers up to the last RGB frame's partner (dropped ones included)."""
        return self.clocks.ir.slots

    def ir_time(self, ir_index: int) -> float:
        """Scene time (RGB clock, seconds) that IR frame `ir_index` shows."""
        return ir_index / self.ir_fps - self.ir_offset_s

    def pose_at(self, t: float) -> tuple[Pose, float, float]:
        """(pose, pelvis image x, body distance) at scene time `t` seconds."""
        f = self.clocks.rgb_position(t)
        i = bisect.bisect_right(self._starts, f) - 1
        phase = self.subject.idle_phase
        if i >= 0 and f < self.gestures[i].end + 1:
            inst = self.gestures[i]
            p = (f - inst.start + 0.5) / (inst.end - inst.start + 1)
            pose = gesture_pose(inst.gesture, p, self.subject.body, inst.style)
            return with_idle(pose, t, phase), inst.x_px, inst.dist_mm
        before = self.gestures[i] if i >= 0 else None
        after = self.gestures[i + 1] if i + 1 < len(self.gestures) else None
        if before is None and after is None:
            x, d = self.rig.optics.cx, float(np.mean(DIST_RANGE_MM))
        elif before is None or after is None:
            x, d = (after or before).x_px, (after or before).dist_mm  # type: ignore[union-attr]
        else:
            # The person walks to the next spot during the rest, easing in and out.
            w = (f - before.end - 1) / max(after.start - before.end - 1, 1)
            w = min(max(w, 0.0), 1.0)
            w = w * w * (3 - 2 * w)
            x = before.x_px + w * (after.x_px - before.x_px)
            d = before.dist_mm + w * (after.dist_mm - before.dist_mm)
        return with_idle(self._rest, t, phase), x, d

    def x0_mm(self, x_px: float, dist_mm: float) -> float:
        """Lateral world position that projects to image x `x_px` at `dist_mm`."""
        optics = self.rig.optics
        return (x_px - optics.cx) * dist_mm / optics.focal

    def truth(self) -> dict:
        """This recording's entry of `truth.json`."""
        ir = self.rig.ir
        return {
            "subject": self.subject.id,
            "light": self.light,
            "scene": self.scene.name,
            "ir_scale": ir.scale,
            "ir_shift_x": ir.shift_x,
            "ir_shift_y": ir.shift_y,
            "ir_offset_s": self.ir_offset_s,
            "ir_fps": float(self.ir_fps),
            "rgb_fps": float(self.rgb_fps),
            **({"dark_noise": self.dark_noise} if self.light == "dark" else {}),
            "streams": self.clocks.truth(),
            "gestures": [
                {
                    **self._span(inst),
                    "expect_reject": reject and reject.reject,
                    **({"why": self.clocks.why(reject)} if reject else {}),
                }
                for inst, reject in zip(self.gestures, self.clocks.rejected, strict=True)
            ],
        }

    def _span(self, inst: SynthGesture) -> dict[str, str | int | float]:
        """A gesture's class name and RGB span, as frames and as their true times."""
        times = self.clocks.rgb.times
        return {
            "gesture": inst.name,
            "start_frame": inst.start,
            "end_frame": inst.end,
            "start_s": float(times[inst.start]),
            "end_s": float(times[inst.end]),
        }

    def label_rows(self) -> list[dict[str, str | int | float]]:
        """Annotation rows (the annotation CSV's columns, both spans, light and scene)."""
        return [
            {
                "recording": self.recording,
                "subject": self.subject.id,
                **self._span(inst),
                "light": self.light,
                "scene": self.scene.name,
            }
            for inst in self.gestures
        ]


def _style(rng: np.random.Generator, gesture: int, frames: int) -> GestureStyle:
    if gesture in MIRRORED_FROM or gesture not in SINGLE_ARM_CLASSES:
        arm = "r"
    else:
        arm = "r" if rng.random() < 0.75 else "l"
    # Longer instances repeat their motion more often rather than only moving slower.
    cycles = int(rng.integers(1, 3)) if frames < 100 else int(rng.integers(2, 4))
    return GestureStyle(
        amplitude=float(rng.uniform(0.8, 1.2)),
        cycles=cycles,
        arm=arm,
        gamma=float(rng.uniform(0.8, 1.25)),
        lift=float(rng.uniform(-0.025, 0.025)),
        reach=float(rng.uniform(-0.02, 0.03)),
        direction=1 if rng.random() < 0.5 else -1,
    )


def _x_range(rig: Rig, margin: float) -> tuple[float, float]:
    """Pelvis image x that keeps the person inside the RGB, depth and IR views."""
    lo = max(0.0, *(c.scene_extent()[0] for c in (rig.depth, rig.ir)))
    hi = min(rig.rgb.width - 1.0, *(c.scene_extent()[1] for c in (rig.depth, rig.ir)))
    if hi - lo > 2 * margin:
        return lo + margin, hi - margin
    mid = (lo + hi) / 2
    return mid, mid


def plan_take(
    recording: str,
    *,
    subject: Subject,
    light: str,
    scene: Scene,
    seed: int,
    scale: float = 1.0,
    rgb_size: tuple[int, int] | None = None,
    repeats: int = 1,
    min_gestures: int = 0,
    min_seconds: float = 0.0,
    gesture_frames: tuple[int, int] = (45, 210),
    rest_frames: tuple[int, int] = (10, 40),
    depth_kind: str = "video",
    dark_noise: float = DARK_NOISE_SIGMA,
    distance_mm: tuple[float, float] = DIST_RANGE_MM,
    capture: CaptureOptions | None = None,
    dark_exposure: tuple[float, float] = DARK_EXPOSURE,
) -> SynthTake:
    """Decide a take: every class `repeats` times in a seeded order, then more gestures (in
    fresh shuffles of all classes) until there are `min_gestures` and the take lasts
    `min_seconds` (at the nominal RGB rate). Same arguments, same plan; `capture` (default:
    constant-rate videos) decides the streams' clocks. `distance_mm` is the range of the body
    plane's distance from the cameras: nearer means a larger person, kept nearer the middle
    of the view (the whole person stays inside every camera's view). `dark_exposure` is the
    range of a dark take's mean RGB level on [0, 1].
    """
    capture = capture or CaptureOptions()
    fps = capture.rgb_fps
    if light not in LIGHTS:
        raise OptionError(f"light must be one of {LIGHTS}, got {light!r}")
    gmin, gmax = gesture_frames
    rmin, rmax = rest_frames
    if not (1 <= gmin <= gmax) or not (1 <= rmin <= rmax):
        raise OptionError(
            f"need 1 <= min <= max for gesture_frames {gesture_frames} and "
            f"rest_frames {rest_frames}"
        )
    vocab = load_vocabulary()
    if len(vocab) != len(MOTIONS):
        raise OptionError(
            f"the synthesizer knows {len(MOTIONS)} motions, the vocabulary has {len(vocab)} classes"
        )
    rng = np.random.default_rng([seed, stable_hash("recording:" + recording)])
    jitter = rng.uniform(-1, 1, 3)
    rig = make_rig(
        scale,
        round(scene.ir_scale_full + 0.005 * jitter[0], 4),
        (
            round(scene.ir_shift_full[0] + 4 * jitter[1], 1),
            round(scene.ir_shift_full[1] + 4 * jitter[2], 1),
        ),
        rgb_size,
    )
    ir_offset = round(float(rng.uniform(-MAX_IR_OFFSET_S, MAX_IR_OFFSET_S)), 3)
    exposure = float(rng.uniform(*dark_exposure) if light == "dark" else rng.uniform(0.42, 0.48))
    order = [int(g) for g in rng.permutation(np.repeat(np.arange(len(vocab)), repeats))]
    # A lead-in of at least the largest IR offset keeps the first gesture inside the IR stream.
    lead = max(int(rng.integers(rmin, rmax + 1)), math.ceil(MAX_IR_OFFSET_S * fps) + 2)
    frame = lead
    gestures: list[SynthGesture] = []
    refill: list[int] = []
    while order or len(gestures) < min_gestures or frame < min_seconds * fps:
        if not order:
            refill = refill or [int(g) for g in rng.permutation(len(vocab))]
            order.append(refill.pop(0))
        gesture = order.pop(0)
        length = int(rng.integers(gmin, gmax + 1))
        dist = float(rng.uniform(*distance_mm))
        height_px = rig.optics.focal * subject.body.height_mm / dist
        x = float(rng.uniform(*_x_range(rig, 0.45 * height_px)))
        gestures.append(
            SynthGesture(
                gesture,
                vocab.classes[gesture].name,
                frame,
                frame + length - 1,
                _style(rng, gesture, length),
                x,
                dist,
            )
        )
        frame += length + int(rng.integers(rmin, rmax + 1))
    return SynthTake(
        recording=recording,
        subject=subject,
        light=light,
        scene=scene,
        rig=rig,
        gestures=tuple(gestures),
        rgb_frames=frame,
        ir_offset_s=ir_offset,
        exposure=exposure,
        clocks=plan_clocks(
            capture,
            recording=recording,
            seed=seed,
            light=light,
            rgb_frames=frame,
            ir_fps=IR_FPS,
            ir_offset_s=ir_offset,
            spans=[(g.start, g.end) for g in gestures],
            depth_folder=depth_kind == "png",
        ),
        depth_kind=depth_kind,
        dark_noise=float(dark_noise),
        seed_words=(seed, stable_hash("noise:" + recording)),
        rgb_fps=fps,
    )
