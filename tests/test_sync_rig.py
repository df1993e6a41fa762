"""Segmentation against the synthesizer's oracle (`synth.truth.clip_expectation`): on takes
with a 30 -> 15 fps dark RGB, dropped IR frames, an IR dropout, depth timestamps with jitter
and image folders, every clip frame of every modality is the source frame the true timelines
give, and the gestures truth.json marks are rejected with `sync_gap` (`--fps source` and 25).
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mgrdark_data.cli import cli
from mgrdark_data.manifest import read_frame
from mgrdark_data.records import ClipRecord, FrameRecord, RejectRecord
from mgrdark_data.synth import clip_expectation, read_truth

ARGS = ["--subjects", "1", "--scenes", "1", "--scale", "0.0625", "--seed", "4"]
ARGS += ["--gesture-frames", "20", "28", "--rest-frames", "5", "8", "--rig", "kinect", "-q"]


@pytest.fixture(scope="module", params=["video", "folder"])
def raw(request, tmp_path_factory):
    raw = tmp_path_factory.mktemp(f"rig_{request.param}") / "RAW"
    extra = ["--stream-format", "folder", "--label-seconds"] if request.param == "folder" else []
    result = CliRunner().invoke(cli, ["synth", str(raw), *ARGS, *extra])
    assert result.exit_code == 0, result.output
    return raw


@pytest.mark.parametrize("fps", ["source", "25"])
def test_every_clip_frame_is_the_oracles_source_frame(raw, tmp_path, fps):
    data = tmp_path / "data"
    args = ["segment", str(raw), "--ann", str(raw / "labels.csv"), "-d", str(data)]
    result = CliRunner().invoke(cli, [*args, "--align", "none", "--fps", fps, "--workers", "1"])
    assert result.exit_code == 0, result.output
    truth = read_truth(raw / "truth.json")
    clips = read_frame(data / "manifest/clips.parquet", ClipRecord).set_index("clip_id")
    rejects = read_frame(data / "manifest/rejects.parquet", RejectRecord)
    frames = read_frame(data / "manifest/frames.parquet", FrameRecord)
    expected_rejects = 0
    for rid, entry in truth["recordings"].items():
        for g in entry["gestures"]:
            want = clip_expectation(
                truth, rid, g["start_frame"], g["end_frame"], fps=None if fps == "source" else 25
            )
            assert want.reject == g["expect_reject"]
            clip_id = f"{rid.replace('/', '__')}__{g['start_frame']:06d}_{g['end_frame']:06d}"
            if want.reject:
                expected_rejects += 1
                row = rejects[(rejects.recording == rid) & (rejects.gesture == g["gesture"])]
                assert row.reason_code.tolist() == ["sync_gap"], (rid, g)
                assert row.reason.iloc[0].startswith(f"{want.gap_stream} has no frame within")
                assert clip_id not in clips.index
                continue
            clip = clips.loc[clip_id]
            got = frames[frames.clip_id == clip_id].sort_values("frame")
            assert clip.num_frames == len(want.times) == len(got)
            assert got.time_s.tolist() == pytest.approx([float(t) for t in want.times])
            for m, sources in want.sources.items():
                assert got[f"{m}_frame"].tolist() == sources, (rid, g["gesture"], m)
                assert clip[f"{m}_sync_error_ms"] == pytest.approx(
                    float(want.errors[m]) * 1000, abs=2e-3
                )
    assert len(rejects) == expected_rejects > 0
