"""Executors without a cluster engine: `--executor` specs, the missing-extra message, bounded
retries of failing tasks and of dead workers, and a failed task reported like a bad
recording. The engines themselves are tested in test_cluster.py."""

from __future__ import annotations

import errno
import importlib.util
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from mgrdark_data import executors
from mgrdark_data.cli import cli
from mgrdark_data.errors import ExecutorError
from mgrdark_data.executors import ExecutorSpec, TaskFailure, require_engine, run_tasks
from mgrdark_data.manifest import read_frame
from mgrdark_data.records import ClipRecord, RejectRecord
from mgrdark_data.segment import segment_dataset
from mgrdark_data.testing import make_recording, write_annotations


@pytest.mark.parametrize(
    ("text", "kind", "address"),
    [
        (None, "local", None),
        ("local", "local", None),
        ("dask-local", "dask-local", None),
        ("dask://sched.lab:8786", "dask", "tcp://sched.lab:8786"),
        ("ray-local", "ray-local", None),
        ("ray://head:10001", "ray", "ray://head:10001"),
        ("ray", "ray", "auto"),
        ("slurm", "slurm", None),
    ],
)
def test_specs(text, kind, address):
    spec = ExecutorSpec.parse(text)
    assert (spec.kind, spec.address, spec.options) == (kind, address, {})


@pytest.mark.parametrize("text", ["dask", "dask://nohost", "ray://h:port", "spark://x:1", "Local"])
def test_an_unknown_spec_names_every_form(text):
    with pytest.raises(ExecutorError) as e:
        ExecutorSpec.parse(text)
    assert str(e.value).startswith(f"--executor {text!r}: expected ")


def test_slurm_options_come_from_a_small_yaml(tmp_path):
    path = tmp_path / "slurm.yaml"
    path.write_text("slurm_partition: gpu\ntimeout_min: 60\ntasks_per_job: 8\n")
    spec = ExecutorSpec.parse(f"slurm:{path}")
    assert spec.options == {"slurm_partition": "gpu", "timeout_min": 60, "tasks_per_job": 8}
    path.write_text("- a list\n")
    with pytest.raises(ExecutorError, match="expected a mapping of option names"):
        ExecutorSpec.parse(f"slurm:{path}")
    with pytest.raises(ExecutorError, match="cannot read the Slurm options file"):
        ExecutorSpec.parse(f"slurm:{tmp_path / 'none.yaml'}")


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        (
            "slurm_partitio: cpu\n",
            "slurm options: Unknown argument 'partitio' for executor 'slurm'",
        ),
        ("timeout_min: soon\n", 'slurm options: Parameter "timeout_min" expected type'),
        ("tasks_per_job: 0\n", "slurm option tasks_per_job: expected an integer >= 1, not 0"),
    ],
)
def test_bad_slurm_options_are_one_line(tmp_path, yaml, message):
    pytest.importorskip("submitit", reason="needs the slurm extra: pip install '.[slurm]'")
    from mgrdark_data.executors import open_executor

    path = tmp_path / "slurm.yaml"
    path.write_text(f"cluster: local\nfolder: {tmp_path / 'jobs'}\n{yaml}")
    with pytest.raises(ExecutorError) as e, open_executor(f"slurm:{path}"):
        pass
    assert str(e.value).startswith(message)
    assert "\n" not in str(e.value)


def test_slurm_without_slurm_says_so(tmp_path, monkeypatch):
    pytest.importorskip("submitit", reason="needs the slurm extra: pip install '.[slurm]'")
    from mgrdark_data.executors import open_executor

    monkeypatch.setenv("PATH", str(tmp_path))  # no srun
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ExecutorError) as e, open_executor("slurm"):
        pass
    assert str(e.value) == (
        'cannot submit to slurm: Could not detect "srun", are you indeed on a slurm cluster? '
        "(`cluster: local` in the YAML runs the jobs on this machine)"
    )


