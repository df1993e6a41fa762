"""One writer per dataset root: a second writer stops with the holder's name, a dead holder's
lock is taken over, readers never wait, and each writer clears the debris of dead runs."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from mgrdark_data.cli import cli as mgrdata
from mgrdark_data.lock import LOCK_NAME, DataLockedError, data_lock
from mgrdark_data.paths import TEMPORARY_NAME, host_tag, temporary_sibling
from mgrdark_data.testing import make_recording, write_annotations


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _mgrdata(*args: str) -> list[str]:
    return [sys.executable, "-m", "mgrdark_data", *args]


def _write_lock(data: Path, pid: int, host: str | None = None) -> Path:
    record = {
        "pid": pid,
        "host": host or socket.gethostname(),
        "command": "segment",
        "argv": "mgrdata segment raw --ann l.csv",
        "started": 1_700_000_000.0,
        "token": "t",
    }
    path = data / LOCK_NAME
    path.write_text(json.dumps(record))
    return path


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """A tiny raw tree and its finished root."""
    raw = tmp_path_factory.mktemp("raw")
    rows = []
    for r in range(2):
        rec = f"S0{r}/dark/hall"
        make_recording(raw, rec, rgb_frames=72)
        rows += [(rec, f"S0{r}", "stop", s, s + 19) for s in range(0, 72, 24)]
    ann = write_annotations(raw / "labels.csv", rows)
    data = tmp_path_factory.mktemp("data")
    cmd = ["segment", str(raw), "--ann", str(ann), "-d", str(data), "--align", "none", "-q"]
    subprocess.run(_mgrdata(*cmd, "--workers", "1"), check=True, capture_output=True)
    return raw, ann, data


def test_a_second_writer_stops_with_the_holder_and_a_killed_holder_is_taken_over(dataset, tmp_path):
    raw, ann, _ = dataset
    data = tmp_path / "data"
    seg = ["segment", str(raw), "--ann", str(ann), "-d", str(data), "--align", "none", "-q"]
    first = subprocess.Popen(
        _mgrdata(*seg, "--workers", "1"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while not (data / LOCK_NAME).exists() and first.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(first.pid, signal.SIGSTOP)  # holds the lock for as long as the test needs
    second = subprocess.run(
        _mgrdata(*seg, "--crf", "30"), capture_output=True, text=True, timeout=120
    )
    lines = second.stderr.splitlines()
    assert second.returncode == 1 and len(lines) == 1, second.stderr
    line = lines[0]
    assert line.startswith(f"Error: {data} is being written by `")
    assert "segment" in line and f"(pid {first.pid} on {socket.gethostname()}, started 20" in line
    assert line.endswith(f"wait for it to finish, or delete {data / LOCK_NAME} if that run is gone")

    os.kill(first.pid, signal.SIGKILL)  # leaves its lock behind
    first.wait()
    assert json.loads((data / LOCK_NAME).read_text())["pid"] == first.pid
    third = subprocess.run(_mgrdata(*seg), capture_output=True, text=True, timeout=300)
    assert third.returncode == 0, third.stderr
    assert "note: took over the lock left by `" in third.stdout
    assert f"(pid {first.pid} on" in third.stdout
    assert not (data / LOCK_NAME).exists()
    check = subprocess.run(_mgrdata("validate", "-d", str(data)), capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "orphan" not in check.stdout


def test_readers_do_not_wait_and_writers_stop_while_a_live_run_holds_the_lock(dataset):
    _, _, data = dataset
    lock = _write_lock(data, os.getpid())  # this test's process: alive
    try:
        ok = CliRunner().invoke(mgrdata, ["validate", "-d", str(data)])
        assert ok.exit_code == 0, ok.output
        refused = CliRunner().invoke(mgrdata, ["split", "-d", str(data)])
        assert refused.exit_code == 1
        assert refused.output.startswith(f"Error: {data} is being written by `mgrdata segment")
        assert len(refused.output.splitlines()) == 1
        assert lock.exists() and not (data / "splits").exists()
        from mgrdark_train.cli import cli as mgrtrain

        refused = CliRunner().invoke(mgrtrain, ["prepare", "-d", str(data), "-q"])
        assert refused.exit_code == 1 and len(refused.output.splitlines()) == 1
        assert refused.output.startswith(f"Error: {data} is being written by `mgrdata segment")
        assert not (data / "cache").exists()
    finally:
        lock.unlink()


def test_a_lock_of_another_host_is_never_taken_over(dataset):
    _, _, data = dataset
    lock = _write_lock(data, _dead_pid(), host="elsewhere")
    try:
        refused = CliRunner().invoke(mgrdata, ["split", "-d", str(data)])
        assert refused.exit_code == 1
        assert " on elsewhere, started 2023-11-14 22:13:20 UTC);" in refused.output
    finally:
        lock.unlink()


def test_a_stale_lock_of_this_host_is_taken_over_with_a_note(dataset, caplog):
    _, _, data = dataset
    dead = _dead_pid()
    _write_lock(data, dead)
    with data_lock(data, "test") as held:
        assert held.took_over["pid"] == dead
        assert json.loads((data / LOCK_NAME).read_text())["pid"] == os.getpid()
    assert "took over the lock left by `mgrdata segment raw --ann l.csv`" in caplog.text
    assert not (data / LOCK_NAME).exists()


def test_the_lock_nests_in_one_process_and_excludes_records_of_others(tmp_path):
    with data_lock(tmp_path, "outer"), data_lock(tmp_path, "inner"):
        assert (tmp_path / LOCK_NAME).exists()
    assert not (tmp_path / LOCK_NAME).exists()
    _write_lock(tmp_path, os.getppid())
    with pytest.raises(DataLockedError, match=f"pid {os.getppid()} on"), data_lock(tmp_path, "t"):
        pass


def test_a_missing_root_is_not_created_by_readers_of_it(tmp_path):
    with data_lock(tmp_path / "nope", "split"):
        pass
    assert not (tmp_path / "nope").exists()


def test_each_writer_removes_the_temporary_files_of_dead_runs_only(tmp_path):
    clips = tmp_path / "clips" / "rgb"
    clips.mkdir(parents=True)
    dead = clips / f".a.mp4.{_dead_pid()}.tmp"
    live = clips / f".b.mp4.{os.getpid()}.tmp"
    other = clips / ".c.mp4.tmp"  # not a pid-named temporary file: not ours to judge
    manifest = tmp_path / "manifest"
    manifest.mkdir()
    dead_manifest = manifest / f".clips.parquet.{_dead_pid()}.tmp"
    for p in (dead, live, other, dead_manifest):
        p.write_bytes(b"x")
    with data_lock(tmp_path, "test") as held:
        assert held.debris == sorted([dead, dead_manifest])
    assert not dead.exists() and not dead_manifest.exists()
    assert live.exists() and other.exists()


def test_debris_is_judged_by_host_and_pid(tmp_path):
    """Temporary names carry the writer's host: this host's are removed when their pid is
    dead, another host's (a cluster worker of an earlier run) whatever its pid, since the
    lock holder is the only run that may write."""
    here = host_tag()
    clips = tmp_path / "clips"
    clips.mkdir()
    mine_live = clips / f".a.mp4.{here}.{os.getpid()}.tmp"
    mine_dead = clips / f".b.mp4.{here}.{_dead_pid()}.tmp"
    remote = clips / f".c.mp4.h-node17.{os.getpid()}.tmp"  # a pid that is alive here
    for p in (mine_live, mine_dead, remote):
        p.write_bytes(b"x")
    with data_lock(tmp_path, "test") as held:
        assert held.debris == sorted([mine_dead, remote])
    assert mine_live.exists() and not remote.exists()


def test_temporary_names_carry_host_and_pid():
    tmp = temporary_sibling(Path("clips/rgb/x.y.mp4"))
    assert tmp.name == f".x.y.mp4.{host_tag()}.{os.getpid()}.tmp"
    m = TEMPORARY_NAME.match(tmp.name)
    assert (m["name"], m["host"], int(m["pid"])) == ("x.y.mp4", host_tag(), os.getpid())
    old = TEMPORARY_NAME.match(".x.y.mp4.123.tmp")  # written by an earlier version
    assert (old["name"], old["host"], old["pid"]) == ("x.y.mp4", None, "123")
    assert re.fullmatch(r"h-[A-Za-z0-9-]+", host_tag())
