"""Where the data commands' tasks run: local processes, Dask, Ray, or Slurm through submitit.

Every long data command (`segment`, `align`, `stats`, `validate`, `mgrtrain prepare`) splits
its work into tasks (one stream of one recording, one recording, one video, one clip) and hands
them to `run_tasks`, which takes any `concurrent.futures.Executor`, as lhotse's feature
extraction does, or a spec naming one:

    local                 worker processes on this machine (`mgrdark_data.pool`, the default)
    dask-local            a Dask LocalCluster of `workers` single-threaded processes
    dask://HOST:PORT      the Dask scheduler at tcp://HOST:PORT
    ray-local             a Ray instance started here with `workers` CPUs
    ray://HOST:PORT       a Ray cluster through Ray Client; `ray` joins the one on this node
    slurm[:FILE.yaml]     Slurm jobs through submitit, its options in a small YAML file

The engines are optional extras (`pip install mgrdark[dask]`, `[ray]`, `[slurm]`); a missing
one is a one-line `ExecutorError` naming the extra. Tasks are top-level functions of picklable
records that read and write on a file system every worker sees; results come back to the
driver, which alone writes manifests (and holds the data-root lock). A task that raises or
whose worker dies is submitted again, at most `retries` more times, then reported as a
`TaskFailure` that the command treats like any bad recording; one that says the output cannot
be written at all (a full disk, a read-only root: `errors.cannot_write`) stops the run. The
engines' own re-running of lost tasks is switched off where we start or submit them, so
`retries` is the bound.
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib.util
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, Union

from .engines import open_dask, open_ray, open_slurm, read_slurm_options
from .errors import ExecutorError, cannot_write

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_RETRIES = 2
"""Extra attempts of a failed task before it is reported as failed."""

SPECS = "local, dask-local, dask://HOST:PORT, ray-local, ray://HOST:PORT or slurm[:FILE.yaml]"


@dataclass(frozen=True)
class ExecutorSpec:
    """A parsed `--executor` value."""

    kind: str
    """'local', 'dask-local', 'dask', 'ray-local', 'ray' or 'slurm'."""
    address: str | None = None
    """The scheduler (dask: tcp://HOST:PORT) or cluster (ray: ray://HOST:PORT or 'auto')."""
    options: dict[str, Any] = field(default_factory=dict)
    """slurm: the YAML file's settings."""
    text: str = field(default="", compare=False)
    """The spec as written."""

    @classmethod
    def parse(cls, text: str | None) -> ExecutorSpec:
        """`local` (also None or ''), `dask-local`, `dask://HOST:PORT`, `ray-local`,
        `ray://HOST:PORT`, `ray`, `slurm` or `slurm:FILE.yaml`."""
        text = (text or "local").strip()
        if text in ("local", "dask-local", "ray-local"):
            return cls(text, text=text)
        if text.startswith("dask://"):
            where = text.removeprefix("dask://")
            if not _host_port(where):
                raise ExecutorError(f"--executor {text!r}: expected dask://HOST:PORT")
            return cls("dask", f"tcp://{where}", text=text)
        if text == "ray":
            return cls("ray", "auto", text=text)
        if text.startswith("ray://"):
            if not _host_port(text.removeprefix("ray://")):
                raise ExecutorError(f"--executor {text!r}: expected ray://HOST:PORT")
            return cls("ray", text, text=text)
        if text == "slurm" or text.startswith("slurm:"):
            path = text.partition(":")[2]
            return cls("slurm", None, read_slurm_options(Path(path)) if path else {}, text)
        raise ExecutorError(f"--executor {text!r}: expected {SPECS}")

    def __str__(self) -> str:
        return self.text or self.address or self.kind


ExecutorLike = Union[str, ExecutorSpec, cf.Executor, None]  # noqa: UP007 - a runtime alias
"""What the library functions' `executor` argument takes: a spec (text or parsed), an
executor object (used as it is, never shut down by us), or None for local processes."""


ENGINE_MODULES = {"dask": "distributed", "ray": "ray", "slurm": "submitit"}
"""The extra (`pip install 'mgrdark[EXTRA]'`) each engine needs, and the module it brings."""


def require_engine(spec: ExecutorSpec) -> ExecutorSpec:
    """`spec`, once its engine is known to be installed (nothing is imported or started)."""
    extra = spec.kind.removesuffix("-local")
    module = ENGINE_MODULES.get(extra)
    if module is not None and importlib.util.find_spec(module) is None:
        raise ExecutorError(_missing(spec, module))
    return spec


def _missing(spec: ExecutorSpec, module: str) -> str:
    extra = spec.kind.removesuffix("-local")
    return f"--executor {spec}: {module} is not installed; pip install 'mgrdark[{extra}]'"


def _host_port(where: str) -> bool:
    host, sep, port = where.rpartition(":")
    return bool(host) and bool(sep) and port.isdigit()


def is_local(executor: ExecutorLike) -> bool:
    """Whether tasks run in this machine's process pool (the default)."""
    if isinstance(executor, cf.Executor):
        return False
    spec = executor if isinstance(executor, ExecutorSpec) else ExecutorSpec.parse(executor)
    return spec.kind == "local"


@contextmanager
def open_executor(executor: ExecutorLike, workers: int | None = None) -> Iterator[cf.Executor]:
    """The executor `executor` names, started (and stopped afterwards) when we start it.

    `workers` sizes what is started here: local processes, a LocalCluster, a local Ray
    instance. A remote cluster has the size it has; an executor object is used as it is.
    """
    if isinstance(executor, cf.Executor):
        yield executor
        return
    spec = executor if isinstance(executor, ExecutorSpec) else ExecutorSpec.parse(executor)
    n = max(1, workers or _cpu_count())
    if spec.kind == "local":
        from .pool import worker_pool

        with worker_pool(n) as pool:
            yield pool
        return
    if spec.kind == "slurm":
        ctx = open_slurm(spec.options)
    else:
        ctx = (open_dask if spec.kind.startswith("dask") else open_ray)(spec.address, n)
    with ExitStack() as stack:
        try:
            pool = stack.enter_context(ctx)
        except ModuleNotFoundError as e:
            raise ExecutorError(_missing(spec, e.name or "its engine")) from e
        log.info("tasks run on %s", spec)
        yield pool


def _cpu_count() -> int:
    return os.cpu_count() or 1


@dataclass(frozen=True)
class TaskFailure:
    """A task that failed on every attempt: its last error."""

    error: str
    attempts: int

    def __str__(self) -> str:
        return f"task failed {self.attempts} time(s); last error: {self.error}"


def run_tasks(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    executor: ExecutorLike = None,
    workers: int | None = None,
    retries: int = DEFAULT_RETRIES,
    chunksize: int = 1,
) -> Iterator[tuple[int, R | TaskFailure]]:
    """`fn(item)` for every item, on `executor`; yields (index, result) as tasks finish.

    A task that raises, or whose worker dies, is submitted again up to `retries` times; then
    its index comes with a `TaskFailure`. With local processes and `workers` 1 (or one item)
    the tasks run here, in order, without pickling. `chunksize` items travel as one task
    (`tasks_per_job` of a Slurm executor raises it). `fn` must be a top-level function.
    """
    if not items:
        return
    inline = is_local(executor) and (workers == 1 or len(items) == 1)
    if inline:
        for i, item in enumerate(items):
            yield i, _attempts(fn, item, retries)
        return
    n = min(workers or _cpu_count(), len(items))
    with _Pools(executor, n) as pools:
        yield from _drive(pools, fn, items, retries, chunksize)


def _attempts(fn: Callable[[T], R], item: T, retries: int) -> R | TaskFailure:
    for attempt in range(retries + 1):
        try:
            return fn(item)
        except Exception as e:  # noqa: BLE001 - a failing task is reported, not raised
            if cannot_write(e):
                raise  # a full disk, a read-only root: every attempt would fail, stop
            error = _describe(e)
            log.warning("task failed (attempt %d of %d): %s", attempt + 1, retries + 1, error)
    return TaskFailure(error, retries + 1)


def _describe(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


@dataclass
class _Chunk:
    indices: list[int]
    attempt: int = 1


def run_chunk(fn: Callable[[T], R], items: list[T]) -> list[tuple[bool, Any]]:
    """One task on a worker: `fn` of each item, as (True, result) or (False, error text).
    An error saying the output cannot be written at all (`errors.cannot_write`) is raised:
    it stops the run."""
    out: list[tuple[bool, Any]] = []
    for item in items:
        try:
            out.append((True, fn(item)))
        except Exception as e:  # noqa: BLE001 - reported to the driver, which retries
            if cannot_write(e):
                raise
            out.append((False, _describe(e)))
    return out


class _Pools:
    """The executor of a run; a local pool broken by a dead worker is replaced by a new one
    (its tasks are then retried like any other failure)."""

    def __init__(self, executor: ExecutorLike, workers: int):
        self.executor, self.workers = executor, workers
        self.stack = ExitStack()

    def __enter__(self) -> _Pools:
        self.pool = self.stack.enter_context(open_executor(self.executor, self.workers))
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.close()

    def renew(self) -> bool:
        """Replace a broken pool we own; False for an executor object we were given."""
        if isinstance(self.executor, cf.Executor):
            return False
        self.stack.close()
        self.stack = ExitStack()
        self.__enter__()
        return True


def _drive(
    pools: _Pools, fn: Callable, items: Sequence, retries: int, chunksize: int
) -> Iterator[tuple[int, Any]]:
    size = max(1, chunksize, getattr(pools.pool, "tasks_per_job", 1))
    chunks = [_Chunk(list(range(i, min(i + size, len(items))))) for i in range(0, len(items), size)]
    running: dict[cf.Future, _Chunk] = {}

    def submit(batch: Iterable[_Chunk]) -> None:
        batch = list(batch)
        args = [(fn, [items[i] for i in c.indices]) for c in batch]
        try:
            futures = _submit(pools.pool, args)
        except cf.BrokenExecutor:
            if not pools.renew():
                raise
            futures = _submit(pools.pool, args)
        running.update(zip(futures, batch, strict=True))

    try:
        submit(chunks)
        while running:
            done, _ = cf.wait(list(running), return_when=cf.FIRST_COMPLETED)
            again: list[_Chunk] = []
            for future in done:
                chunk = running.pop(future)
                try:
                    results = future.result()
                except Exception as e:  # noqa: BLE001 - a lost worker, a broken pool
                    if cannot_write(e):
                        raise
                    results = [(False, _describe(e))] * len(chunk.indices)
                for i, (ok, value) in zip(chunk.indices, results, strict=True):
                    if ok:
                        yield i, value
                    elif chunk.attempt > retries:
                        yield i, TaskFailure(value, chunk.attempt)
                    else:
                        log.warning(
                            "task %d failed (attempt %d of %d), again: %s",
                            i,
                            chunk.attempt,
                            retries + 1,
                            value,
                        )
                        again.append(_Chunk([i], chunk.attempt + 1))
            if again:
                submit(again)
    finally:
        for future in running:
            future.cancel()


def _submit(pool: cf.Executor, args: list[tuple]) -> list[cf.Future]:
    many = getattr(pool, "submit_many", None)  # a Slurm executor: one job array
    if many is not None:
        return many(run_chunk, args)
    return [pool.submit(run_chunk, *a) for a in args]
