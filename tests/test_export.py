"""`mgrdata export`: list files parse back (as MMAction2 and PyTorchVideo read them)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from mgrdark_data.cli import cli
from mgrdark_data.export import ExportError, export_split, read_list
from mgrdark_data.manifest import write_records, write_split
from mgrdark_data.paths import DataRoot
from mgrdark_data.records import ClipRecord

# (subject, label, has ir)
CLIPS = [("S01", 0, True), ("S01", 3, False), ("S02", 1, True), ("S03", 2, True), ("S04", 4, True)]
SPLIT = {"S01": "train", "S02": "train", "S03": "val", "S04": "test"}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> DataRoot:
    data = DataRoot(tmp_path_factory.mktemp("export") / "data")
    records = []
    for n, (subject, label, has_ir) in enumerate(CLIPS):
        cid = f"{subject}__dark__{n:06d}"
        ir = {"ir_path": data.clip_relpath("ir", cid), "ir_bytes": 1, "ir_sha256": "1" * 64}
        records.append(
            ClipRecord(
                clip_id=cid,
                recording=f"{subject}/dark",
                subject=subject,
                light="dark",
                scene="hall",
                gesture=f"g{label}",
                label=label,
                start_frame=n,
                end_frame=n + 9,
                num_frames=10,
                fps=25.0,
                source_row=n + 2,
                rgb_path=data.clip_relpath("rgb", cid),
                rgb_width=64,
                rgb_height=48,
                rgb_bytes=1,
                rgb_sha256="0" * 64,
                **(ir if has_ir else {}),
                extra={"note": f"n{n}"},
            )
        )
    write_records(records, ClipRecord, data.clips_manifest)
    write_split(SPLIT, data.split_path("subjects"))
    return data


def expected(data: DataRoot, split: str, modality: str, prefix=None) -> list[tuple[str, int]]:
    out = []
    for n, (subject, label, has_ir) in enumerate(CLIPS):
        if SPLIT[subject] != split or (modality == "ir" and not has_ir):
            continue
        path = (data.root / data.clip_relpath(modality, f"{subject}__dark__{n:06d}")).resolve()
        out.append(
            (
                path.as_posix()
                if prefix is None
                else os.path.relpath(path, Path(prefix).resolve()),
                label,
            )
        )
    return out


def mmaction_load(path: Path, data_prefix: str | None = None) -> list[tuple[str, int]]:
    """MMAction2 1.x `VideoDataset.load_data_list` (default delimiter ' ', single-label)."""
    rows = []
    for line in path.read_text().splitlines():
        filename, label = line.strip().split(" ")
        if data_prefix is not None:
            filename = os.path.join(data_prefix, filename)
        rows.append((filename, int(label)))
    return rows


@pytest.mark.parametrize("fmt", ["mmaction", "pytorchvideo"])
def test_list_files_absolute_paths(data, tmp_path, fmt):
    res = export_split(data, fmt=fmt, split="subjects", modalities=["rgb", "ir"], out=tmp_path)
    assert sorted(p.name for p in res.files) == [
        "test_ir.txt",
        "test_rgb.txt",
        "train_ir.txt",
        "train_rgb.txt",
        "val_ir.txt",
        "val_rgb.txt",
    ]
    for split in ("train", "val", "test"):
        for m in ("rgb", "ir"):
            path = tmp_path / f"{split}_{m}.txt"
            assert read_list(path) == expected(data, split, m)
            assert mmaction_load(path) == expected(data, split, m)
            assert all(Path(p).is_absolute() for p, _ in read_list(path))
    assert res.counts["train_rgb.txt"] == 3 and res.counts["train_ir.txt"] == 2
    assert res.skipped == {"no ir clip": 1}


def test_relative_paths_join_back_onto_the_prefix(data, tmp_path):
    export_split(data, fmt="mmaction", split="subjects", out=tmp_path, data_prefix=data.root)
    rows = mmaction_load(tmp_path / "train_rgb.txt")
    assert rows[0][0] == "clips/rgb/S01__dark__000000.mp4"
    joined = mmaction_load(tmp_path / "train_rgb.txt", str(data.root))
    assert [(Path(p).resolve().as_posix(), lb) for p, lb in joined] == expected(
        data, "train", "rgb"
    )


def test_csv_has_every_manifest_column(data, tmp_path):
    res = export_split(data, fmt="csv", split="subjects", modalities=["rgb", "ir"], out=tmp_path)
    assert [p.name for p in res.files] == ["train.csv", "val.csv", "test.csv"]
    train = pd.read_csv(tmp_path / "train.csv")
    assert train["clip_id"].tolist() == ["S01__dark__000000", "S02__dark__000002"]
    assert set(train["split"]) == {"train"}
    assert train["note"].tolist() == ["n0", "n2"]
    assert {"num_frames", "start_frame", "depth_path", "ir_sha256", "label"} <= set(train)
    assert list(zip(train["rgb_path"], train["label"], strict=True)) == [
        r for r in expected(data, "train", "rgb") if "000001" not in r[0]
    ]


def test_errors_and_cli(data, tmp_path):
    with pytest.raises(ExportError, match="unknown modality"):
        export_split(data, fmt="csv", split="subjects", modalities=["thermal"])
    spaced = DataRoot(tmp_path / "my data")
    shutil.copytree(data.root, spaced.root)
    with pytest.raises(ExportError, match="whitespace"):
        export_split(spaced, fmt="mmaction", split="subjects", out=tmp_path / "a")
    # PyTorchVideo splits at the last whitespace only, so spaces in paths are fine there
    export_split(spaced, fmt="pytorchvideo", split="subjects", out=tmp_path / "b")
    assert read_list(tmp_path / "b" / "test_rgb.txt") == expected(spaced, "test", "rgb")
    runner = CliRunner()
    r = runner.invoke(
        cli,
        [
            "export",
            "-d",
            str(data.root),
            "--format",
            "pytorchvideo",
            "--split",
            "subjects",
            "--modality",
            "rgb,ir",
            "-q",
        ],
    )
    assert r.exit_code == 0, r.output
    out = data.root / "exports" / "subjects" / "pytorchvideo"
    assert read_list(out / "val_ir.txt") == expected(data, "val", "ir")
    assert "train_rgb.txt  (3 clips)" in r.output
    r = runner.invoke(
        cli, ["export", "-d", str(data.root), "--format", "mmaction", "--split", "nope"]
    )
    assert r.exit_code == 1 and "run `mgrdata split` first" in r.output
