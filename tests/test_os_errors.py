"""Every expected OS failure is one line that says what to do, exit code 1, and loses nothing
finished. Tests run as root, where chmod cannot make anything unwritable, so the failures are
simulated where the OS would raise them."""

from __future__ import annotations

import errno
import io
import os
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from mgrdark_data.cli import cli as mgrdata
from mgrdark_data.cli.common import MgrGroup, run_main
from mgrdark_data.media.write import ClipWriter, sha256_file
from mgrdark_data.testing import make_recording, write_annotations


def _one_line(result) -> str:
    lines = result.output.splitlines()
    assert len(lines) == 1, result.output
    assert result.exit_code == 1, result.output
    assert "unexpected" not in result.output
    return lines[0]


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    """A raw tree and a finished dataset root."""
    raw = tmp_path_factory.mktemp("raw")
    rows = []
    for r in range(2):
        make_recording(raw, f"S0{r}/dark/hall", rgb_frames=48)
        rows += [(f"S0{r}/dark/hall", f"S0{r}", "stop", s, s + 19) for s in (0, 24)]
    write_annotations(raw / "labels.csv", rows)
    data = tmp_path_factory.mktemp("data")
    assert CliRunner().invoke(mgrdata, _segment_args(raw, data)).exit_code == 0
    return raw, data


def _segment_args(raw: Path, data: Path, *extra: str) -> list[str]:
    args = ["segment", str(raw), "--ann", str(raw / "labels.csv"), "-d", str(data)]
    return [*args, "--align", "none", "--workers", "1", "-q", *extra]


def _snapshot(data: Path) -> dict[str, str]:
    """Every file of the root (hidden ones included) and its hash."""
    return {p.relative_to(data).as_posix(): sha256_file(p) for p in data.rglob("*") if p.is_file()}


@pytest.fixture
def read_only(monkeypatch):
    """`read_only(folder)`: opening a file for writing or making a folder under it fails with
    EROFS, as on a read-only mount."""

    def make(folder: Path) -> None:
        inside = str(folder.resolve())
        real_open, real_os_open, real_mkdir = io.open, os.open, os.mkdir

        def under(path) -> bool:
            return isinstance(path, (str, os.PathLike)) and os.path.abspath(path).startswith(inside)

        def refuse(path):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

        def fake_open(file, mode="r", *a, **k):
            if under(file) and any(c in mode for c in "wax+"):
                refuse(file)
            return real_open(file, mode, *a, **k)

        def fake_os_open(path, flags, *a, **k):
            if under(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
                refuse(path)
            return real_os_open(path, flags, *a, **k)

        def fake_mkdir(path, *a, **k):
            if under(path):
                refuse(path)
            return real_mkdir(path, *a, **k)

        monkeypatch.setattr(io, "open", fake_open)
        monkeypatch.setattr("builtins.open", fake_open)
        monkeypatch.setattr(os, "open", fake_os_open)
        monkeypatch.setattr(os, "mkdir", fake_mkdir)

    return make


def test_a_read_only_root_stops_writers_and_still_serves_readers(done, read_only):
    raw, data = done
    before = _snapshot(data)
    read_only(data)
    line = _one_line(CliRunner().invoke(mgrdata, _segment_args(raw, data, "--force")))
    assert line == (
        f"Error: cannot write in {data}: read-only file system; write to a writable place "
        "(-d DIR, --out FILE)"
    )
    assert _one_line(CliRunner().invoke(mgrdata, ["split", "-d", str(data)])) == line
    check = CliRunner().invoke(mgrdata, ["validate", "-d", str(data)])
    assert check.exit_code == 0, check.output
    assert _snapshot(data) == before


def test_a_file_in_place_of_a_folder(done, tmp_path):
    raw, _ = done
    blocker = tmp_path / "file"
    blocker.write_text("x")
    line = _one_line(CliRunner().invoke(mgrdata, _segment_args(raw, blocker / "sub")))
    assert line == (
        f"Error: cannot create folder {blocker / 'sub'}: a part of this path is a file, not a "
        "folder; choose another path"
    )
    assert blocker.read_text() == "x"


def test_a_full_disk_while_cutting_stops_the_run_and_keeps_what_was_finished(
    done, tmp_path, monkeypatch
):
    raw, reference = done
    data = tmp_path / "data"
    real_write, calls = ClipWriter.write, []

    def write(self, *a, **k):  # the disk fills up during the third clip file
        calls.append(self.path)
        if len(set(calls)) == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.tmp))
        return real_write(self, *a, **k)

    monkeypatch.setattr(ClipWriter, "write", write)
    line = _one_line(CliRunner().invoke(mgrdata, _segment_args(raw, data)))
    assert line.startswith(f"Error: {data / 'clips'}/")
    assert line.endswith(
        ".tmp: no space left on the device; free some or write elsewhere, then run the "
        "command again (finished files are kept)"
    )
    kept = _snapshot(data)
    assert not (data / "manifest").exists()  # nothing looks finished
    assert [p for p in kept if Path(p).name.startswith(".")] == []  # no temporary file left
    assert len(kept) == 2  # the two clips finished before the disk filled up
    monkeypatch.setattr(ClipWriter, "write", real_write)
    again = CliRunner().invoke(mgrdata, _segment_args(raw, data))
    assert again.exit_code == 0 and "clip files: 10 written, 2 kept" in again.output
    assert _snapshot(data / "clips") == _snapshot(reference / "clips")


