"""Re-runs trust nothing they did not check, and the same input gives the same bytes with any
number of workers."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mgrdark_data.cli import cli as mgrdata
from mgrdark_data.manifest import read_frame
from mgrdark_data.media import read_clip_tag
from mgrdark_data.media.write import sha256_file
from mgrdark_data.records import ClipRecord
from mgrdark_data.testing import make_recording, write_annotations


def _mdat_offset(path: Path) -> int:
    """Offset of the middle of an MP4's media data (a byte there is picture, not structure)."""
    data = path.read_bytes()
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"mdat":
            return pos + 8 + (size - 8) // 2
        pos += size
    raise AssertionError(f"no mdat box in {path}")


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw")
    rows = []
    for r in range(2):
        rec = f"S0{r}/dark/hall"
        make_recording(raw, rec, rgb_frames=72, ir_frames=90, ir_fps=30)
        rows += [(rec, f"S0{r}", "stop", s, s + 19) for s in range(0, 72, 24)]
    write_annotations(raw / "labels.csv", rows)
    return raw


def _segment(raw: Path, data: Path, *extra: str):
    args = ["segment", str(raw), "--ann", str(raw / "labels.csv"), "-d", str(data), "-q"]
    result = CliRunner().invoke(mgrdata, [*args, "--align", "none", *extra])
    assert result.exit_code == 0, result.output
    return result


def test_a_rerun_recuts_a_clip_whose_bytes_no_longer_match_the_manifest(raw, tmp_path):
    data = tmp_path / "data"
    _segment(raw, data, "--workers", "1")
    before = read_frame(data / "manifest/clips.parquet", ClipRecord)
    row = before.iloc[1]
    clip = data / row["rgb_path"]
    blob = bytearray(clip.read_bytes())
    at = _mdat_offset(clip)
    blob[at] ^= 0xFF
    clip.write_bytes(bytes(blob))
    assert read_clip_tag(clip) is not None  # the tag alone cannot tell
    assert sha256_file(clip) != row["rgb_sha256"]

    again = _segment(raw, data, "--workers", "1")
    assert (
        f"note: re-cut 1 clip(s) whose bytes no longer match the manifest ({row['rgb_path']})"
        in again.output
    )
    files = 3 * len(before)
    assert f"clip files: 1 written, {files - 1} kept from an earlier run" in again.output
    after = read_frame(data / "manifest/clips.parquet", ClipRecord)
    assert after["rgb_sha256"].tolist() == before["rgb_sha256"].tolist()
    assert sha256_file(clip) == row["rgb_sha256"]
    check = CliRunner().invoke(mgrdata, ["validate", "-d", str(data)])
    assert check.exit_code == 0, check.output

    third = _segment(raw, data, "--workers", "1")  # nothing left to repair
    assert "re-cut" not in third.output
    assert f"clip files: 0 written, {files} kept" in third.output


def _hashes(data: Path) -> dict[str, str]:
    return {p.relative_to(data).as_posix(): sha256_file(p) for p in (data / "clips").rglob("*.m*")}


def _pinned_to_one_cpu() -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs sched_setaffinity")
def test_every_clip_has_the_same_bytes_with_any_workers_and_any_cpu_count(tmp_path):
    """Segment four times: 1 and 2 workers, on every CPU and pinned to one (as in a one-CPU
    cgroup or under `taskset`); every clip file must have the same sha256. Frames of 320x240:
    x264 caps its threads by the frame height, so tiny frames would hide the difference."""
    raw = tmp_path / "raw"
    make_recording(raw, "S00/dark/hall", rgb_frames=48, rgb_size=(320, 240), ir_size=(160, 120))
    rows = [("S00/dark/hall", "S00", "stop", s, s + 19) for s in (0, 24)]
    write_annotations(raw / "labels.csv", rows)
    runs = {}
    for workers, pin in [
        ("1", None),
        ("2", None),
        ("1", _pinned_to_one_cpu),
        ("2", _pinned_to_one_cpu),
    ]:
        data = tmp_path / f"w{workers}{'pinned' if pin else ''}"
        args = ["segment", str(raw), "--ann", str(raw / "labels.csv"), "-d", str(data), "-q"]
        done = subprocess.run(
            [sys.executable, "-m", "mgrdark_data", *args, "--workers", workers],
            capture_output=True,
            text=True,
            preexec_fn=pin,
        )
        assert done.returncode == 0, done.stderr
        runs[data.name] = _hashes(data)
    assert len(runs["w1"]) == 6
    for name, hashes in runs.items():
        assert hashes == runs["w1"], name


@pytest.mark.parametrize("verify", ["decode", "packets"])
def test_a_rerun_rechecks_a_clip_without_a_record_as_the_run_verifies(raw, tmp_path, verify):
    """A run killed before its manifest leaves clips without records: the re-run keeps each
    only if it passes the run's own check again (the tag alone cannot tell a damaged file).
    Decoding finds a flipped byte; counting packets (`--verify packets`, the cheaper check the
    user chose) does not, so that clip is kept, as that run would have written it."""
    data = tmp_path / "data"
    _segment(raw, data, "--workers", "1", "--verify", verify)
    before = read_frame(data / "manifest/clips.parquet", ClipRecord)
    (data / "manifest/clips.parquet").unlink()  # as if killed before writing it
    row = before.iloc[2]
    clip = data / row["ir_path"]
    blob = bytearray(clip.read_bytes())
    blob[_mdat_offset(clip)] ^= 0xFF
    clip.write_bytes(bytes(blob))
    assert read_clip_tag(clip) is not None

    again = _segment(raw, data, "--workers", "1", "--verify", verify)
    files = 3 * len(before)
    if verify == "packets":
        assert "re-cut" not in again.output
        assert f"clip files: 0 written, {files} kept from an earlier run" in again.output
        return
    assert (
        "note: re-cut 1 clip(s) without a manifest record that no longer pass verification "
        f"({row['ir_path']})" in again.output
    )
    assert f"clip files: 1 written, {files - 1} kept from an earlier run" in again.output
    after = read_frame(data / "manifest/clips.parquet", ClipRecord)
    assert after["ir_sha256"].tolist() == before["ir_sha256"].tolist()
    assert sha256_file(clip) == row["ir_sha256"]
