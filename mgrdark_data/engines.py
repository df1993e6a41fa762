"""The optional cluster engines behind `mgrdark_data.executors`, each as a
`concurrent.futures.Executor` in a context manager: Dask (`distributed`), Ray, and Slurm
through submitit.

Each engine is imported only when asked for, so a missing one raises `ModuleNotFoundError`,
which `executors.open_executor` turns into a message naming the extra to install. Where we
start or submit to an engine, its own re-running of a task whose worker died is off, so that
`executors.run_tasks`' `retries` is the one bound on attempts.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from .errors import ExecutorError

log = logging.getLogger(__name__)

SLURM_KEYS = {
    "folder": "where submitit keeps each job's pickled task, logs and result (shared FS)",
    "cluster": "submitit's cluster: slurm (default), local (this machine), debug (in-process)",
    "tasks_per_job": "tasks run one after another in one Slurm job (default 16)",
    "poll_s": "seconds between checks of the jobs' state (default 5)",
    "max_array_size": "jobs per Slurm job array, at most (default 1000: Slurm's MaxArraySize)",
}
"""Our keys of the Slurm YAML; every other key goes to submitit's `update_parameters`
(`slurm_partition`, `timeout_min`, `cpus_per_task`, `mem_gb`, `slurm_array_parallelism`, ...)."""


@contextmanager
def open_dask(address: str | None, workers: int) -> Iterator[cf.Executor]:
    """The scheduler at `address`, or a LocalCluster of `workers` one-thread processes."""
    import dask
    from distributed import Client, LocalCluster

    chatty = logging.getLogger("distributed")
    if chatty.getEffectiveLevel() < logging.WARNING:  # each start and stop is logged at INFO
        chatty.setLevel(logging.WARNING)
    if address is None:
        # A worker lost mid-task fails the task at once; run_tasks decides on another attempt.
        with (
            dask.config.set({"distributed.scheduler.allowed-failures": 0}),
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client.get_executor(pure=False)
        return
    try:
        client = Client(address, timeout="30s")
    except (OSError, TimeoutError) as e:
        raise ExecutorError(
            f"cannot reach the Dask scheduler at {address}: {e}; is `dask scheduler` running?"
        ) from e
    with client:
        yield client.get_executor(pure=False)


class RayExecutor(cf.Executor):
    """Ray tasks as `concurrent.futures`: one CPU each, never re-run by Ray itself."""

    def __init__(self) -> None:
        import ray

        self._ray = ray
        self._remote: dict[Callable, Any] = {}

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> cf.Future:
        if fn not in self._remote:
            self._remote[fn] = self._ray.remote(num_cpus=1, max_retries=0)(fn)
        return self._remote[fn].remote(*args, **kwargs).future()


@contextmanager
def open_ray(address: str | None, workers: int) -> Iterator[cf.Executor]:
    """The Ray cluster at `address` (`ray://HOST:PORT`, or 'auto'), or a local instance with
    `workers` CPUs."""
    import ray

    if ray.is_initialized():  # the caller's own Ray session: use it, leave it running
        yield RayExecutor()
        return
    try:
        if address is None:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    except (ConnectionError, RuntimeError, OSError) as e:
        where = address or "a local Ray instance"
        raise ExecutorError(f"cannot start or reach {where}: {_first_line(e)}") from e
    try:
        yield RayExecutor()
    finally:
        ray.shutdown()


def read_slurm_options(path: Path) -> dict[str, Any]:
    """The Slurm YAML file: a mapping of our keys (`SLURM_KEYS`) and submitit's."""
    try:
        options = yaml.safe_load(path.read_text())
    except OSError as e:
        raise ExecutorError(f"cannot read the Slurm options file {path}: {e.strerror}") from e
    except yaml.YAMLError as e:
        raise ExecutorError(f"{path}: not valid YAML: {_first_line(e)}") from e
    if options is None:
        return {}
    if not isinstance(options, dict) or not all(isinstance(k, str) for k in options):
        raise ExecutorError(f"{path}: expected a mapping of option names to values")
    return options


class SubmititExecutor(cf.Executor):
    """submitit jobs as `concurrent.futures`; `submit_many` sends one job array."""

    def __init__(self, executor: Any, tasks_per_job: int, poll_s: float, max_array_size: int):
        self._executor, self.tasks_per_job, self._poll_s = executor, tasks_per_job, poll_s
        self._max_array = max_array_size
        self._jobs: dict[Any, cf.Future] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="submitit jobs", daemon=True)
        self._watcher.start()

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> cf.Future:
        return self._track([self._executor.submit(fn, *args, **kwargs)])[0]

    def submit_many(self, fn: Callable, argsets: Sequence[tuple]) -> list[cf.Future]:
        jobs = []
        for start in range(0, len(argsets), self._max_array):
            with self._executor.batch():
                for args in argsets[start : start + self._max_array]:
                    jobs.append(self._executor.submit(fn, *args))
        return self._track(jobs)

    def _track(self, jobs: list) -> list[cf.Future]:
        futures = []
        for job in jobs:
            future: cf.Future = cf.Future()
            future.set_running_or_notify_cancel()
            futures.append(future)
            with self._lock:
                self._jobs[job] = future
        return futures

    def _watch(self) -> None:
        while not self._stop.wait(self._poll_s):
            with self._lock:
                jobs = list(self._jobs.items())
            for job, future in jobs:
                if not job.done():
                    continue
                with self._lock:
                    del self._jobs[job]
                try:
                    future.set_result(job.result())
                except Exception as e:  # noqa: BLE001 - the job's failure is the task's
                    future.set_exception(e)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._stop.set()
        self._watcher.join()
        with self._lock:
            left = list(self._jobs)
        for job in left:  # jobs nobody waits for any more must not hold the cluster
            job.cancel(check=False)


@contextmanager
def open_slurm(options: dict[str, Any]) -> Iterator[cf.Executor]:
    """A submitit executor from the Slurm YAML's settings (`SLURM_KEYS` and submitit's)."""
    import submitit

    options = dict(options)
    folder = Path(options.pop("folder", "mgrdark-submitit")).resolve()
    cluster = options.pop("cluster", "slurm")
    tasks_per_job = options.pop("tasks_per_job", 16)
    poll_s = options.pop("poll_s", 5.0)
    max_array_size = options.pop("max_array_size", 1000)
    for key, value in (("tasks_per_job", tasks_per_job), ("max_array_size", max_array_size)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ExecutorError(f"slurm option {key}: expected an integer >= 1, not {value!r}")
    if not isinstance(poll_s, int | float) or poll_s <= 0:
        raise ExecutorError(f"slurm option poll_s: expected seconds > 0, not {poll_s!r}")
    try:
        executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
    except (RuntimeError, ValueError) as e:  # no `srun` here, an unknown cluster
        raise ExecutorError(
            f"cannot submit to {cluster}: {_first_line(e)} (`cluster: local` in the YAML runs "
            "the jobs on this machine)"
        ) from e
    try:
        executor.update_parameters(**options)
    except (NameError, ValueError, TypeError, AssertionError, RuntimeError) as e:
        # submitit names a misspelt key with NameError, a value of the wrong type by assert
        raise ExecutorError(f"slurm options: {_first_line(e)}") from e
    pool = SubmititExecutor(executor, tasks_per_job, float(poll_s), max_array_size)
    try:
        yield pool
    finally:
        pool.shutdown()


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__
