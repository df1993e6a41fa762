"""`mgrdark_data.pool`: one executor factory; its workers die with their parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mgrdark_data.pool import InlineExecutor, pid_alive, worker_pool
from mgrdark_data.testing import make_recording, write_annotations


def _children(pid: int) -> list[int]:
    """Direct children of `pid`, read from /proc (psutil is not a dependency)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _running(pid: int) -> bool:
    """Alive and not a zombie (a container's PID 1 may never reap the orphans it inherits)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _square(x: int) -> int:
    return x * x


def test_inline_and_process_pools_give_the_same_results():
    with worker_pool(1) as inline:
        assert isinstance(inline, InlineExecutor)
        assert list(inline.map(_square, range(5))) == [0, 1, 4, 9, 16]
        assert inline.submit(_square, 3).result() == 9
    with worker_pool(2) as pool:
        assert list(pool.map(_square, range(5))) == [0, 1, 4, 9, 16]


def test_inline_submit_hands_the_exception_to_the_future():
    with worker_pool(0) as inline:
        future = inline.submit(int, "x")
    with pytest.raises(ValueError):
        future.result()


def test_pid_alive():
    assert pid_alive(os.getpid())
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not pid_alive(proc.pid)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_workers_die_when_segment_is_killed(tmp_path):
    raw = tmp_path / "raw"
    rows = []
    for r in range(2):
        rec = f"S0{r}/dark/hall"
        make_recording(raw, rec, rgb_frames=300, rgb_size=(320, 240), depth="video")
        rows += [(rec, f"S0{r}", "stop", s, s + 19) for s in range(0, 300, 24)]
    ann = write_annotations(raw / "labels.csv", rows)
    data = tmp_path / "data"
    cmd = [sys.executable, "-m", "mgrdark_data", "segment", str(raw), "--ann", str(ann)]
    cmd += ["-d", str(data), "--align", "none", "--workers", "2", "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        workers = _children(proc.pid)
        clips = list((data / "clips").rglob("*")) if (data / "clips").exists() else []
        if len(workers) >= 2 and clips:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before it could be killed; make it longer"
    assert len(workers) >= 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(map(_running, workers)):
        time.sleep(0.05)
    left = [w for w in workers if _running(w)]
    for w in left:  # do not leave them to the next test
        os.kill(w, signal.SIGKILL)
    assert left == []
