"""A broken optional stream (IR, depth) leaves only that modality out, with the decoder's
message; a truncated file is named as truncated."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mgrdark_data.cli import cli as mgrdata
from mgrdark_data.manifest import read_frame
from mgrdark_data.media.probe import probe_stream
from mgrdark_data.records import ClipRecord, RecordingRecord, RejectRecord
from mgrdark_data.testing import make_recording, write_annotations


def _raw(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    rows = []
    for r in range(2):
        make_recording(raw, f"S0{r}/dark/hall", rgb_frames=72)
        rows += [(f"S0{r}/dark/hall", f"S0{r}", "stop", s, s + 19) for s in (0, 24, 48)]
    write_annotations(raw / "labels.csv", rows)
    return raw


def _segment(raw: Path, data: Path):
    args = ["segment", str(raw), "--ann", str(raw / "labels.csv"), "-d", str(data), "-q"]
    result = CliRunner().invoke(mgrdata, [*args, "--workers", "1"])
    assert result.exit_code == 0, result.output
    clips = read_frame(data / "manifest/clips.parquet", ClipRecord).set_index("clip_id")
    recs = read_frame(data / "manifest/recordings.parquet", RecordingRecord)
    return result.output, clips, recs.set_index("recording")


@pytest.mark.parametrize("name", ["ir.mp4", "depth.mkv"])
def test_an_empty_optional_stream_leaves_only_its_modality_out(tmp_path, name):
    raw = _raw(tmp_path)
    (raw / "S00/dark/hall" / name).write_bytes(b"")
    output, clips, recs = _segment(raw, tmp_path / "data")
    m = name.split(".")[0]
    other = "depth" if m == "ir" else "ir"
    assert len(clips) == 6  # nothing rejected
    broken = clips[clips["recording"] == "S00/dark/hall"]
    assert broken[f"{m}_path"].isna().all()
    assert broken["rgb_path"].notna().all() and broken[f"{other}_path"].notna().all()
    assert clips.loc[clips["recording"] == "S01/dark/hall", f"{m}_path"].notna().all()
    error = recs.loc["S00/dark/hall", f"{m}_error"]
    assert error == f"{raw / 'S00/dark/hall' / name}: [Errno 1094995529] Invalid data found " + (
        f"when processing input: '{raw / 'S00/dark/hall' / name}'"
    )
    assert f"warning: S00/dark/hall: {error}" in output
    assert output.count(error) == 1  # once, not again as the alignment's note
    assert pd.isna(recs.loc["S00/dark/hall", f"{m}_file"])
    assert recs["truncated"].isna().all()


def _faststart_copy(src: Path, dst: Path) -> None:
    """The same packets in an MP4 whose index (moov) comes first, as cameras write them."""
    with (
        av.open(str(src)) as inp,
        av.open(str(dst), "w", options={"movflags": "+faststart"}) as out,
    ):
        stream = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(inp.streams.video[0]):
            if packet.size:
                packet.stream = stream
                out.mux(packet)


def _noisy_ir(path: Path, frames: int) -> None:
    """An IR video whose frames are all about the same size (noise), so that half the file is
    about half the frames."""
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"qp": "10", "preset": "ultrafast", "bframes": "0"}
        for _ in range(frames):
            img = rng.integers(0, 255, (48, 64), np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="gray")))
        out.mux(stream.encode(None))


def test_a_truncated_stream_is_reported_as_truncated(tmp_path):
    raw = _raw(tmp_path)
    folder = raw / "S00/dark/hall"
    _noisy_ir(tmp_path / "whole.mp4", 72)
    _faststart_copy(tmp_path / "whole.mp4", folder / "ir.mp4")
    blob = (folder / "ir.mp4").read_bytes()
    (folder / "ir.mp4").write_bytes(blob[: len(blob) // 2])
    info = probe_stream(folder / "ir.mp4")
    assert info.declared_frames == 72 and 20 < info.frames < 48
    note = f"ir.mp4 is truncated: container says 72 frames, {info.frames} in the file"
    assert info.truncated == note

    output, clips, recs = _segment(raw, tmp_path / "data")
    assert f"warning: S00/dark/hall: {note}" in output
    assert recs.loc["S00/dark/hall", "truncated"] == note
    assert pd.isna(recs.loc["S01/dark/hall", "truncated"])
    assert recs.loc["S00/dark/hall", "ir_frames"] == info.frames
    # The first gesture lies inside the frames the file still holds: cut with IR.
    first = clips.loc["S00__dark__hall__000000_000019"]
    assert first["ir_path"] == "clips/ir/S00__dark__hall__000000_000019.mp4"
    rejects = read_frame(tmp_path / "data/manifest/rejects.parquet", RejectRecord)
    assert set(rejects["recording"]) == {"S00/dark/hall"}
