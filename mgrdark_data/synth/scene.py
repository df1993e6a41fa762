"""Rooms to record in: a wall, a floor and a few flat objects, seen by every camera.

A scene is described once in world millimetres and rendered per camera and modality: RGB
shows reflectance (colours, daylight shading), IR shows temperature (a cool room with a warm
radiator and a cold window, little texture), depth shows distance (the window glass returns
no depth, 0, as a Kinect's does). The shared geometry gives IR and RGB common edges; the
different content makes IR a different image of the same room, not a grey copy of RGB.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import cv2
import numpy as np

from .cameras import Camera, Optics

SCENE_NAMES = ("hall", "lab", "office", "corridor", "garage", "studio", "kitchen", "library")


def scene_names(count: int) -> list[str]:
    """The first `count` scene names (numbered once the list runs out)."""
    names = list(SCENE_NAMES[:count])
    names += [f"room{i + 1}" for i in range(count - len(names))]
    return names


def stable_hash(text: str) -> int:
    """A seed word from a string that, unlike `hash()`, is the same in every process."""
    return zlib.crc32(text.encode("utf-8"))


@dataclass(frozen=True)
class Box:
    """A flat rectangle facing the camera (door, window, cabinet, poster, radiator)."""

    x0_mm: float
    x1_mm: float
    bottom_mm: float
    """Height of the lower edge above the floor."""
    top_mm: float
    dist_mm: float
    rgb: tuple[int, int, int]
    ir: int
    depth_valid: bool = True
    """False for surfaces a time-of-flight camera cannot measure (glass): depth 0."""
    window: bool = False
    """Glass to the outside: bright sky by day, dark at night."""


@dataclass(frozen=True)
class Scene:
    """One room and where the IR camera stood in it."""

    name: str
    wall_mm: float
    wall_rgb: tuple[int, int, int]
    floor_rgb: tuple[int, int, int]
    wall_ir: int
    floor_ir: int
    boxes: tuple[Box, ...]
    ir_scale_full: float
    """RGB pixels per IR pixel at full resolution."""
    ir_shift_full: tuple[float, float]
    """IR pixel (0, 0) in full-resolution RGB pixels."""
    texture_seed: int


def _colour(rng: np.random.Generator, lo: int, hi: int) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(lo, hi, 3))  # type: ignore[return-value]


def make_scene(name: str, seed: int) -> Scene:
    """A seeded room: the same `name` and `seed` always give the same scene."""
    rng = np.random.default_rng([seed, stable_hash("scene:" + name)])
    wall = float(rng.uniform(4700, 5600))
    wall_ir = int(rng.integers(72, 92))
    half = 0.85 * wall  # the wall span the RGB camera sees is about +-0.9 * distance
    boxes: list[Box] = []
    x = float(rng.uniform(-half, -0.3 * half))
    boxes.append(Box(x, x + 900, 0, 2050, wall - 20, _colour(rng, 90, 200), wall_ir - 2))
    x = float(rng.uniform(0.0, 0.5 * half))
    width = float(rng.uniform(1200, 1800))
    boxes.append(Box(x, x + width, 950, 2150, wall, (200, 215, 235), wall_ir - 22, False, True))
    boxes.append(Box(x + 100, x + width - 100, 150, 750, wall - 120, (225, 225, 220), 158))
    for _ in range(int(rng.integers(1, 3))):
        x = float(rng.uniform(-half, half - 1000))
        top = float(rng.uniform(800, 1300))
        dist = wall - float(rng.uniform(350, 800))
        boxes.append(
            Box(
                x,
                x + float(rng.uniform(700, 1500)),
                0,
                top,
                dist,
                _colour(rng, 40, 180),
                wall_ir + int(rng.integers(-3, 4)),
            )
        )
    for _ in range(int(rng.integers(1, 4))):
        x = float(rng.uniform(-half, half - 600))
        bottom = float(rng.uniform(1000, 1500))
        boxes.append(
            Box(
                x,
                x + float(rng.uniform(400, 800)),
                bottom,
                bottom + float(rng.uniform(400, 800)),
                wall - 10,
                _colour(rng, 20, 250),
                wall_ir + 1,
            )
        )
    x = float(rng.uniform(-half, half - 500))
    boxes.append(Box(x, x + 450, 900, 1250, wall - 600, (30, 30, 35), 128))  # a warm monitor
    boxes.sort(key=lambda b: -b.dist_mm)
    scale = float(rng.uniform(0.82, 0.95))
    span_x, span_y = scale * 1408, scale * 1068
    shift_x = float(rng.uniform(180, max(200, 1920 - span_x - 120)))
    shift_y = float(rng.uniform(0, max(10, 1080 - span_y)))
    return Scene(
        name,
        wall,
        _colour(rng, 150, 225),
        _colour(rng, 70, 140),
        wall_ir,
        wall_ir - int(rng.integers(2, 8)),
        tuple(boxes),
        scale,
        (shift_x, shift_y),
        int(rng.integers(0, 2**31)),
    )


def _box_rect(box: Box, optics: Optics, cam: Camera) -> tuple[int, int, int, int]:
    """The camera pixels (x0, x1, y0, y1; half-open) a box covers."""
    u = optics.cx + optics.focal * np.array([box.x0_mm, box.x1_mm]) / box.dist_mm
    heights = np.array([box.top_mm, box.bottom_mm])
    v = optics.cy + optics.focal * (optics.height_mm - heights) / box.dist_mm
    cu = (u - cam.shift_x) / cam.scale
    cv = (v - cam.shift_y) / cam.scale
    x0, x1 = np.clip(np.ceil(cu).astype(int), 0, cam.width)
    y0, y1 = np.clip(np.ceil(cv).astype(int), 0, cam.height)
    return int(x0), int(x1), int(y0), int(y1)


def _low_frequency(rng: np.random.Generator, cam: Camera, cells: tuple[int, int]) -> np.ndarray:
    """Smooth random field in [-1, 1] at the camera's size."""
    grid = rng.uniform(-1, 1, (cells[1], cells[0])).astype(np.float32)
    return cv2.resize(grid, (cam.width, cam.height), interpolation=cv2.INTER_CUBIC)


