"""`mgrdata validate`: passes on a clean root and names each corruption introduced."""

from __future__ import annotations

import dataclasses
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from mgrdark_data.cli import cli
from mgrdark_data.manifest import (
    SPLIT_SCHEMA,
    read_records,
    read_table,
    records_to_table,
    write_records,
    write_split,
)
from mgrdark_data.media.write import sha256_file
from mgrdark_data.paths import DataRoot
from mgrdark_data.records import ClipRecord, RecordingRecord, RejectRecord
from mgrdark_data.testing import write_index_video
from mgrdark_data.validate import validate_dataset

CLIPS = [
    ("S01", "dark", 0, 6),
    ("S01", "daylight", 1, 5),
    ("S02", "dark", 2, 7),
    ("S03", "daylight", 0, 4),
]


def build_root(root) -> DataRoot:
    """A clean dataset root: rgb/ir/depth index clips, manifests with true sizes and hashes."""
    data = DataRoot(root)
    records = []
    for n, (subject, light, label, frames) in enumerate(CLIPS):
        cid = f"{subject}__{light}__{n:06d}_{n + frames - 1:06d}"
        paths = {}
        for m, kind in (("rgb", "rgb"), ("ir", "ir"), ("depth", "depth")):
            if m == "depth" and n == 3:
                continue  # a recording without depth: null columns, not an error
            paths[m] = data.clip_path(m, cid)
            write_index_video(paths[m], frames, size=(32, 24), kind=kind)
        cols = {}
        for m, p in paths.items():
            cols |= {
                f"{m}_path": data.clip_relpath(m, cid),
                f"{m}_bytes": p.stat().st_size,
                f"{m}_sha256": sha256_file(p),
            }
        records.append(
            ClipRecord(
                clip_id=cid,
                recording=f"{subject}/{light}",
                subject=subject,
                light=light,
                scene=None,
                gesture="g",
                label=label,
                start_frame=n,
                end_frame=n + frames - 1,
                num_frames=frames,
                fps=25.0,
                source_row=n + 2,
                rgb_width=32,
                rgb_height=24,
                **cols,
            )
        )
    write_records(records, ClipRecord, data.clips_manifest)
    write_records([], RecordingRecord, data.recordings_manifest)
    write_records([], RejectRecord, data.rejects_manifest)
    write_split({"S01": "train", "S02": "train", "S03": "test"}, data.split_path("subjects"))
    return data


@pytest.fixture(scope="session")
def clean(tmp_path_factory) -> DataRoot:
    return build_root(tmp_path_factory.mktemp("validate") / "data")


@pytest.fixture
def copy(clean, tmp_path) -> DataRoot:
    shutil.copytree(clean.root, tmp_path / "data")
    return DataRoot(tmp_path / "data")


def kinds(report) -> set[str]:
    return {p.kind for p in report.problems}


def rewrite_records(data: DataRoot, change) -> None:
    records = read_records(data.clips_manifest, ClipRecord)
    write_records([change(i, r) for i, r in enumerate(records)], ClipRecord, data.clips_manifest)


@pytest.mark.parametrize("quick", [False, True])
def test_clean_root_passes(clean, quick):
    report = validate_dataset(clean, quick=quick)
    assert report.problems == []
    assert report.ok
    assert report.checked == {"clips": 4, "clip files": 11, "split files": 1}
    assert report.format().splitlines()[-1] == "OK"


def test_deleted_file(copy):
    (copy.root / "clips/ir").glob("*.mp4").__next__().unlink()
    report = validate_dataset(copy)
    assert kinds(report) == {"missing_file"}
    assert not report.ok
    assert validate_dataset(copy, quick=True).problems == report.problems


def test_flipped_byte_is_a_hash_mismatch(copy):
    path = sorted((copy.root / "clips/depth").glob("*.mkv"))[0]
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))
    report = validate_dataset(copy)
    assert "hash_mismatch" in kinds(report)
    assert kinds(report) <= {"hash_mismatch", "unreadable", "frame_count"}
    assert "hash_mismatch" not in kinds(validate_dataset(copy, quick=True))


