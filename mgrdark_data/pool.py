"""The one place that starts worker processes for a data command (segment, validate, stats,
synth, the training cache).

`worker_pool(workers)` yields a plain `concurrent.futures.Executor`: a process pool whose
workers die with their parent, or an inline executor for one worker (no pickling, no
processes). Cluster executors (Dask, Ray, Slurm) plug in here and nowhere else.

Why the workers need help to die: `kill -9` of a command gives its pool no chance to shut
down, and the orphaned workers would be reparented to PID 1 and keep decoding. On Linux each
worker asks the kernel for SIGKILL when its parent dies (`prctl(PR_SET_PDEATHSIG)`); on other
systems, or if prctl is unavailable, a daemon thread in the worker polls its parent and exits
when the parent is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor

PR_SET_PDEATHSIG = 1
WATCH_INTERVAL_S = 0.5


class InlineExecutor(Executor):
    """Runs each call at once in the calling process; `map` is lazy, so a progress bar fed by
    its results moves as the work is done."""

    def submit(self, fn: Callable, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as e:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(e)
        return future

    def map(self, fn: Callable, *iterables: Iterable, timeout=None, chunksize: int = 1):
        return map(fn, *iterables)


@contextlib.contextmanager
def worker_pool(workers: int) -> Iterator[Executor]:
    """An executor with `workers` processes (inline for `workers <= 1`).

    Leaving the block waits for running calls and cancels queued ones, also on an error.
    """
    if workers <= 1:
        yield InlineExecutor()
        return
    pool = ProcessPoolExecutor(
        max_workers=workers, initializer=_die_with_parent, initargs=(os.getpid(),)
    )
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _die_with_parent(owner: int) -> None:
    """Worker initializer: exit when the process that made the pool is gone."""
    parent = os.getppid()
    if not _set_parent_death_signal():
        threading.Thread(target=_watch, args=(owner, parent), daemon=True).start()
    if not pid_alive(owner):  # the owner died before the request above took effect
        os._exit(1)


def _set_parent_death_signal() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(owner: int, parent: int) -> None:
    while os.getppid() == parent and pid_alive(owner):
        time.sleep(WATCH_INTERVAL_S)
    os._exit(1)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (always True where that cannot be
    asked without side effects: on Windows `os.kill(pid, 0)` would signal it)."""
    if os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True
    return True