def _floor_rows(scene: Scene, optics: Optics, cam: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Per camera row: floor visible (bool) and its distance (mm)."""
    dist = optics.floor_distance(cam.scene_rows())
    return dist < scene.wall_mm, dist


def rgb_background(
    scene: Scene, optics: Optics, cam: Camera, light: str, mean: float
) -> np.ndarray:
    """Reflectance image (uint8 RGB) of the empty room, scaled to a mean of `mean` (0-255)."""
    img = np.empty((cam.height, cam.width, 3), np.float32)
    img[:] = scene.wall_rgb
    floor, dist = _floor_rows(scene, optics, cam)
    # The floor darkens with distance a little: light falls off toward the wall.
    shade = np.clip(1.1 - 0.15 * dist / scene.wall_mm, 0.8, 1.1)[floor]
    img[floor] = np.asarray(scene.floor_rgb, np.float32) * shade[:, None, None]
    for box in scene.boxes:
        x0, x1, y0, y1 = _box_rect(box, optics, cam)
        colour = box.rgb if not (box.window and light == "dark") else (25, 30, 45)
        img[y0:y1, x0:x1] = colour
    rng = np.random.default_rng([scene.texture_seed, 1])
    light_field = 1.0 + 0.12 * _low_frequency(rng, cam, (5, 4))
    grain = rng.normal(0, 3.0, (cam.height, cam.width, 1)).astype(np.float32)
    img = img * light_field[..., None] + grain
    img *= mean / max(float(img.mean()), 1.0)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def ir_background(scene: Scene, optics: Optics, cam: Camera) -> np.ndarray:
    """Temperature image (uint8) of the empty room: cool, smooth, a few warm or cold objects."""
    img = np.full((cam.height, cam.width), scene.wall_ir, np.float32)
    floor, _ = _floor_rows(scene, optics, cam)
    img[floor] = scene.floor_ir
    for box in scene.boxes:
        x0, x1, y0, y1 = _box_rect(box, optics, cam)
        img[y0:y1, x0:x1] = box.ir
    rng = np.random.default_rng([scene.texture_seed, 2])
    img += 4.0 * _low_frequency(rng, cam, (7, 5))
    sigma = max(0.6, 1.5 * cam.width / 1408)
    img = cv2.GaussianBlur(img, (0, 0), sigma)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def depth_background(scene: Scene, optics: Optics, cam: Camera) -> np.ndarray:
    """Distance image (uint16 millimetres) of the empty room; 0 where depth is invalid."""
    img = np.full((cam.height, cam.width), scene.wall_mm, np.float32)
    floor, dist = _floor_rows(scene, optics, cam)
    img[floor] = dist[floor, None]
    for box in scene.boxes:
        x0, x1, y0, y1 = _box_rect(box, optics, cam)
        img[y0:y1, x0:x1] = box.dist_mm if box.depth_valid else 0
    return np.clip(img + 0.5, 0, 65535).astype(np.uint16)
