"""segment, prepare, stats and validate on cluster engines give the bytes of a local run.

Each engine's run is compared with one local run (one process): every row of every manifest,
the sha256 of every clip and cache file, the validation report, the statistics table and what
the progress bars were told. Dask runs on a LocalCluster of two worker processes (one test
kills a worker in the middle of a run), Ray on a local instance, Slurm through submitit's
local executor. A test whose engine is not installed is skipped with the extra to install.
"""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from mgrdark_data.media.write import sha256_file
from mgrdark_data.paths import DataRoot
from mgrdark_data.segment import segment_dataset
from mgrdark_data.stats import compute_brightness_stats
from mgrdark_data.testing import make_recording, write_annotations
from mgrdark_data.validate import validate_dataset
from mgrdark_train.data import prepare_cache

RECORDINGS = ("S01/dark/hall", "S01/daylight/hall", "S02/dark/lab")


def _engine(module: str, extra: str):
    return pytest.importorskip(module, reason=f"needs the {extra} extra: pip install '.[{extra}]'")


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    """Three recordings with rgb, depth (FFV1 or PNG frames) and IR at 30 fps: 9 streams."""
    raw = tmp_path_factory.mktemp("raw")
    rows = []
    for k, rec in enumerate(RECORDINGS):
        make_recording(
            raw,
            rec,
            rgb_frames=60,
            ir_fps=30,
            ir_frames=80,
            depth="png" if k == 1 else "video",
            sync={"ir_offset_s": 0.04},
        )
        subject = rec.split("/")[0]
        rows += [(rec, subject, "forward", 2, 20, "a"), (rec, subject, "stop", 25, 50, "b")]
    write_annotations(raw / "labels.csv", rows, extra_columns=["scene"])
    return raw


class Recorder:
    """A progress factory that remembers each stage's total and the sum of its updates."""

    def __init__(self, on_update=None):
        self.stages: dict[str, list[int]] = {}
        self.on_update = on_update

    def __call__(self, stage: str, total: int, unit: str):
        counts = self.stages.setdefault(stage, [total, 0])
        recorder = self

        class Bar:
            def update(self, n: int = 1) -> None:
                counts[1] += n
                if recorder.on_update is not None:
                    recorder.on_update(stage, counts[1])

            def set_postfix(self, *a, **k) -> None:
                pass

            def close(self) -> None:
                pass

        return Bar()


def run_all(raw: Path, data: Path, executor=None, workers: int = 1) -> dict:
    """Every command on one executor; what a comparison needs of their results."""
    progress = Recorder()
    seg = segment_dataset(
        raw, raw / "labels.csv", data, workers=workers, executor=executor, progress=progress
    )
    root = DataRoot(data)
    cache = prepare_cache(root, size=32, workers=workers, executor=executor, progress=progress)
    stats = compute_brightness_stats(
        data=root, workers=workers, executor=executor, progress=progress
    )
    report = validate_dataset(root, workers=workers, executor=executor, progress=progress)
    return {
        "segment": (seg.clips, seg.files_written, seg.rejected, seg.failed_recordings),
        "cache": (cache.written, cache.skipped, cache.failed, cache.bytes),
        "stats": stats.table.to_dict("records"),
        "validate": (report.problems, report.checked),
        "progress": progress.stages,
        "files": snapshot(data),
    }


def snapshot(data: Path, parts=("manifest", "clips", "cache")) -> dict:
    """Every manifest row, and the sha256 of every other file, by path under `data`."""
    out: dict = {}
    for part in parts:
        for path in sorted((data / part).rglob("*")):
            rel = path.relative_to(data).as_posix()
            if path.suffix == ".parquet":
                out[rel] = pq.read_table(path).to_pylist()
            elif path.is_file():
                out[rel] = sha256_file(path)
    return out


@pytest.fixture(scope="module")
def local(raw, tmp_path_factory) -> dict:
    result = run_all(raw, tmp_path_factory.mktemp("local"), executor="local", workers=1)
    assert result["segment"] == (6, 18, 0, 0)
    assert result["cache"][:3] == (18, 0, [])
    assert result["validate"] == ([], {"clips": 6, "clip files": 18, "split files": 0})
    assert sum(rel.startswith("clips/") for rel in result["files"]) == 18
    assert sum(rel.startswith("cache/") for rel in result["files"]) == 18
    return result


def _same(got: dict, want: dict) -> None:
    assert got["files"].keys() == want["files"].keys()
    for rel, value in want["files"].items():
        assert got["files"][rel] == value, rel
    assert got == want


