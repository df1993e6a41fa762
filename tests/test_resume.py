"""A run killed at any moment leaves nothing that looks finished, and a re-run completes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mgrdark_data.manifest import read_frame
from mgrdark_data.media import count_decoded_frames, read_clip_tag
from mgrdark_data.records import ClipRecord
from mgrdark_data.testing import make_recording, write_annotations


def _finished(data: Path) -> list[Path]:
    """Clip files under their final names (temporary files are hidden, '.name.PID.tmp')."""
    return [p for p in (data / "clips").rglob("*") if p.is_file() and not p.name.startswith(".")]


def _segment_cmd(raw: Path, ann: Path, data: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mgrdark_data",
        "segment",
        str(raw),
        "--ann",
        str(ann),
        "-d",
        str(data),
        "--align",
        "none",
        "--workers",
        "1",
        "-q",
    ]


@pytest.fixture(scope="module")
def workload(tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw")
    rows = []
    for r in range(2):
        rec = f"S0{r}/dark/hall"
        make_recording(
            raw,
            rec,
            rgb_frames=240,
            rgb_size=(320, 240),
            depth="video",
            ir_fps=30,
            ir_frames=300,
            ir_size=(160, 120),
        )
        rows += [(rec, f"S0{r}", "stop", s, s + 19) for s in range(0, 240, 24)]
    ann = write_annotations(raw / "labels.csv", rows)
    reference = tmp_path_factory.mktemp("reference")
    subprocess.run(_segment_cmd(raw, ann, reference), check=True, capture_output=True)
    return raw, ann, read_frame(reference / "manifest/clips.parquet", ClipRecord)


def test_kill_then_rerun_matches_an_uninterrupted_run(workload, tmp_path):
    raw, ann, reference = workload
    data = tmp_path / "data"
    proc = subprocess.Popen(
        _segment_cmd(raw, ann, data), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if (data / "clips").exists() and len(_finished(data)) >= 3:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before it could be killed; make it longer"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    finished = _finished(data)
    assert 3 <= len(finished) < 3 * len(reference)
    assert not (data / "manifest/clips.parquet").exists()
    for path in finished:  # every file under a final name is complete and verified
        tag = read_clip_tag(path)
        assert tag is not None and count_decoded_frames(path) == int(tag.rsplit(":", 1)[1])

    done = subprocess.run(_segment_cmd(raw, ann, data), check=True, capture_output=True, text=True)
    resumed = read_frame(data / "manifest/clips.parquet", ClipRecord)
    diff = [c for c in reference.columns if not resumed[c].equals(reference[c])]
    assert diff == []
    assert f"clip files: {3 * len(reference) - len(finished)} written, {len(finished)} kept" in (
        done.stdout
    )
    leftovers = [p for p in (data / "clips").rglob(".*")]
    assert leftovers == [] or all(p.suffix == ".tmp" for p in leftovers)
