"""Where things live in a dataset root (README, "Manifests") and how to write files atomically."""

from __future__ import annotations

import contextlib
import os
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import OutputError, os_error_advice
from .pool import pid_alive

DEFAULT_DATA_DIR = "mgrdark-data"
DATA_ENV = "MGRDARK_DATA"

CLIP_EXTENSIONS: dict[str, str] = {"rgb": ".mp4", "ir": ".mp4", "depth": ".mkv"}
"""Container of each modality's clips: H.264 for rgb and ir, FFV1 gray16le for depth."""


def resolve_data_root(data: str | os.PathLike | None = None) -> Path:
    """`-d/--data` if given, else `$MGRDARK_DATA`, else `./mgrdark-data`."""
    if data is not None:
        return Path(data)
    return Path(os.environ.get(DATA_ENV) or DEFAULT_DATA_DIR)


@dataclass(frozen=True)
class DataRoot:
    """The layout of a dataset root; every path a command reads or writes comes from here."""

    root: Path

    @classmethod
    def resolve(cls, data: str | os.PathLike | None = None) -> DataRoot:
        return cls(resolve_data_root(data))

    def clip_relpath(self, modality: str, clip_id: str) -> str:
        """Path of a clip relative to the root, as stored in the manifest (always '/')."""
        return f"clips/{modality}/{clip_id}{CLIP_EXTENSIONS[modality]}"

    def clip_path(self, modality: str, clip_id: str) -> Path:
        return self.root / self.clip_relpath(modality, clip_id)

    @property
    def manifest_dir(self) -> Path:
        return self.root / "manifest"

    @property
    def clips_manifest(self) -> Path:
        return self.manifest_dir / "clips.parquet"

    @property
    def recordings_manifest(self) -> Path:
        return self.manifest_dir / "recordings.parquet"

    @property
    def rejects_manifest(self) -> Path:
        return self.manifest_dir / "rejects.parquet"

    @property
    def frames_manifest(self) -> Path:
        """One row per clip frame: each modality's source frame, time and sync error."""
        return self.manifest_dir / "frames.parquet"

    @property
    def alignment_table(self) -> Path:
        """Where `mgrdata align` writes its table when no --out is given."""
        return self.manifest_dir / "align.csv"

    @property
    def splits_dir(self) -> Path:
        return self.root / "splits"

    def split_path(self, name: str) -> Path:
        return self.splits_dir / f"{name}.parquet"

    @property
    def stats_dir(self) -> Path:
        return self.root / "stats"


def make_dir(path: str | os.PathLike) -> Path:
    """Create a folder and its parents; an OutputError names the folder when that fails."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create folder {path}: {_why(e)}") from e
    return path


TEMPORARY_NAME = re.compile(r"^\.(?P<name>.+?)(?:\.(?P<host>h-[A-Za-z0-9-]+))?\.(?P<pid>\d+)\.tmp$")
"""`.name.h-HOST.PID.tmp`: every file a command writes is first written under this name (names
of earlier versions, `.name.PID.tmp`, carry no host)."""


def host_tag() -> str:
    """This host's name as it appears in temporary names: `h-` and [A-Za-z0-9-] only."""
    return "h-" + (re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "unknown")


def temporary_sibling(path: Path) -> Path:
    """A hidden name beside `path` that no reader mistakes for a finished file; the host and
    pid tell whether its writer still runs (`remove_debris`)."""
    return path.with_name(f".{path.name}.{host_tag()}.{os.getpid()}.tmp")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; rename it onto `path` only if the block succeeds.

    A process killed at any moment leaves either the old file, the new one, or a hidden
    `.name.PID.tmp` file, never a truncated file under the final name.
    """
    path = Path(path)
    make_dir(path.parent)
    tmp = temporary_sibling(path)
    try:
        tmp.touch()
    except OSError as e:
        raise OutputError(f"cannot write in {path.parent}: {_why(e)}") from e
    try:
        try:
            yield tmp
        except OSError as e:
            if os_error_advice(e) is None:
                raise
            raise OutputError(f"cannot write {path}: {_why(e)}") from e
        try:
            os.replace(tmp, path)
        except OSError as e:
            raise OutputError(f"cannot write {path}: {_why(e)}") from e
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _why(e: OSError) -> str:
    return os_error_advice(e) or e.strerror or str(e)


def remove_debris(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files (`.name.h-HOST.PID.tmp`) under `folder` whose writer is gone.

    Call this while holding the folder's lock (`mgrdark_data.lock`), before the run's own
    writers start: then a file of this host is debris if its pid is dead, and a file of
    another host (a cluster worker of an earlier run) is debris as it stands, since no run but
    ours may write in the folder. Files of live processes on this host are left alone, and so
    are host-less names of earlier versions whose pid is alive here. Returns the files removed.
    """
    here = host_tag()
    removed = []
    for dirpath, _, names in os.walk(folder):
        for name in names:
            match = TEMPORARY_NAME.match(name)
            if match is None:
                continue
            host = match["host"]
            if (host is None or host == here) and pid_alive(int(match["pid"])):
                continue
            path = Path(dirpath, name)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return sorted(removed)