@pytest.mark.parametrize(
    ("text", "module", "extra"),
    [
        ("dask-local", "distributed", "dask"),
        ("ray://h:1", "ray", "ray"),
        ("slurm", "submitit", "slurm"),
    ],
)
def test_a_missing_engine_names_its_extra(monkeypatch, text, module, extra):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == module else real(name, *a)
    )
    with pytest.raises(ExecutorError) as e:
        require_engine(ExecutorSpec.parse(text))
    assert str(e.value).endswith(f"{module} is not installed; pip install 'mgrdark[{extra}]'")


def test_cli_bad_spec_is_a_usage_error_and_a_missing_engine_exit_1(monkeypatch, tmp_path):
    runner = CliRunner()
    bad = runner.invoke(cli, ["validate", "-d", str(tmp_path), "--executor", "dask:/x"])
    assert bad.exit_code == 2
    assert bad.output.strip().splitlines() == [
        "Error: invalid value for '--executor': expected local, dask-local, dask://HOST:PORT, "
        "ray-local, ray://HOST:PORT or slurm[:FILE.yaml] (see 'mgrdata validate --help')"
    ]
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a)
    )
    missing = runner.invoke(cli, ["validate", "-d", str(tmp_path), "--executor", "ray-local"])
    assert missing.exit_code == 1
    assert missing.output.strip().splitlines() == [
        "Error: --executor ray-local: ray is not installed; pip install 'mgrdark[ray]'"
    ]


def flaky(job: tuple[str, int, int]) -> int:
    """Fails its first `fails` attempts (counted in a file: attempts run in other processes)."""
    folder, value, fails = job
    counter = Path(folder) / f"{value}.attempts"
    n = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(n + 1))
    if n < fails:
        raise RuntimeError(f"attempt {n + 1} of {value} fails")
    return value * 10


def dies(job: tuple[str, int]) -> int:
    """Kills its worker process the first time (a worker lost mid-task), then succeeds."""
    folder, value = job
    marker = Path(folder) / f"{value}.died"
    if value == 2 and not marker.exists():
        marker.write_text("")
        os._exit(3)
    return value * 10


def disk_full(job: tuple[str, int]) -> int:
    folder, value = job
    counter = Path(folder) / f"{value}.attempts"
    counter.write_text(str(int(counter.read_text()) + 1 if counter.exists() else 1))
    if value == 1:
        raise OSError(errno.ENOSPC, "No space left on device", f"{folder}/clip.mp4")
    return value


@pytest.mark.parametrize("workers", [1, 2])
def test_an_output_that_cannot_be_written_stops_the_run_without_retries(tmp_path, workers):
    with pytest.raises(OSError) as e:
        list(run_tasks(disk_full, [(str(tmp_path), 0), (str(tmp_path), 1)], workers=workers))
    assert (e.value.errno, e.value.filename) == (errno.ENOSPC, f"{tmp_path}/clip.mp4")
    assert (tmp_path / "1.attempts").read_text() == "1"


@pytest.mark.parametrize("workers", [1, 2])
def test_failed_tasks_are_retried_a_bounded_number_of_times(tmp_path, workers):
    jobs = [(str(tmp_path), 1, 0), (str(tmp_path), 2, 2), (str(tmp_path), 3, 3)]
    out = dict(run_tasks(flaky, jobs, workers=workers, retries=2))
    assert out[0] == 10
    assert out[1] == 20  # failed twice, third attempt succeeded
    assert out[2] == TaskFailure("RuntimeError: attempt 3 of 3 fails", 3)
    attempts = [int((tmp_path / f"{v}.attempts").read_text()) for v in (1, 2, 3)]
    assert attempts == [1, 3, 3]


def test_a_dead_local_worker_costs_an_attempt_not_the_run(tmp_path):
    jobs = [(str(tmp_path), v) for v in range(6)]
    out = dict(run_tasks(dies, jobs, workers=2, retries=1))
    assert out == {i: 10 * i for i in range(6)}
    assert (tmp_path / "2.died").exists()