@pytest.mark.parametrize(
    "code, advice",
    [
        (
            errno.ENOSPC,
            "no space left on the device; free some or write elsewhere, then run the command "
            "again (finished files are kept)",
        ),
        (errno.EACCES, "permission denied; fix the permissions or choose another path"),
    ],
)
def test_a_manifest_that_cannot_be_written_leaves_the_old_one(
    done, monkeypatch, tmp_path, code, advice
):
    import shutil

    import pyarrow.parquet as pq

    raw, reference = done
    data = tmp_path / "data"
    shutil.copytree(reference, data)
    before = _snapshot(data)

    def fail(*a, **k):
        raise OSError(code, "Error writing bytes to file")  # pyarrow names no file

    monkeypatch.setattr(pq, "write_table", fail)
    line = _one_line(CliRunner().invoke(mgrdata, _segment_args(raw, data, "--force")))
    assert line == f"Error: cannot write {data / 'manifest/clips.parquet'}: {advice}"
    assert _snapshot(data) == before  # the same clips (bytes reproduce) and manifests
    line = _one_line(CliRunner().invoke(mgrdata, ["split", "-d", str(data)]))
    assert line == f"Error: cannot write {data / 'splits/subjects.parquet'}: {advice}"


def test_the_entry_point_maps_os_errors_raised_outside_a_command(capsys, monkeypatch):
    @click.group(cls=MgrGroup, name="t")
    def group():
        raise OSError(errno.ENOSPC, "No space left on device", "/x/y")

    @group.command()
    def sub():
        pass

    @click.group(name="plain")  # a group that does not map errors itself
    def plain():
        raise OSError(errno.EROFS, "Read-only file system", "/ro")

    @plain.command()
    def sub2():
        pass

    monkeypatch.setattr(sys, "argv", ["plain", "sub2"])
    with pytest.raises(SystemExit) as e:
        run_main(plain)
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert (
        err == "Error: /ro: read-only file system; write to a writable place (-d DIR, --out FILE)\n"
    )
    result = CliRunner().invoke(group, ["sub"])
    assert _one_line(result).startswith("Error: /x/y: no space left on the device; ")


def test_an_unexpected_os_error_is_still_reported_as_a_bug(capsys, monkeypatch):
    @click.group(name="plain")
    def plain():
        raise OSError(errno.EBADF, "Bad file descriptor")

    @plain.command()
    def sub():
        pass

    monkeypatch.setattr(sys, "argv", ["plain", "sub"])
    with pytest.raises(SystemExit):
        run_main(plain)
    assert "unexpected OSError" in capsys.readouterr().err