def test_short_clip_is_a_frame_count_problem(copy):
    # a valid but shorter clip whose size and hash the manifest agrees with: only the frame
    # count can tell
    rel = read_records(copy.clips_manifest, ClipRecord)[1].rgb_path
    path = write_index_video(copy.root / rel, 3, size=(32, 24))

    def fix(i, r):
        return (
            dataclasses.replace(r, rgb_bytes=path.stat().st_size, rgb_sha256=sha256_file(path))
            if i == 1
            else r
        )

    rewrite_records(copy, fix)
    for quick in (False, True):
        report = validate_dataset(copy, quick=quick)
        assert kinds(report) == {"frame_count"}
        assert "3 frames" in report.problems[0].detail and "expected 5" in report.format()


def test_truncated_file(copy):
    rel = read_records(copy.clips_manifest, ClipRecord)[0].rgb_path
    path = copy.root / rel
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    report = validate_dataset(copy)
    assert {"size_mismatch", "hash_mismatch"} <= kinds(report)
    assert kinds(report) & {"unreadable", "frame_count"}


def test_row_problems(copy):
    def corrupt(i, r):
        if i == 1:
            return dataclasses.replace(
                r, clip_id=read_records(copy.clips_manifest, ClipRecord)[0].clip_id
            )
        if i == 2:
            return dataclasses.replace(r, end_frame=r.end_frame + 1)
        return r

    rewrite_records(copy, corrupt)
    report = validate_dataset(copy, quick=True)
    assert kinds(report) == {"duplicate_clip_id", "frame_span"}


def test_leaked_and_unknown_subjects(copy):
    leak = pa.table(
        {"subject": ["S01", "S01", "S02", "S03"], "split": ["train", "test", "train", "test"]},
        schema=SPLIT_SCHEMA,
    )
    pq.write_table(leak, copy.split_path("leaky"))
    write_split(
        {"S01": "train", "S02": "val", "S03": "test", "S99": "test"}, copy.split_path("ghost")
    )
    report = validate_dataset(copy, quick=True)
    by = report.by_kind()
    assert set(by) == {"leakage", "unknown_subject"}
    assert by["leakage"][0].where == "splits/leaky.parquet"
    assert "S01" in by["leakage"][0].detail
    assert by["unknown_subject"][0].where == "splits/ghost.parquet"
    assert "S99" in by["unknown_subject"][0].detail


def test_schema_violation(copy):
    table = read_table(copy.clips_manifest, ClipRecord)
    bad = table.set_column(
        table.schema.get_field_index("label"),
        "label",
        pa.array([str(v) for v in table.column("label").to_pylist()]),
    )
    pq.write_table(bad, copy.clips_manifest)
    report = validate_dataset(copy)
    assert kinds(report) == {"schema"}
    assert "'label' is string, expected int64" in report.problems[0].detail
    pq.write_table(records_to_table([], ClipRecord).drop(["subject"]), copy.rejects_manifest)
    assert "is a clips/2 table, expected rejects/2" in validate_dataset(copy).format()


def test_orphans_are_warnings_and_cli_exit_codes(copy):
    (copy.root / "clips/rgb/stray.mp4").write_bytes(b"x")
    runner = CliRunner()
    r = runner.invoke(cli, ["validate", "-d", str(copy.root), "--quick", "-q"])
    assert r.exit_code == 0, r.output
    assert "warning orphan_file x1" in r.output and "OK (1 warning(s))" in r.output
    next((copy.root / "clips/rgb").glob("S02*.mp4")).unlink()
    r = runner.invoke(cli, ["validate", "-d", str(copy.root), "-q", "--workers", "2"])
    assert r.exit_code == 1
    assert "error missing_file x1" in r.output
    assert r.output.strip().splitlines()[-1] == "FAILED: 1 problem(s), 1 warning(s)"