def test_local_processes_give_the_bytes_of_one_process(raw, local, tmp_path):
    _same(run_all(raw, tmp_path / "data", executor=None, workers=2), local)


# --- Dask ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_scheduler():
    """A LocalCluster of two one-thread worker processes; a worker lost mid-task fails the
    task at once (allowed-failures 0), so the retry seen is ours, not Dask's."""
    _engine("distributed", "dask")
    import dask
    from distributed import LocalCluster

    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
    ):
        yield cluster.scheduler_address


def test_dask_cluster_gives_the_local_bytes(raw, local, dask_scheduler, tmp_path):
    spec = dask_scheduler.replace("tcp://", "dask://")
    _same(run_all(raw, tmp_path / "data", executor=spec, workers=2), local)


def test_dask_worker_killed_mid_run_changes_nothing(raw, local, dask_scheduler, tmp_path, caplog):
    from distributed import Client

    killed: list[int] = []
    with Client(dask_scheduler) as watcher:

        def kill_a_busy_worker(stage: str, done: int) -> None:
            if stage != "segment" or killed:
                return
            busy = [w for w, keys in watcher.processing().items() if keys]
            if busy:
                pid = watcher.run(os.getpid, workers=busy[:1])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

        data = tmp_path / "data"
        caplog.set_level(logging.WARNING, logger="mgrdark_data.executors")
        report = segment_dataset(
            raw,
            raw / "labels.csv",
            data,
            executor=dask_scheduler.replace("tcp://", "dask://"),
            progress=Recorder(kill_a_busy_worker),
        )
    assert killed, "no worker was busy after the first clip: nothing was tested"
    lost = [r.message for r in caplog.records if "(attempt 1 of 3), again" in r.message]
    assert lost and all("KilledWorker" in m for m in lost)
    assert (report.clips, report.files_written, report.rejected) == (6, 18, 0)
    assert snapshot(data, ("manifest", "clips")) == _part(local, "manifest/", "clips/")
    assert not list(data.rglob(".*.tmp")), "a killed worker's temporary file is left"


def _part(result: dict, *prefixes: str) -> dict:
    return {k: v for k, v in result["files"].items() if k.startswith(prefixes)}


@pytest.mark.slow
def test_dask_local_from_the_cli(raw, local, tmp_path):
    _engine("distributed", "dask")
    from click.testing import CliRunner

    from mgrdark_data.cli import cli

    data = tmp_path / "data"
    args = ["segment", str(raw), "--ann", str(raw / "labels.csv"), "-d", str(data), "-q"]
    result = CliRunner().invoke(cli, [*args, "--executor", "dask-local", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "clips: 6 in manifest (6 written" in result.output
    assert snapshot(data, ("manifest", "clips")) == _part(local, "manifest/", "clips/")


# --- Ray -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_ray_gives_the_local_bytes(raw, local, tmp_path):
    ray = _engine("ray", "ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:  # `ray-local` runs on the session the caller started, and leaves it running
        _same(run_all(raw, tmp_path / "data", executor="ray-local", workers=2), local)
        assert ray.is_initialized()
    finally:
        ray.shutdown()


@pytest.mark.slow
def test_ray_local_starts_and_stops_its_own_instance(raw, local, tmp_path):
    ray = _engine("ray", "ray")
    report = segment_dataset(raw, raw / "labels.csv", tmp_path, workers=2, executor="ray-local")
    assert (report.clips, report.files_written) == (6, 18)
    assert not ray.is_initialized()
    assert snapshot(tmp_path, ("manifest", "clips")) == _part(local, "manifest/", "clips/")


# --- Slurm through submitit ----------------------------------------------------------------


def test_submitit_local_executor_gives_the_local_bytes(raw, local, tmp_path):
    """segment's alignment estimates and streams as submitit jobs: a fresh Python process
    each, as on a Slurm node."""
    _engine("submitit", "slurm")
    options = tmp_path / "slurm.yaml"
    options.write_text(
        f"cluster: local\nfolder: {tmp_path / 'jobs'}\ntasks_per_job: 16\npoll_s: 0.2\n"
        "timeout_min: 10\n"
    )
    spec, data = f"slurm:{options}", tmp_path / "data"
    report = segment_dataset(raw, raw / "labels.csv", data, executor=spec)
    assert (report.clips, report.files_written, report.rejected) == (6, 18, 0)
    assert snapshot(data, ("manifest", "clips")) == _part(local, "manifest/", "clips/")
    # one job array for the 3 alignment estimates, one for the 9 streams
    assert len(list((tmp_path / "jobs").glob("*_result.pkl"))) == 2
