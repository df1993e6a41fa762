"""The rendered person: a pose placed in the world and projected into drawing shapes.

Shapes are in scene coordinates (RGB pixels) and carry what every modality needs: an RGB
colour (reflectance), an IR level (heat) and a distance in millimetres. Each camera then draws
the same figure through its own map (`render.py`), so all three views show one person.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .cameras import Optics
from .motions import BodyShape, J, Pose

PELVIS_HEIGHT = 0.53
"""Pelvis above the floor, as a fraction of body height (the feet are at y = +0.53)."""

_FINGER_SPREAD = (-0.45, -0.15, 0.15, 0.45)


@dataclass(frozen=True)
class Look:
    """What a subject looks like to each camera."""

    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    shirt: tuple[int, int, int]
    pants: tuple[int, int, int]
    long_sleeves: bool
    heat_skin: int
    """IR level (0-255) of exposed skin; the face is a little warmer, the hands a little cooler."""
    heat_shirt: int
    heat_pants: int
    heat_hair: int


@dataclass(frozen=True)
class Figure:
    """The person as filled shapes in scene coordinates, in back-to-front drawing order.

    Shapes are stored as parallel sequences (one entry per shape) over one point array, so a
    camera can transform every point with one array operation.
    """

    kinds: tuple[str, ...]
    """'line' (thick, round ends), 'circle', 'poly' (convex) or 'cap' (upper half-disc)."""
    spans: tuple[tuple[int, int], ...]
    """Rows of `points` of each shape: line ends, a centre, or polygon corners."""
    points: np.ndarray
    """(N, 2) scene pixels."""
    sizes: np.ndarray
    """Line thickness or radius of each shape, scene pixels."""
    depth_mm: np.ndarray
    """Distance of each shape from the camera."""
    rgb: tuple[tuple[int, int, int], ...]
    ir: tuple[int | None, ...]
    """IR level, or None where a shape has no thermal signature of its own (eyes)."""

    def point_radii(self) -> np.ndarray:
        """The size of its shape for every point (for bounding boxes)."""
        counts = [b - a for a, b in self.spans]
        return np.repeat(self.sizes, counts)


def _world(
    pose: Pose, body: BodyShape, optics: Optics, x0_mm: float, dist_mm: float, local: np.ndarray
) -> np.ndarray:
    """Body-local points (..., 3) -> world millimetres."""
    h = body.height_mm
    x = x0_mm + local[..., 0] * h
    y = optics.height_mm - PELVIS_HEIGHT * h + local[..., 1] * h
    z = dist_mm - local[..., 2] * h
    return np.stack([x, y, z], axis=-1)


def person_figure(
    pose: Pose, body: BodyShape, look: Look, optics: Optics, x0_mm: float, dist_mm: float
) -> Figure:
    """The person's shapes, ordered back to front (draw in this order).

    Args:
        pose: the skeleton to draw.
        body: proportions and height.
        look: colours and heat.
        optics: RGB projection into scene pixels.
        x0_mm: lateral position of the pelvis.
        dist_mm: distance of the body plane from the camera.
    """
    h = body.height_mm
    joints = pose.joints
    extra: list[np.ndarray] = []
    # Torso corners, a little wider than the joints so the arms overlap the body outline.
    sr, sl = joints[J["shoulder_r"]], joints[J["shoulder_l"]]
    hr, hl = joints[J["hip_r"]], joints[J["hip_l"]]
    extra += [
        sr + (-0.015, -0.01, 0),
        sl + (0.015, -0.01, 0),
        hl + (0.035, 0.03, 0),
        hr + (-0.035, 0.03, 0),
    ]
    head = joints[J["head"]]
    extra += [head + (0, -0.012, 0)]
    for sign in (-1, 1):
        extra.append(head + (sign * 0.022 + 0.03 * pose.yaw, -0.004, 0.05))
    for i, arm in enumerate("rl"):
        hand = joints[J[f"hand_{arm}"]]
        shape, angle = pose.hands[i], pose.fingers[i]
        spreads = _FINGER_SPREAD if shape == "open" else (0.0,) if shape == "point" else ()
        length = 0.055 if shape == "open" else 0.065
        for da in spreads:
            extra.append(hand + (length * math.cos(angle + da), length * math.sin(angle + da), 0))
    local = np.concatenate([joints, np.array(extra)], axis=0)
    world = _world(pose, body, optics, x0_mm, dist_mm, local)
    px = optics.project(world)
    z = world[:, 2]
    scale = optics.focal * h / z  # scene pixels per unit of body height at each point

    shapes: list[
        tuple[float, int, str, list[int], float, float, tuple[int, int, int], int | None]
    ] = []

    def add(
        kind: str,
        idx: list[int],
        size: float,
        depth: float,
        rgb: tuple[int, int, int],
        ir: int | None,
        bias: float = 0.0,
    ) -> None:
        # `bias` (mm) moves a shape earlier or later in the drawing order without changing its
        # depth value: arms are drawn over the torso unless they are clearly behind it.
        shapes.append((depth + bias, len(shapes), kind, idx, float(size), float(depth), rgb, ir))

    n = len(joints)
    for arm in "rl":
        hip, foot = J[f"hip_{arm}"], J[f"foot_{arm}"]
        add("line", [hip, foot], 0.075 * scale[hip], z[hip] + 5, look.pants, look.heat_pants)
    torso = [n, n + 1, n + 2, n + 3]
    add("poly", torso, 0.0, float(z[J["pelvis"]]) - 0.04 * h, look.shirt, look.heat_shirt)
    neck, hd = J["neck"], J["head"]
    add("line", [neck, hd], 0.05 * scale[neck], z[neck], look.skin, look.heat_skin - 4)
    add("circle", [hd], body.head_r * scale[hd], z[hd] - 0.06 * h, look.skin, look.heat_skin + 6)
    add("cap", [n + 4], body.head_r * 1.08 * scale[hd], z[hd] - 0.05 * h, look.hair, look.heat_hair)
    for e in (n + 5, n + 6):
        add("circle", [e], 0.008 * scale[e], z[hd] - 0.07 * h, (35, 25, 20), None)
    k = n + 7
    for i, arm in enumerate("rl"):
        s, e, w = J[f"shoulder_{arm}"], J[f"elbow_{arm}"], J[f"hand_{arm}"]
        sleeve = look.shirt if look.long_sleeves else look.skin
        sleeve_heat = look.heat_shirt + 6 if look.long_sleeves else look.heat_skin - 6
        bias = -0.12 * h
        add(
            "line",
            [s, e],
            0.05 * scale[s],
            (z[s] + z[e]) / 2,
            look.shirt,
            look.heat_shirt + 4,
            bias,
        )
        add("line", [e, w], 0.042 * scale[e], (z[e] + z[w]) / 2 - 1, sleeve, sleeve_heat, bias)
        add("circle", [w], 0.03 * scale[w], z[w] - 2, look.skin, look.heat_skin - 3, bias)
        shape = pose.hands[i]
        count = 4 if shape == "open" else 1 if shape == "point" else 0
        for f in range(count):
            add("line", [w, k + f], 0.013 * scale[w], z[w] - 3, look.skin, look.heat_skin - 5, bias)
        k += count
    shapes.sort(key=lambda t: (-t[0], t[1]))
    order = [i for shape in shapes for i in shape[3]]
    spans, start = [], 0
    for shape in shapes:
        spans.append((start, start + len(shape[3])))
        start += len(shape[3])
    return Figure(
        kinds=tuple(t[2] for t in shapes),
        spans=tuple(spans),
        points=px[order],
        sizes=np.array([t[4] for t in shapes]),
        depth_mm=np.array([t[5] for t in shapes]),
        rgb=tuple(t[6] for t in shapes),
        ir=tuple(t[7] for t in shapes),
    )