@pytest.fixture
def raw(tmp_path) -> Path:
    raw = tmp_path / "raw"
    make_recording(raw, "S01/dark/hall", rgb_frames=30, depth=None, ir_frames=0)
    make_recording(raw, "S02/dark/hall", rgb_frames=30, depth=None, ir_frames=0)
    rows = [
        ("S01/dark/hall", "S01", "forward", 0, 9, "x"),
        ("S02/dark/hall", "S02", "stop", 5, 20, "x"),
    ]
    write_annotations(raw / "labels.csv", rows, extra_columns=["scene"])
    return raw


def test_a_failed_stream_task_rejects_its_instances_like_a_bad_recording(
    raw, tmp_path, monkeypatch
):
    from mgrdark_data import segment as segment_module

    real = segment_module.run_stream_task

    def broken_for_s02(task):
        if "S02" in str(task.source):
            raise OSError("Stale file handle")
        return real(task)

    monkeypatch.setattr(segment_module, "run_stream_task", broken_for_s02)
    report = segment_dataset(raw, raw / "labels.csv", tmp_path / "data", workers=1)
    assert (report.clips, report.reject_counts) == (1, {"task_failed": 1})
    rejects = read_frame(tmp_path / "data/manifest/rejects.parquet", RejectRecord)
    (reject,) = rejects.itertuples()
    assert (reject.recording, reject.reason_code) == ("S02/dark/hall", "task_failed")
    assert reject.reason == ("rgb: task failed 3 time(s); last error: OSError: Stale file handle")
    clips = read_frame(tmp_path / "data/manifest/clips.parquet", ClipRecord)
    assert list(clips.recording) == ["S01/dark/hall"]
    assert not any((tmp_path / "data/clips/rgb").glob("S02*"))


def test_an_executor_object_is_used_as_given_and_left_open(raw, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        report = segment_dataset(raw, raw / "labels.csv", tmp_path / "data", executor=pool)
        assert report.clips == 2
        assert pool.submit(int, "7").result() == 7  # still open


def test_retries_default_is_documented():
    assert executors.DEFAULT_RETRIES == 2


def test_every_long_command_hands_its_tasks_to_the_executor(raw, tmp_path, monkeypatch):
    """`--executor` reaches the engine from each command's CLI: a stand-in for `dask-local`
    (threads) records every start, and the commands' results are as usual."""
    from concurrent.futures import ThreadPoolExecutor
    from contextlib import contextmanager

    from mgrdark_train.cli import cli as mgrtrain

    pytest.importorskip("distributed", reason="needs the dask extra: pip install '.[dask]'")
    started: list[tuple[str | None, int]] = []

    @contextmanager
    def fake_dask(address, workers):
        started.append((address, workers))
        with ThreadPoolExecutor(workers) as pool:
            yield pool

    monkeypatch.setattr(executors, "open_dask", fake_dask)
    data = str(tmp_path / "data")
    on = ["--executor", "dask-local", "--workers", "2", "-q"]
    runner = CliRunner()
    runs = {
        "segment": [cli, "segment", str(raw), "--ann", str(raw / "labels.csv"), "-d", data],
        "align": [cli, "align", str(raw), "-d", data, "--out", str(tmp_path / "align.csv")],
        "stats": [cli, "stats", "-d", data],
        "validate": [cli, "validate", "-d", data],
        "prepare": [mgrtrain, "prepare", "-d", data, "--size", "32", "--modality", "rgb"],
    }
    for name, (group, *args) in runs.items():
        before = len(started)
        result = runner.invoke(group, [*args, *on])
        assert result.exit_code == 0, (name, result.output)
        assert started[before:] and all(s == (None, 2) for s in started[before:]), name
    assert "cache jpeg s32: 2 written" in result.output
