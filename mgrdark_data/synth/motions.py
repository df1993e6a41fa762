"""Gesture motions: pure functions from a class, a phase and a style to a body pose.

A pose is a small skeleton in body-local units: lengths are fractions of the subject's height,
the origin is the pelvis, x points to the image right, y down and z toward the camera. The
subject faces the camera, so the subject's right arm (`_r`) is on the image left (x < 0).

Every class of the default vocabulary has one motion here, chosen to be recognisable from a
silhouette (so IR alone suffices) and varied per instance by a `GestureStyle`. Classes that the
vocabulary pairs as mirrors (`turn left` / `turn right`) are defined once and obtained from
each other by `mirror_pose`, so one is exactly the horizontal mirror image of the other.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

JOINTS = (
    "head",
    "neck",
    "pelvis",
    "shoulder_r",
    "elbow_r",
    "hand_r",
    "shoulder_l",
    "elbow_l",
    "hand_l",
    "hip_r",
    "foot_r",
    "hip_l",
    "foot_l",
)
J = {name: i for i, name in enumerate(JOINTS)}
_MIRROR_PERM = [J[n.replace("_r", "_L").replace("_l", "_r").replace("_L", "_l")] for n in JOINTS]
_UPPER = [J[n] for n in JOINTS if not n.startswith(("foot", "hip", "pelvis"))]
"""Joints that sway while standing (the feet stay on the floor)."""
ARM_SIDE = {"r": -1.0, "l": 1.0}
"""Image-x direction pointing away from the body for each arm (the right arm is image-left)."""

UP = -math.pi / 2
"""Finger angle (image plane, radians, y down) of fingers pointing up."""


@dataclass(frozen=True)
class BodyShape:
    """Proportions of one subject, in fractions of body height unless stated otherwise."""

    height_mm: float
    shoulder: float = 0.12
    """Half the shoulder width."""
    hip: float = 0.055
    head_r: float = 0.062
    upper_arm: float = 0.165
    forearm: float = 0.16


@dataclass(frozen=True)
class GestureStyle:
    """How one instance performs its class: the variation a model must generalise over."""

    amplitude: float = 1.0
    """Scales the extent of the motion (about 0.8-1.2)."""
    cycles: int = 2
    """Repetitions of a repetitive motion (pushes, sweeps, scans, circles)."""
    arm: str = "r"
    """Active arm, 'r' or 'l' (ignored by classes whose mirror is another class)."""
    gamma: float = 1.0
    """Phase warp q = p**gamma: below 1 the motion runs early, above 1 late."""
    lift: float = 0.0
    """Vertical offset of the hand targets."""
    reach: float = 0.0
    """Offset of the hand targets toward the camera."""
    direction: int = 1
    """+1 or -1: sense of rotation of circular motions."""


@dataclass(frozen=True)
class Pose:
    """A skeleton at one instant (see the module docstring for units and axes)."""

    joints: np.ndarray
    """(len(JOINTS), 3) joint positions."""
    hands: tuple[str, str] = ("fist", "fist")
    """Hand shapes (right, left): 'fist', 'open' (palm with four fingers) or 'point'."""
    fingers: tuple[float, float] = (UP, UP)
    """Finger direction in the image plane for (right, left), radians, y down."""
    yaw: float = 0.0
    """Head turn in [-1, 1]; positive looks toward the image right."""


def mirror_pose(pose: Pose) -> Pose:
    """The pose seen in a horizontal mirror: x negated, right and left swapped."""
    joints = pose.joints[_MIRROR_PERM].copy()
    joints[:, 0] *= -1
    fr, fl = pose.fingers
    return Pose(
        joints,
        hands=(pose.hands[1], pose.hands[0]),
        fingers=(math.pi - fl, math.pi - fr),
        yaw=-pose.yaw,
    )


def rest_pose(body: BodyShape) -> Pose:
    """Standing upright, arms hanging slightly in front of the hips."""
    return Pose(_rest_joints(body).copy())


@functools.lru_cache(maxsize=64)
def _rest_joints(body: BodyShape) -> np.ndarray:
    # Cached: every frame of every instance starts from it. Read-only, so no caller can
    # change the cached copy.
    j = np.zeros((len(JOINTS), 3))
    j[J["head"]] = (0.0, -0.405, 0.0)
    j[J["neck"]] = (0.0, -0.33, 0.0)
    for arm, side in ARM_SIDE.items():
        shoulder = np.array((side * body.shoulder, -0.29, 0.0))
        j[J[f"shoulder_{arm}"]] = shoulder
        j[J[f"hand_{arm}"]] = shoulder + (side * 0.035, 0.30, 0.035)
        j[J[f"hip_{arm}"]] = (side * body.hip, 0.0, 0.0)
        j[J[f"foot_{arm}"]] = (side * (body.hip + 0.02), 0.53, 0.0)
    _solve_elbows(j, body)
    j.setflags(write=False)
    return j


def _solve_elbows(j: np.ndarray, body: BodyShape) -> None:
    """Place both elbows by two-bone IK, bending outward, down and back (in place)."""
    a, b = body.upper_arm, body.forearm
    for arm, side in ARM_SIDE.items():
        s, h = j[J[f"shoulder_{arm}"]], j[J[f"hand_{arm}"]]
        r = h - s
        length = float(np.linalg.norm(r))
        reach = 0.995 * (a + b)
        if length > reach:
            # An unreachable target straightens the arm toward it rather than tearing it.
            r *= reach / length
            length = reach
            j[J[f"hand_{arm}"]] = s + r
        length = max(length, 1e-6)
        axis = r / length
        t = (a * a - b * b + length * length) / (2 * length)
        rise = math.sqrt(max(a * a - t * t, 0.0))
        hint = np.array((side * 1.0, 0.6, -0.5))
        normal = hint - hint.dot(axis) * axis
        norm = float(np.linalg.norm(normal))
        normal = normal / norm if norm > 1e-9 else np.array((side, 0.0, 0.0))
        j[J[f"elbow_{arm}"]] = s + t * axis + rise * normal


def _smooth(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3 - 2 * x)


def envelope(p: float, attack: float = 0.2) -> float:
    """0 at both ends of the gesture, 1 in the middle: the arm leaves and returns to rest."""
    return _smooth(p / attack) * _smooth((1 - p) / attack)


def _pulse(q: float, cycles: int) -> float:
    """`cycles` smooth 0 -> 1 -> 0 repetitions over q in [0, 1]."""
    return 0.5 * (1 - math.cos(2 * math.pi * cycles * q))


@dataclass
class _Targets:
    """What a motion asks for: hand targets (absolute, body-local) and extras."""

    hands: dict[str, np.ndarray]
    shapes: dict[str, str]
    fingers: dict[str, float]
    yaw: float = 0.0
    head_dx: float = 0.0


def _rel(body: BodyShape, arm: str, out: float, dy: float, dz: float) -> np.ndarray:
    """A point relative to `arm`'s shoulder; `out` > 0 moves away from the body."""
    side = ARM_SIDE[arm]
    return np.array((side * (body.shoulder + out), -0.29 + dy, dz))


