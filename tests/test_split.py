"""`mgrdata split`: deterministic, subject-disjoint splits, K folds, official lists, coverage."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mgrdark_data.cli import cli
from mgrdark_data.manifest import read_split, write_records
from mgrdark_data.paths import DataRoot
from mgrdark_data.records import ClipRecord
from mgrdark_data.splits import SplitError, kfold_splits, random_split, split_dataset

SUBJECTS = [f"S{i:02d}" for i in range(1, 11)]
GESTURES = [(0, "forward"), (1, "backward"), (2, "stop")]


def clip_record(subject: str, light: str, label: int, gesture: str, n: int) -> ClipRecord:
    cid = f"{subject}__{light}__{n:03d}"
    return ClipRecord(
        clip_id=cid,
        recording=f"{subject}/{light}",
        subject=subject,
        light=light,
        scene=None,
        gesture=gesture,
        label=label,
        start_frame=10 * n,
        end_frame=10 * n + 4,
        num_frames=5,
        fps=25.0,
        source_row=n + 2,
        rgb_path=f"clips/rgb/{cid}.mp4",
        rgb_width=64,
        rgb_height=48,
        rgb_bytes=1,
        rgb_sha256="0" * 64,
    )


def make_root(root, subjects=SUBJECTS, lights=("dark", "daylight"), gestures=GESTURES):
    records = [
        clip_record(s, light, label, g, n)
        for s in subjects
        for light in lights
        for n, (label, g) in enumerate(gestures)
    ]
    write_records(records, ClipRecord, DataRoot(root).clips_manifest)
    return DataRoot(root)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_root(tmp_path_factory.mktemp("split"))


def test_same_seed_same_split_whatever_the_input_order():
    a = random_split(SUBJECTS, test_subjects=3, val_subjects=2, seed=7)
    b = random_split(list(reversed(SUBJECTS)), test_subjects=3, val_subjects=2, seed=7)
    assert a == b
    assert sorted(a) == SUBJECTS
    parts = {p: {s for s, v in a.items() if v == p} for p in ("train", "val", "test")}
    assert [len(parts[p]) for p in ("train", "val", "test")] == [5, 2, 3]
    assert random_split(SUBJECTS, test_subjects=3, seed=8) != random_split(
        SUBJECTS, test_subjects=3, seed=7
    )


def test_folds_test_each_subject_exactly_once():
    folds = kfold_splits(SUBJECTS, 4, val_subjects=1, seed=3)
    tested = [s for f in folds for s, p in f.items() if p == "test"]
    assert sorted(tested) == SUBJECTS
    for f in folds:
        assert sorted(f) == SUBJECTS
        assert list(f.values()).count("val") == 1
    assert sorted(list(f.values()).count("test") for f in folds) == [2, 2, 3, 3]
    assert folds == kfold_splits(SUBJECTS, 4, val_subjects=1, seed=3)


def test_explicit_lists_and_unknown_subjects():
    a = random_split(SUBJECTS, test=["S03", "S07"], val=["S01"])
    assert {s for s, p in a.items() if p == "test"} == {"S03", "S07"}
    assert {s for s, p in a.items() if p == "val"} == {"S01"}
    with pytest.raises(SplitError, match=r"unknown subject\(s\) \['S99'\]"):
        random_split(SUBJECTS, test=["S03", "S99"])
    with pytest.raises(SplitError, match="both --test and --val"):
        random_split(SUBJECTS, test=["S03"], val=["S03"])
    with pytest.raises(SplitError, match="keep any"):
        random_split(SUBJECTS, test_subjects=8, val_subjects=2)


def test_split_dataset_writes_disjoint_split_file(data):
    res = split_dataset(data, name="subjects", test_subjects=3, seed=0)
    df = read_split(data.split_path("subjects"))
    assert sorted(df["subject"]) == SUBJECTS
    assert not df["subject"].duplicated().any()
    assert dict(zip(df["subject"], df["split"], strict=True)) == res.assignments[0]
    counts = res.counts[0]
    # 3 test subjects x 1 clip per class per light
    assert counts[("test", "dark")].tolist() == [3, 3, 3]
    assert counts[("train", "daylight")].sum() == 7 * 3
    assert res.warnings == []


def test_missing_class_in_training_warns_and_strict_fails(tmp_path):
    data = make_root(tmp_path, subjects=["A", "B", "C"], lights=("dark",))
    extra = clip_record("C", "daylight", 2, "stop", 9)
    records = [clip_record(s, "dark", i, g, i) for s in ("A", "B") for i, g in GESTURES[:2]]
    write_records([*records, extra], ClipRecord, data.clips_manifest)
    res = split_dataset(data, name="s", test=["C"])
    assert any("class ['stop']" in w for w in res.warnings)
    assert any("light condition ['daylight']" in w for w in res.warnings)
    with pytest.raises(SplitError, match="--strict"):
        split_dataset(data, name="s2", test=["C"], strict=True)
    assert not data.split_path("s2").exists()


def test_cli_folds_and_official_split(data):
    runner = CliRunner()
    r = runner.invoke(
        cli, ["split", "-d", str(data.root), "--name", "cv", "--folds", "5", "--seed", "1", "-q"]
    )
    assert r.exit_code == 0, r.output
    tested = []
    for k in range(5):
        df = read_split(data.split_path(f"cv_fold{k}"))
        tested += df.loc[df["split"] == "test", "subject"].tolist()
    assert sorted(tested) == SUBJECTS
    r = runner.invoke(
        cli,
        ["split", "-d", str(data.root), "--name", "official", "--test", "S03,S07", "--val", "S01"],
    )
    assert r.exit_code == 0, r.output
    assert "test    2 subject(s): S03, S07" in r.output
    r = runner.invoke(cli, ["split", "-d", str(data.root), "--name", "noval", "--test", "S03"])
    assert "  val     0 subject(s)\n" in r.output, r.output
    assert "train/dark" in r.output and "total" in r.output
    r = runner.invoke(cli, ["split", "-d", str(data.root), "--test", "S03,S42"])
    assert r.exit_code == 1
    assert "unknown subject(s) ['S42']" in r.output


def test_default_test_subjects_keep_the_paper_split_and_fit_small_datasets():
    from mgrdark_data.splits import default_test_subjects

    assert [default_test_subjects(n) for n in (21, 10, 9, 7, 6)] == [5, 5, 2, 2, 1]
    assert [default_test_subjects(n) for n in (5, 4, 3, 2)] == [1, 1, 1, 1]
    assert default_test_subjects(6, val_subjects=1) == 1
    assert default_test_subjects(11, val_subjects=6) == 3  # round(11 * 5 / 21)
    assert default_test_subjects(15, val_subjects=5) == 5
    assert default_test_subjects(14, val_subjects=5) == 3  # round(14 * 5 / 21)


def test_split_defaults_work_on_synths_default_four_subjects(tmp_path):
    """`mgrdata synth` makes 4 subjects by default; `mgrdata split` with its defaults works on
    them and says what it chose. An explicit count is still honoured (or refused)."""
    data = make_root(tmp_path / "four", subjects=SUBJECTS[:4])
    r = CliRunner().invoke(cli, ["split", "-d", str(data.root)])
    assert r.exit_code == 0, r.output
    assert "note: 1 test subject(s) of 4" in r.output
    df = read_split(data.split_path("subjects"))
    assert sorted(df["split"].value_counts().items()) == [("test", 1), ("train", 3)]
    r = CliRunner().invoke(cli, ["split", "-d", str(data.root), "--test-subjects", "5"])
    assert r.exit_code == 1 and "cannot draw 5 test" in r.output


def test_split_defaults_on_a_paper_sized_dataset_draw_five(data):
    result = split_dataset(data, name="default5")
    assignment = result.assignments[0]
    assert list(assignment.values()).count("test") == 5 and not result.notes
