"""`mgrdata preview`: a contact sheet whose tiles show the source frames the manifest names."""

from __future__ import annotations

import cv2
import pytest
from click.testing import CliRunner

from mgrdark_data.cli import cli
from mgrdark_data.manifest import read_frame
from mgrdark_data.planning import SyncOptions
from mgrdark_data.preview import write_preview
from mgrdark_data.records import FrameRecord
from mgrdark_data.segment import segment_dataset
from mgrdark_data.testing import decode_index, make_recording, write_annotations

CLIP = "S01__dark__hall__000005_000030"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("preview")
    make_recording(
        tmp / "raw",
        "S01/dark/hall",
        rgb_frames=40,
        ir_fps=30,
        ir_frames=50,
        depth="png",
        sync={"ir_offset_s": 0.1},
    )
    ann = write_annotations(tmp / "l.csv", [("S01/dark/hall", "S01", "stop", 5, 30)])
    segment_dataset(
        tmp / "raw", ann, tmp / "data", align="none", workers=1, sync=SyncOptions.parse("20")
    )
    return tmp / "data"


def test_contact_sheet_tiles_show_the_frames_their_labels_name(data, tmp_path):
    sheet = write_preview(data, CLIP, tmp_path / "sheet.png", count=3)
    png = cv2.imread(str(sheet.path))[..., ::-1]
    frames = read_frame(data / "manifest/frames.parquet", FrameRecord)
    frames = frames[frames.clip_id == CLIP].set_index("frame")
    assert sheet.frames == [0, 10, 20] and len(frames) == 21  # 5..30 at 20 fps: 21 frames
    for k in sheet.frames:
        for m in ("rgb", "ir"):
            x, y, w, h = sheet.boxes[(k, m)]
            source = int(frames.loc[k, f"{m}_frame"])
            assert decode_index(png[y : y + h, x : x + w]) == source
            assert sheet.labels[(k, m)].startswith(f"{m} #{source} at ")
        assert (k, "depth") in sheet.boxes
    x, y, w, h = sheet.boxes[(20, "depth")]
    assert png.shape[0] >= y + h and png.shape[1] >= x + w
    error = frames.loc[10, "ir_error_ms"]
    assert sheet.labels[(10, "ir")].endswith(f"clip frame 10 (0.700 s) sync {error:+.1f} ms")


def test_cli_writes_the_png_and_names_an_unknown_clip(data, tmp_path):
    runner = CliRunner()
    out = tmp_path / "p.png"
    result = runner.invoke(cli, ["preview", "-d", str(data), CLIP, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output and cv2.imread(str(out)) is not None
    bad = runner.invoke(cli, ["preview", "-d", str(data), "S01__dark__hall__000000_000001"])
    assert bad.exit_code == 1 and "no clip 'S01__dark__hall__000000_000001'" in bad.output
    assert CLIP in bad.output  # a suggestion
