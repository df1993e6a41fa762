"""One writer per dataset root: `DATA/.mgrdark.lock`.

Every command that writes into a root (segment, split, stats and export into DATA, align's
table in DATA, `mgrtrain prepare`) holds the lock while it runs; readers (validate, training,
preview) never take it. A second writer stops at once with one line naming the holder.

How: the holder record (pid, host, command, start time, a token) is written to a temporary
file and hard-linked to the lock name. `link` either creates the name or fails with EEXIST,
atomically, also on NFS (v2 included, where O_EXCL is not atomic), and a reader never sees a
half-written record. `fcntl`/`flock` locks were not used: on NFS they depend on the lock
daemon (silently local-only with `nolock` mounts), and a dead holder cannot be named, while
the record says who holds the root. Their one advantage, release on death, is replaced by
a liveness check: a record from this host whose pid is gone (or is now another process, by
its start time) is stale and taken over, with a warning. A record from another host is never
taken over (its pid means nothing here): the message says to delete the file if that run is
gone.

Where linking is not supported (some FUSE and SMB mounts) the record is created with
O_CREAT | O_EXCL instead.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shlex
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .errors import MgrdarkError, OutputError, os_error_advice
from .paths import DataRoot, make_dir, remove_debris, temporary_sibling
from .pool import pid_alive

LOCK_NAME = ".mgrdark.lock"
log = logging.getLogger(__name__)

_held: dict[Path, int] = {}
"""Roots this process holds, with a nesting count (a command calling another is one writer)."""


class DataLockedError(MgrdarkError):
    """Another run is writing into the same dataset root."""


def lock_path(root: DataRoot | Path) -> Path:
    return _root_dir(root) / LOCK_NAME


@dataclass
class Held:
    """What taking the lock found: a stale holder taken over, debris of dead runs removed."""

    took_over: dict | None = None
    debris: list[Path] = field(default_factory=list)

    def notes(self) -> list[str]:
        out = []
        if self.took_over:
            out.append(f"took over the lock left by {describe(self.took_over)}, no longer running")
        if self.debris:
            out.append(f"removed {len(self.debris)} temporary file(s) left by runs that died")
        return out


@contextlib.contextmanager
def data_lock(
    root: DataRoot | Path, command: str, *, create: bool = False, log_notes: bool = True
) -> Iterator[Held]:
    """Hold the root's lock for the block, after removing the debris of dead runs in it.

    Args:
        root: The dataset root.
        command: What this process does ("segment"); the record also keeps the command line.
        create: Create a missing root (segment); otherwise a missing root is not locked (the
            command fails reading its input, and no empty folder is left behind).
        log_notes: Log `Held.notes()` as warnings (False: the caller reports them).
    """
    folder = _root_dir(root)
    if create:
        make_dir(folder)
    elif not folder.is_dir():
        yield Held()
        return
    key = folder.resolve()
    if key in _held:
        _held[key] += 1
        try:
            yield Held()
        finally:
            _held[key] -= 1
        return
    record, held = _acquire(folder / LOCK_NAME, command)
    _held[key] = 1
    try:
        held.debris = remove_debris(folder)
        for note in held.notes() if log_notes else ():
            log.warning(note)
        yield held
    finally:
        del _held[key]
        _release(folder / LOCK_NAME, record)


def lock_outputs(
    root: DataRoot | Path | None, command: str, *outputs: str | os.PathLike | None
) -> contextlib.AbstractContextManager:
    """`data_lock(root)` if any of `outputs` lies inside the root, else nothing to hold."""
    if root is None:
        return contextlib.nullcontext(Held())
    folder = _root_dir(root).absolute().resolve()
    for out in outputs:
        if out is not None and Path(out).absolute().resolve().is_relative_to(folder):
            return data_lock(root, command)
    return contextlib.nullcontext(Held())


def describe(holder: dict) -> str:
    started = datetime.fromtimestamp(holder.get("started", 0), timezone.utc)
    return (
        f"`{holder.get('argv') or holder.get('command', '?')}` "
        f"(pid {holder.get('pid', '?')} on {holder.get('host', '?')}, "
        f"started {started:%Y-%m-%d %H:%M:%S} UTC)"
    )


def _root_dir(root: DataRoot | Path) -> Path:
    return root.root if isinstance(root, DataRoot) else Path(root)


def _acquire(path: Path, command: str) -> tuple[dict, Held]:
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": command,
        "argv": shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])[:300],
        "started": time.time(),
        "pid_started": _start_time(os.getpid()),
        "token": uuid.uuid4().hex,
    }
    held = Held()
    for _ in range(20):
        if _create(path, record):
            return record, held
        holder = _read(path)
        if holder is None:  # vanished, or being written (O_EXCL fallback): look again
            time.sleep(0.05)
            continue
        if not _stale(holder):
            raise DataLockedError(
                f"{path.parent} is being written by {describe(holder)}; wait for it to "
                f"finish, or delete {path} if that run is gone"
            )
        if _take_over(path, holder):
            held.took_over = holder
    raise DataLockedError(
        f"cannot take the lock {path} (unreadable or changing); delete it if no other run "
        f"writes into {path.parent}"
    )


def _create(path: Path, record: dict) -> bool:
    """Create the lock file holding `record`; False if it exists."""
    data = json.dumps(record).encode()
    tmp = temporary_sibling(path)
    try:
        try:
            tmp.write_bytes(data)
        except OSError as e:
            if os_error_advice(e) is None:
                raise
            raise OutputError(f"cannot write in {path.parent}: {os_error_advice(e)}") from e
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            return False
        except OSError as e:
            if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS):
                raise
        try:  # no hard links here
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _read(path: Path) -> dict | None:
    try:
        holder = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def _stale(holder: dict) -> bool:
    """A record of this host whose process is gone (or whose pid now names another process)."""
    if holder.get("host") != socket.gethostname():
        return False
    pid = holder.get("pid")
    if not isinstance(pid, int) or not pid_alive(pid):
        return True
    started = holder.get("pid_started")
    return started is not None and _start_time(pid) not in (None, started)


def _take_over(path: Path, holder: dict) -> bool:
    """Remove a stale lock; True if the lock this run looked at is gone.

    The stale file is first renamed to a private name and read again, so that two runs
    taking over at once cannot delete a fresh lock that one of them has just made.
    """
    private = path.with_name(f".{path.name}.stale.{os.getpid()}.tmp")
    try:
        os.replace(path, private)
    except FileNotFoundError:
        return False
    moved = _read(private)
    if moved != holder:  # a live lock made after our read: put it back
        with contextlib.suppress(OSError):
            os.link(private, path)
    private.unlink()
    return moved == holder


def _release(path: Path, record: dict) -> None:
    holder = _read(path)
    if holder is not None and holder.get("token") == record["token"]:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _start_time(pid: int) -> int | None:
    """The kernel's start time of a process (Linux), to tell a reused pid from the holder."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])
