"""`mgrdata import nvgesture` on a tiny tree in NvGesture's own layout (frame-coded AVIs, both
v2 lists): every modality's clip frames follow the listed windows, labels come from `label:`,
the split is the lists', and bad lines are rejected with their list and line number."""

from __future__ import annotations

import math
from fractions import Fraction

import av
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mgrdark_data.cli import cli
from mgrdark_data.importers import import_nvgesture
from mgrdark_data.importers.nvgesture import NvGestureError, parse_line
from mgrdark_data.manifest import read_split
from mgrdark_data.paths import DataRoot
from mgrdark_data.testing.media import decode_index
from mgrdark_data.testing.nvgesture import DEFAULT_TAKES, NvTake, make_nvgesture_tree
from mgrdark_data.vocabulary import load_vocabulary

# A well-formed line whose IR window runs past duo_left.avi (47 frames): rejected when planned.
PAST_END = NvTake(5, 8, 1, 5, (2, 22), (2, 22), (30, 60), list="test")
BAD_TRAIN = [
    "path:./Video_data/class_01/subject2_r0 color:sk_color:1:5 label:1 ",
    "path:./Video_data/class_03/subject2_r0 depth:sk_depth:1:5 color:sk_color:1:5 "
    "duo_left:duo_left:1:5 label:x ",
]
BAD_TEST = [
    "garbage",
    "path:./Video_data/class_04/subject9_r0 depth:sk_depth:9:19 color:sk_color:9:9 "
    "duo_left:duo_left:9:20 label:4",
    "path:./Video_data/class_04/subject9_r1 depth:sk_depth:1:9 color:sk_color:1:9 "
    "duo_left:duo_left:1:9 label:26",
    # well-formed, but no such folder
    "path:./Video_data/class_05/subject9_r2 depth:sk_depth:1:9 color:sk_color:1:9 "
    "duo_left:duo_left:1:9 label:5",
]
GOOD = list(DEFAULT_TAKES)


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    base = tmp_path_factory.mktemp("nvgesture")
    nvroot = make_nvgesture_tree(
        base / "nv", [*DEFAULT_TAKES, PAST_END], extra_lines={"train": BAD_TRAIN, "test": BAD_TEST}
    )
    data = base / "data"
    args = ["import", "nvgesture", str(nvroot), "-d", str(data), "--workers", "1", "-q"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return nvroot, DataRoot(data), result.output


def _codes(path, fmt: str) -> tuple[list[int], list[np.ndarray]]:
    with av.open(str(path)) as c:
        images = [f.to_ndarray(format=fmt) for f in c.decode(video=0)]
    return [decode_index(a) for a in images], images


def _spread(start: int, end_exclusive: int, n: int) -> list[int]:
    """The per-sensor formula in exact rationals: start + floor(k (end-start) / (n-1) + 1/2)."""
    end = end_exclusive - 1
    return [
        start + math.floor(Fraction(k * (end - start), n - 1) + Fraction(1, 2)) for k in range(n)
    ]


def test_every_modality_shows_its_listed_window(imported):
    _, root, _ = imported
    clips = pd.read_parquet(root.clips_manifest).set_index("recording")
    assert sorted(clips.index) == sorted(t.folder for t in GOOD)
    for t in GOOD:
        row = clips.loc[t.folder]
        n = t.color[1] - t.color[0]
        assert row["num_frames"] == n and (row["start_frame"], row["end_frame"]) == (
            t.color[0],
            t.color[1] - 1,
        )
        rgb, _ = _codes(root.root / row["rgb_path"], "rgb24")
        assert rgb == list(range(*t.color))  # 0-based start, exclusive end
        depth, images = _codes(root.root / row["depth_path"], "gray16le")
        assert depth == _spread(*t.depth, n)
        # 8-bit depth stored as it comes: the values 0 and 255 of the source, not rescaled
        assert set(np.unique(np.concatenate([a.ravel() for a in images]))) <= {0, 255}
        ir, _ = _codes(root.root / row["ir_path"], "gray")
        assert ir == _spread(*t.duo, n)
        assert ir[0] == t.duo[0] and ir[-1] == t.duo[1] - 1 and len(set(ir)) == n
        assert (row["ir_start_frame"], row["ir_end_frame"]) == (t.duo[0], t.duo[1] - 1)
        assert pd.isna(row["ir_sync_error_ms"]) and pd.isna(row["depth_sync_error_ms"])
        assert row["ir_aligned"] == False  # noqa: E712 - duo_left keeps its own view


def test_frames_manifest_names_the_given_frames(imported):
    _, root, _ = imported
    frames = pd.read_parquet(root.frames_manifest)
    t = DEFAULT_TAKES[2]  # color and depth windows one frame apart
    clip = frames[frames["clip_id"].str.startswith(t.folder.replace("/", "__"))]
    assert clip["rgb_frame"].tolist() == list(range(*t.color))
    assert clip["depth_frame"].tolist() == list(range(*t.depth))
    assert clip["ir_frame"].tolist() == _spread(*t.duo, 20)
    assert clip["ir_error_ms"].isna().all() and (clip["rgb_error_ms"] == 0).all()


def test_labels_come_from_the_label_field_and_mirrors_pair_up(imported):
    _, root, _ = imported
    vocab = load_vocabulary("nvgesture")
    assert len(vocab) == 25
    clips = pd.read_parquet(root.clips_manifest).set_index("recording")
    for t in GOOD:
        assert clips.loc[t.folder, "label"] == t.label - 1
        assert clips.loc[t.folder, "gesture"] == vocab.classes[t.label - 1].name
    relabelled = clips.loc["Video_data/class_21/subject3_r2"]
    assert (relabelled["label"], relabelled["gesture"]) == (19, "rotate fingers CW")
    mirror = vocab.mirror_labels()
    pairs = {(a, b) for a, b in enumerate(mirror) if a < b}
    assert pairs == {(0, 1), (4, 5), (19, 20)}
    assert vocab.classes[0].name == "move hand left" and vocab.classes[1].name == "move hand right"


def test_split_is_the_lists(imported):
    _, root, output = imported
    split = read_split(root.split_path("nvgesture")).set_index("subject")["split"]
    assert split.to_dict() == {
        "subject1": "train",
        "subject3": "train",
        "subject5": "test",
        "subject13": "test",
    }
    clips = pd.read_parquet(root.clips_manifest)
    assert (clips["subject"].map(split) == clips["list"]).all()
    listed = {t.folder: t.list for t in GOOD}
    assert (clips["recording"].map(listed) == clips["list"]).all()
    # subject8's only line was rejected: it has no clip and is left out, with a note
    assert "subject8" not in split.index
    assert "2 train, 2 test subjects" in output


def test_bad_lines_are_rejected_with_list_and_line(imported):
    _, root, _ = imported
    rejects = pd.read_parquet(root.rejects_manifest)
    got = {(r.reason_code, r.reason) for r in rejects.itertuples()}
    train, test = (
        "nvgesture_train_correct_cvpr2016_v2.lst",
        "nvgesture_test_correct_cvpr2016_v2.lst",
    )
    expected_reasons = {
        ("bad_list_line", f"{train} line 5: no depth:, duo_left: field"),
        ("bad_list_line", f"{train} line 6: label 'x' is not one of 1-25"),
        ("bad_list_line", f"{test} line 4: field 'garbage' is not key:value"),
        (
            "bad_list_line",
            f"{test} line 5: color window 9:9 is empty (0-based start, end exclusive)",
        ),
        ("bad_list_line", f"{test} line 6: label '26' is not one of 1-25"),
        ("unknown_recording", f"{test} line 7: no Video_data/class_05/subject9_r2/sk_color.avi"),
        ("ir_not_covering", "ir_end_frame 59 is past the ir stream (47 frames, last index 46)"),
    }
    assert got == expected_reasons
    by_code = rejects.set_index("reason_code")
    assert by_code.loc["ir_not_covering", "recording"] == PAST_END.folder
    assert by_code.loc["unknown_recording", "source_row"] == 7


def test_validate_passes_and_a_rerun_keeps_every_clip(imported):
    nvroot, root, _ = imported
    r = CliRunner().invoke(cli, ["validate", "-d", str(root.root), "-q"])
    assert r.exit_code == 0, r.output
    report = import_nvgesture(nvroot, root.root, workers=1)
    assert (report.segment.clips, report.segment.skipped, report.segment.written) == (6, 6, 0)
    assert report.depth_format == "yuv444p, 8-bit"


def test_parse_line_reads_the_official_example():
    line = (
        "path:./Video_data/class_01/subject13_r0 depth:sk_depth:138:218 color:sk_color:138:218 "
        "duo_left:duo_left:161:254 label:1 "
    )
    recording, subject, label, windows = parse_line(line)
    assert (recording, subject, label) == ("Video_data/class_01/subject13_r0", "subject13", 0)
    assert windows == {"rgb": (138, 218), "depth": (138, 218), "ir": (161, 254)}
    with pytest.raises(ValueError, match="leaves NVROOT"):
        parse_line(line.replace("./Video_data", "../Video_data"))
    with pytest.raises(ValueError, match="does not end in subjectN_rK"):
        parse_line(line.replace("subject13_r0", "s13"))
    with pytest.raises(ValueError, match="appears twice"):
        parse_line(line + "label:2")


def test_subjects_in_both_lists_give_no_split_and_say_so(tmp_path):
    takes = [DEFAULT_TAKES[0], NvTake(2, 1, 3, 2, (4, 24), (4, 24), (5, 28), list="test")]
    nvroot = make_nvgesture_tree(tmp_path / "nv", takes)
    report = import_nvgesture(nvroot, tmp_path / "data", workers=1)
    assert report.segment.clips == 2 and report.split_path is None
    assert any("subject(s) ['subject1'] appear in both lists" in w for w in report.warnings)
    assert not (tmp_path / "data" / "splits" / "nvgesture.parquet").exists()


def test_not_an_nvgesture_root_and_align_auto_are_one_line_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    r = CliRunner().invoke(
        cli, ["import", "nvgesture", str(tmp_path / "empty"), "-d", str(tmp_path)]
    )
    assert r.exit_code == 1 and "holds neither nvgesture_train_correct" in r.output
    assert len(r.output.strip().splitlines()) == 1
    nvroot = make_nvgesture_tree(tmp_path / "nv", DEFAULT_TAKES[:1])
    r = CliRunner().invoke(cli, ["import", "nvgesture", str(nvroot), "--align", "auto"])
    assert r.exit_code == 1 and "--align auto is not available for NvGesture" in r.output
    with pytest.raises(NvGestureError):
        import_nvgesture(tmp_path / "empty", tmp_path / "d")


def test_training_keeps_clips_without_light_and_takes_the_vocabulary_by_name(
    imported, tmp_path, one_torch_thread
):
    from mgrdark_train.cli import cli as train_cli
    from mgrdark_train.data.dataset import load_clips

    _, root, _ = imported
    # the default light filter ('dark') must not drop clips that have no light value
    train = load_clips(root, split="nvgesture", subset="train", modalities=("rgb", "ir"))
    assert len(train) == 4 and train["light"].isna().all()
    run = tmp_path / "run"
    args = ["baseline", "-d", str(root.root), "--split", "nvgesture", "--classes", "nvgesture"]
    args += ["--modality", "ir", "--preset", "tiny", "--epochs", "1", "--out", str(run), "-q"]
    args += ["--device", "cpu", "--batch-size", "2", "--workers", "0", "--set", "data.num_frames=4"]
    args += ["--set", "data.resize=32", "--set", "data.crop=28", "--set", "run.tensorboard=false"]
    r = CliRunner().invoke(train_cli, args, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(train_cli, ["eval", str(run), "-q"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert pd.read_parquet(run / "eval" / "predictions.parquet")["clip_id"].size == 2
    per_class = pd.read_csv(run / "eval" / "per_class.csv")
    assert len(per_class) == 25 and per_class.loc[19, "class"] == "rotate fingers CW"


def test_preview_labels_frames_given_per_sensor(imported, tmp_path):
    from mgrdark_data.preview import write_preview

    _, root, _ = imported
    clip_id = "Video_data__class_01__subject1_r0__000006_000025"
    sheet = write_preview(root.root, clip_id, out=tmp_path / "p.png")
    assert sheet.labels[(0, "ir")] == "ir #7 (annotated range)\nclip frame 0 (0.200 s)"
    assert sheet.labels[(0, "rgb")].endswith("sync +0.0 ms")


@pytest.mark.slow
def test_mtcd_and_ablation_run_on_nvgesture(imported, tmp_path, one_torch_thread):
    from mgrdark_train.cli import cli as train_cli
    from mgrdark_train.testing.mtcd import TINY_MTCD_ARGS

    _, root, _ = imported
    nv = ["-d", str(root.root), "--split", "nvgesture", "--classes", "nvgesture"]
    nv += ["--device", "cpu", *TINY_MTCD_ARGS]
    r = CliRunner().invoke(train_cli, ["mtcd", *nv, "--out", str(tmp_path / "mtcd")])
    assert r.exit_code == 0, r.output
    assert "(full, student on RGB, 2 test clips): top1=" in r.output
    rows = ["--rows", "baseline,full", "--seeds", "0", "--out", str(tmp_path / "ablation")]
    r = CliRunner().invoke(train_cli, ["ablation", *nv, *rows])
    assert r.exit_code == 0, r.output
    table = pd.read_csv(tmp_path / "ablation" / "table.csv")
    assert {"baseline", "full"} <= set(table["row"]) and (table["seeds"] == 1).all()


def test_import_takes_the_data_root_lock_before_writing_anything(tmp_path):
    import json
    import socket
    import subprocess
    import sys

    from mgrdark_data.lock import LOCK_NAME

    nvroot = make_nvgesture_tree(tmp_path / "nv", GOOD[:1])
    data = tmp_path / "data"
    data.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        record = {
            "pid": holder.pid,
            "host": socket.gethostname(),
            "command": "segment",
            "argv": "mgrdata segment raw --ann l.csv",
            "started": 1.7e9,
            "token": "t",
        }
        (data / LOCK_NAME).write_text(json.dumps(record))
        r = CliRunner().invoke(cli, ["import", "nvgesture", str(nvroot), "-d", str(data), "-q"])
    finally:
        holder.kill()
        holder.wait()
    assert r.exit_code == 1, r.output
    assert r.output.startswith(f"Error: {data} is being written by `mgrdata segment")
    assert len(r.output.splitlines()) == 1
    assert sorted(p.name for p in data.iterdir()) == [LOCK_NAME]