def _outward(arm: str) -> float:
    return 0.0 if ARM_SIDE[arm] > 0 else math.pi


def _forward(q: float, b: BodyShape, s: GestureStyle) -> _Targets:
    push = _pulse(q, s.cycles) * s.amplitude
    hand = _rel(b, s.arm, -0.05, 0.13 - 0.12 * push + s.lift, 0.12 + 0.17 * push + s.reach)
    return _Targets({s.arm: hand}, {s.arm: "open"}, {s.arm: UP})


def _backward(q: float, b: BodyShape, s: GestureStyle) -> _Targets:
    # Both palms shoo away from the body at waist height: two hands, low, unlike `forward`.
    push = _pulse(q, s.cycles) * s.amplitude
    hands = {arm: _rel(b, arm, -0.02, 0.21 + s.lift, 0.08 + 0.16 * push + s.reach) for arm in "rl"}
    return _Targets(hands, dict.fromkeys("rl", "open"), dict.fromkeys("rl", UP))


def _stop(q: float, b: BodyShape, s: GestureStyle) -> _Targets:
    tremor = 0.004 * math.sin(2 * math.pi * 6 * q)
    hand = _rel(b, s.arm, 0.08, -0.15 * s.amplitude + s.lift + tremor, 0.14 + s.reach)
    return _Targets({s.arm: hand}, {s.arm: "open"}, {s.arm: UP})


def _keep_down(q: float, b: BodyShape, s: GestureStyle) -> _Targets:
    press = _pulse(q, s.cycles) * s.amplitude
    hand = _rel(b, s.arm, 0.10, 0.07 + 0.13 * press + s.lift, 0.20 + s.reach)
    return _Targets({s.arm: hand}, {s.arm: "open"}, {s.arm: _outward(s.arm)})


def _turn_right(q: float, b: BodyShape, s: GestureStyle) -> _Targets:
    # The subject's right arm sweeps from pointing at the camera to pointing sideways.
    theta = 0.5 * math.pi * min(1.0, 0.85 + 0.15 * s.amplitude) * _pulse(q, s.cycles)
    reach = 0.30
    hand = _rel(b, "r", reach * math.sin(theta), -0.01 + s.lift, reach * math.cos(theta) + s.reach)
    return _Targets({"r": hand}, {"r": "point"}, {"r": _outward("r")})


def _upward(q: float, b: BodyShape, s: GestureStyle) -> _Targets:
    lift = _pulse(q, s.cycles) * s.amplitude
    hands = {arm: _rel(b, arm, 0.07, -0.02 - 0.25 * lift + s.lift, 0.07 + s.reach) for arm in "rl"}
    return _Targets(hands, dict.fromkeys("rl", "open"), dict.fromkeys("rl", UP))


