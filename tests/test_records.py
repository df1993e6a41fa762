"""Vocabulary, annotation parsing helpers, time mapping and manifest schema checks."""

from __future__ import annotations

import filecmp
from fractions import Fraction
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mgrdark_data.annotations import _frame, normalise_recording
from mgrdark_data.errors import ManifestError, VocabularyError
from mgrdark_data.manifest import (
    SPLIT_SCHEMA,
    read_records,
    read_split,
    write_records,
    write_split,
)
from mgrdark_data.records import ClipRecord, RejectRecord
from mgrdark_data.timemap import ir_index
from mgrdark_data.vocabulary import default_classes_path, load_vocabulary

REPO = Path(__file__).resolve().parents[1]


def test_vocabulary_has_one_source_of_truth():
    assert filecmp.cmp(REPO / "annotations/classes.csv", default_classes_path(), shallow=False)
    vocab = load_vocabulary()
    assert len(vocab) == 10 and vocab.names[4:6] == ["turn left", "turn right"]
    mirror = vocab.mirror_labels()
    assert mirror[4] == 5 and mirror[5] == 4 and mirror[0] == 0
    assert vocab.resolve("7").name == "look for" and vocab.resolve("10") is None


def test_vocabulary_rejects_unpaired_mirror(tmp_path):
    f = tmp_path / "c.csv"
    f.write_text("id,name,mirror\n0,a,b\n1,b,\n")
    with pytest.raises(VocabularyError, match="mirrors must come in pairs"):
        load_vocabulary(f)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("S01/dark/hall", "S01/dark/hall"),
        ("./S01//dark/", "S01/dark"),
        ("S01\\dark\\hall", "S01/dark/hall"),
        ("../x", None),
        ("a/../../x", None),
        ("/abs/x", None),
        ("C:/x", None),
        ("", None),
    ],
)
def test_normalise_recording(text, expected):
    assert normalise_recording(text) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("12", 12),
        (" 7 ", 7),
        ("12.0", 12),
        ("12.5", None),
        ("x", None),
        ("", None),
    ],
)
def test_frame_numbers(text, expected):
    assert _frame(text) == expected


def test_ir_index_rounds_exactly_at_half_frames():
    # RGB 25 fps, IR 50 fps, offset 0.01 s: frame 0 -> 0.5 IR frames -> rounds up to 1
    assert ir_index(0, Fraction(25), Fraction(50), 0.01) == 1
    assert [ir_index(i, Fraction(25), Fraction(30)) for i in range(6)] == [0, 1, 2, 4, 5, 6]
    ntsc = Fraction(30000, 1001)
    assert ir_index(1001, ntsc, ntsc) == 1001


def _clip(**kw) -> ClipRecord:
    base = dict(
        clip_id="a",
        recording="r",
        subject="S",
        light=None,
        scene=None,
        gesture="stop",
        label=2,
        start_frame=0,
        end_frame=9,
        num_frames=10,
        fps=25.0,
        source_row=2,
        rgb_path="clips/rgb/a.mp4",
        rgb_width=4,
        rgb_height=4,
        rgb_bytes=1,
        rgb_sha256="0" * 64,
    )
    return ClipRecord(**{**base, **kw})


def test_manifest_round_trip_keeps_types_and_extra_columns(tmp_path):
    path = write_records([_clip(extra={"notes": "hi"})], ClipRecord, tmp_path / "c.parquet")
    (back,) = read_records(path, ClipRecord)
    assert back == _clip(extra={"notes": "hi"})
    schema = pq.read_schema(path)
    assert schema.field("label").type == pa.int64() and not schema.field("label").nullable
    assert schema.metadata[b"mgrdark.schema"] == b"clips/2"


def test_manifest_checks_on_read(tmp_path):
    path = write_records([_clip()], ClipRecord, tmp_path / "c.parquet")
    with pytest.raises(ManifestError, match="is a clips/2 table, expected rejects/2"):
        read_records(path, RejectRecord)
    table = pq.read_table(path)
    pq.write_table(table.drop(["label"]), tmp_path / "missing.parquet")
    with pytest.raises(ManifestError, match="missing column 'label'"):
        read_records(tmp_path / "missing.parquet", ClipRecord)
    pq.write_table(
        table.replace_schema_metadata({b"mgrdark.schema": b"clips/0"}), tmp_path / "old.parquet"
    )
    with pytest.raises(ManifestError, match="schema clips/0 but this mgrdark reads clips/2"):
        read_records(tmp_path / "old.parquet", ClipRecord)
    pq.write_table(pa.table({"x": [1]}), tmp_path / "foreign.parquet")
    with pytest.raises(ManifestError, match="not an mgrdark manifest"):
        read_records(tmp_path / "foreign.parquet", ClipRecord)


def test_split_files(tmp_path):
    path = write_split({"S02": "test", "S01": "train"}, tmp_path / "s.parquet")
    assert read_split(path).values.tolist() == [["S01", "train"], ["S02", "test"]]
    bad = pa.table({"subject": ["S1"], "split": ["holdout"]}, schema=SPLIT_SCHEMA)
    pq.write_table(bad, tmp_path / "bad.parquet")
    with pytest.raises(ManifestError, match="unknown split value"):
        read_split(tmp_path / "bad.parquet")
