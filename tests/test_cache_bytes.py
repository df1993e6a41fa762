"""`mgrtrain prepare` writes the same cache bytes on any number of CPUs."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mgrdark_train.testing import ClipSpec, write_dataset_root


def _pinned_to_one_cpu() -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def _hashes(cache: Path) -> dict[str, str]:
    return {
        p.relative_to(cache).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(cache.rglob("*"))
        if p.is_file() and p.suffix in (".mp4", ".mkv")
    }


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs sched_setaffinity")
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 CPUs to compare with 1")
def test_h264_cache_has_the_same_bytes_on_one_cpu_as_on_every_cpu(tmp_path):
    """x264 slices each frame by its thread count, which 'auto' takes from the CPUs the process
    may use; the cache encoder fixes it (ENCODER_THREADS), so a cache built in a one-CPU job
    equals one built on the whole machine. 256 px: x264 caps its threads by the frame height,
    so tiny frames would hide the difference."""
    specs = [ClipSpec("S01", 4, 12), ClipSpec("S01", 0, 10)]
    sizes = {"rgb": (320, 256), "ir": (320, 256), "depth": (32, 24)}
    runs = {}
    for name, pin in (("all", None), ("one", _pinned_to_one_cpu)):
        root = write_dataset_root(tmp_path / name, specs, {"S01": "train"}, sizes=sizes)
        args = ["prepare", "-d", str(root.root), "--size", "256", "--format", "h264", "-q"]
        args += ["--modality", "rgb", "--modality", "ir"]
        done = subprocess.run(
            [sys.executable, "-m", "mgrdark_train", *args],
            capture_output=True,
            text=True,
            preexec_fn=pin,
        )
        assert done.returncode == 0, done.stderr
        runs[name] = _hashes(root.root / "cache")
    assert len(runs["all"]) == 4
    assert runs["one"] == runs["all"]