def _look_for(q: float, b: BodyShape, s: GestureStyle) -> _Targets:
    # Hand shading the eyes while the head scans from side to side; the hand follows the head.
    yaw = 0.7 * s.amplitude * math.sin(2 * math.pi * s.cycles * q)
    hand = _rel(b, s.arm, -b.shoulder + 0.03, -0.135 + s.lift * 0.3, 0.10)
    hand[0] += 0.03 * yaw
    inward = math.pi - _outward(s.arm)
    return _Targets({s.arm: hand}, {s.arm: "open"}, {s.arm: inward}, yaw=yaw, head_dx=0.012 * yaw)


def _quiet(q: float, b: BodyShape, s: GestureStyle) -> _Targets:
    # Index finger on the lips: the hand sits at the mouth, in front of the face.
    tremor = 0.003 * math.sin(2 * math.pi * 4 * q)
    hand = np.array((ARM_SIDE[s.arm] * 0.008, -0.37 + tremor, b.head_r + 0.03))
    return _Targets({s.arm: hand}, {s.arm: "point"}, {s.arm: UP})


def _circle(q: float, b: BodyShape, s: GestureStyle) -> _Targets:
    angle = 2 * math.pi * s.cycles * q * s.direction
    radius = 0.085 * s.amplitude
    centre = _rel(b, s.arm, 0.03, 0.12 + s.lift, 0.22 + s.reach)
    hand = centre + (radius * math.sin(angle), -radius * math.cos(angle) + radius, 0.0)
    return _Targets({s.arm: hand}, {s.arm: "point"}, {s.arm: UP})


Motion = Callable[[float, BodyShape, GestureStyle], _Targets]

MOTIONS: tuple[Motion | None, ...] = (
    _forward,  # 0 forward
    _backward,  # 1 backward
    _stop,  # 2 stop
    _keep_down,  # 3 keep down
    None,  # 4 turn left: the mirror image of turn right
    _turn_right,  # 5 turn right
    _upward,  # 6 upward
    _look_for,  # 7 look for
    _quiet,  # 8 quiet
    _circle,  # 9 unnamed 10th class: a circle drawn in the air
)
"""Motion of each class id of the default vocabulary (`mgrdark_data/resources/classes.csv`)."""

MIRRORED_FROM: dict[int, int] = {4: 5}
"""Classes defined as the horizontal mirror image of another class."""

SINGLE_ARM_CLASSES = frozenset({0, 2, 3, 7, 8, 9})
"""Classes performed with one arm of the performer's choice (`GestureStyle.arm`)."""


def gesture_pose(gesture: int, p: float, body: BodyShape, style: GestureStyle) -> Pose:
    """The pose at phase `p` in [0, 1] of an instance of class id `gesture`.

    At p = 0 and p = 1 the pose is the rest pose, so consecutive instances join smoothly.
    """
    if gesture in MIRRORED_FROM:
        mirrored = replace(style, arm="l" if style.arm == "r" else "r")
        return mirror_pose(gesture_pose(MIRRORED_FROM[gesture], p, body, mirrored))
    motion = MOTIONS[gesture]
    if motion is None:
        raise ValueError(f"class id {gesture} has no motion")
    p = min(max(p, 0.0), 1.0)
    env = envelope(p)
    targets = motion(p**style.gamma, body, style)
    rest = rest_pose(body)
    j = rest.joints.copy()
    hands, fingers = list(rest.hands), list(rest.fingers)
    for arm, target in targets.hands.items():
        k = J[f"hand_{arm}"]
        j[k] = j[k] + env * (target - j[k])
        i = 0 if arm == "r" else 1
        # The hand opens or points only once it is well on its way.
        hands[i] = targets.shapes[arm] if env > 0.5 else "fist"
        fingers[i] = targets.fingers[arm]
    j[J["head"], 0] += env * targets.head_dx
    _solve_elbows(j, body)
    return Pose(
        j, hands=(hands[0], hands[1]), fingers=(fingers[0], fingers[1]), yaw=env * targets.yaw
    )


def with_idle(pose: Pose, t: float, phase: float) -> Pose:
    """Add the small motion of a person standing still: sway, breathing, head drift.

    Applied on top of every pose (gesture or rest) as a function of time, so it never jumps
    at the boundaries of an instance and never breaks the mirror symmetry of the motions.
    """
    j = pose.joints.copy()
    sway = 0.006 * math.sin(2 * math.pi * t / 3.7 + phase)
    j[_UPPER, 0] += sway
    j[_UPPER, 1] += 0.002 * math.sin(2 * math.pi * t / 4.3 + 2 * phase)
    yaw = pose.yaw + 0.08 * math.sin(2 * math.pi * t / 5.1 + 3 * phase)
    return Pose(j, hands=pose.hands, fingers=pose.fingers, yaw=max(-1.0, min(1.0, yaw)))
