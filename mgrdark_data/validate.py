"""`mgrdata validate`: is a dataset root consistent with its manifests and splits?

Checks, each reported as a `Problem` of one kind (`PROBLEM_KINDS`):

* manifests read back with their schema (`mgrdark_data.manifest.read_table`);
* clip rows: unique `clip_id`, `num_frames == end_frame - start_frame + 1` (for clips cut with
  `--fps F`: the frames of the grid from start_s to end_s), paths inside DATA;
* every referenced clip file exists with the manifest's size and sha256, and decodes to
  `num_frames` frames (`quick=True`: no hashing or decoding; the container's frame count,
  read without decoding, is compared instead);
* every `splits/*.parquet`: schema, no subject in two splits (leakage), no subject without clips.

Unreferenced files under `clips/` and subjects a split leaves out are warnings: reported, but
the dataset still passes.
"""

from __future__ import annotations

import logging
import math
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import av
import pyarrow.parquet as pq

from . import MODALITIES
from .errors import ManifestError, MediaError
from .executors import ExecutorLike, TaskFailure, is_local, run_tasks
from .manifest import read_split, read_table
from .media import count_decoded_frames
from .media.write import sha256_file
from .paths import DataRoot
from .progress import Progress, stage_bar
from .records import ClipRecord, RecordingRecord, RejectRecord

logger = logging.getLogger(__name__)

PROBLEM_KINDS: dict[str, str] = {
    "schema": "manifest or split file does not match its schema",
    "missing_manifest": "a manifest file is missing",
    "duplicate_clip_id": "clip_id is not unique",
    "frame_span": "num_frames does not fit the span (end - start + 1 frames, or the --fps grid)",
    "bad_path": "clip path is absolute or leaves the dataset root",
    "incomplete_row": "a modality has a path but no size or hash",
    "missing_file": "referenced clip file does not exist",
    "size_mismatch": "file size differs from the manifest",
    "hash_mismatch": "sha256 differs from the manifest",
    "unreadable": "clip cannot be opened or decoded",
    "frame_count": "clip does not have num_frames frames",
    "leakage": "a subject is in more than one split of a split file",
    "unknown_subject": "a split names a subject that has no clips",
    "unassigned_subject": "a subject with clips is in no split of a split file",
    "no_train": "a split file has no training subject",
    "orphan_file": "file under clips/ not referenced by the manifest",
    "check_failed": "the check of a clip file failed on every attempt (worker died or raised)",
}
WARNING_KINDS = frozenset({"unassigned_subject", "no_train", "orphan_file"})


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the dataset."""

    kind: str
    """A key of `PROBLEM_KINDS`."""
    where: str
    """File (relative to DATA where possible) or clip id."""
    detail: str

    @property
    def fatal(self) -> bool:
        return self.kind not in WARNING_KINDS


@dataclass
class ValidationReport:
    """Every problem found, and how much was checked."""

    root: Path
    quick: bool
    problems: list[Problem] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)
    """Counts of checked items: clips, files, split files."""

    @property
    def ok(self) -> bool:
        """True when there is no problem other than warnings."""
        return not any(p.fatal for p in self.problems)

    def by_kind(self) -> dict[str, list[Problem]]:
        out: dict[str, list[Problem]] = defaultdict(list)
        for p in self.problems:
            out[p.kind].append(p)
        return dict(out)

    def format(self, examples: int = 3) -> str:
        """A readable report: per kind, its count and the first `examples` problems."""
        mode = "quick (no hashing or decoding)" if self.quick else "full"
        counts = ", ".join(f"{n} {what}" for what, n in self.checked.items())
        lines = [f"validated {self.root} ({mode})" + (f": {counts}" if counts else "")]
        kinds = self.by_kind()
        for kind in sorted(kinds, key=lambda k: (k in WARNING_KINDS, k)):
            items = kinds[kind]
            label = "warning" if kind in WARNING_KINDS else "error"
            lines.append(f"  {label} {kind} x{len(items)}: {PROBLEM_KINDS[kind]}")
            lines += [f"      {p.where}: {p.detail}" for p in items[:examples]]
            if len(items) > examples:
                lines.append(f"      ... and {len(items) - examples} more")
        n_fatal = sum(p.fatal for p in self.problems)
        n_warn = len(self.problems) - n_fatal
        lines.append(
            "OK" + (f" ({n_warn} warning(s))" if n_warn else "")
            if self.ok
            else f"FAILED: {n_fatal} problem(s), {n_warn} warning(s)"
        )
        return "\n".join(lines)


@dataclass(frozen=True)
class _FileCheck:
    where: str
    path: Path
    bytes: int
    sha256: str
    frames: int
    quick: bool


def _check_file(c: _FileCheck) -> list[Problem]:
    """Existence, size, hash and frame count of one clip file (a pool task)."""
    if not c.path.is_file():
        return [Problem("missing_file", c.where, "no such file")]
    out = []
    size = c.path.stat().st_size
    if size != c.bytes:
        out.append(Problem("size_mismatch", c.where, f"{size} bytes, manifest says {c.bytes}"))
    if not c.quick:
        digest = sha256_file(c.path)
        if digest != c.sha256:
            out.append(
                Problem(
                    "hash_mismatch",
                    c.where,
                    f"sha256 {digest[:12]}..., manifest {c.sha256[:12]}...",
                )
            )
    try:
        frames = container_frames(c.path) if c.quick else count_decoded_frames(c.path)
    except MediaError as e:
        return [*out, Problem("unreadable", c.where, str(e).removeprefix(f"{c.path}: "))]
    if frames is not None and frames != c.frames:
        how = "in the container" if c.quick else "decoded"
        out.append(Problem("frame_count", c.where, f"{frames} frames {how}, expected {c.frames}"))
    return out


def container_frames(path: str | os.PathLike) -> int | None:
    """Frame count without decoding: the stream header's, else the number of packets."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaError(f"{path}: no video stream")
            stream = container.streams.video[0]
            if stream.frames:
                return int(stream.frames)
            return sum(1 for p in container.demux(stream) if p.size)
    except av.FFmpegError as e:
        raise MediaError(f"{path}: {e}") from e


def _safe_relpath(rel: str) -> bool:
    p = PurePosixPath(rel)
    return not p.is_absolute() and ".." not in p.parts and "\\" not in rel


def _check_rows(clips: list[dict], data: DataRoot, quick: bool) -> tuple[list, list]:
    """Row-level problems and the file checks to run."""
    problems, files = [], []
    seen: dict[str, int] = {}
    for row in clips:
        cid = row["clip_id"]
        seen[cid] = seen.get(cid, 0) + 1
        if seen[cid] == 2:
            problems.append(Problem("duplicate_clip_id", cid, "listed more than once"))
        span_problem = _span_problem(row)
        if span_problem:
            problems.append(Problem("frame_span", cid, span_problem))
        for m in MODALITIES:
            rel = row.get(f"{m}_path")
            if rel is None:
                continue
            size, digest = row.get(f"{m}_bytes"), row.get(f"{m}_sha256")
            if not _safe_relpath(rel):
                problems.append(Problem("bad_path", cid, f"{m}_path {rel!r}"))
            elif size is None or digest is None:
                problems.append(Problem("incomplete_row", cid, f"{m}: no {m}_bytes/{m}_sha256"))
            else:
                files.append(
                    _FileCheck(rel, data.root / rel, size, digest, row["num_frames"], quick)
                )
    return problems, files


def _span_problem(row: dict) -> str | None:
    """Why num_frames does not fit the clip's span, or None."""
    if row.get("grid", "source") == "source":
        span = row["end_frame"] - row["start_frame"] + 1
        if row["num_frames"] != span:
            return (
                f"num_frames {row['num_frames']} but "
                f"frames {row['start_frame']}..{row['end_frame']} are {span}"
            )
        return None
    start, end, fps = row.get("start_s"), row.get("end_s"), row["fps"]
    if start is None or end is None:
        return f"grid {row['grid']} but no start_s/end_s"
    # The grid holds floor((end - start) * fps) + 1 frames; the times are rounded floats.
    want = math.floor((end - start) * fps + 1e-6) + 1
    if row["num_frames"] != want:
        return (
            f"num_frames {row['num_frames']} but {start:.3f}-{end:.3f} s at {fps:g} fps "
            f"is {want} frames"
        )
    return None


def _orphans(data: DataRoot, referenced: set[str]) -> list[Problem]:
    clips_dir = data.root / "clips"
    if not clips_dir.is_dir():
        return []
    out = []
    for p in sorted(clips_dir.rglob("*")):
        rel = p.relative_to(data.root).as_posix()
        if p.is_file() and rel not in referenced:
            why = "temporary file of an interrupted run" if p.name.startswith(".") else ""
            out.append(Problem("orphan_file", rel, why or "not in manifest/clips.parquet"))
    return out


def check_split_file(path: Path, subjects: set[str], label: str) -> list[Problem]:
    """Schema, leakage and subject problems of one split file."""
    try:
        raw = pq.read_table(path).to_pandas()
    except Exception as e:  # noqa: BLE001 - any unreadable file is a schema problem
        return [Problem("schema", label, f"unreadable Parquet file: {e}")]
    out = []
    if {"subject", "split"} <= set(raw.columns):
        splits_of = raw.groupby("subject")["split"].agg(lambda s: sorted(set(s)))
        for subject, names in splits_of.items():
            if len(names) > 1:
                out.append(Problem("leakage", label, f"subject {subject} is in {names}"))
    try:
        df = read_split(path)
    except ManifestError as e:
        if not out:  # a leak is the more specific report of the same duplicate rows
            out.append(Problem("schema", label, str(e).removeprefix(f"{path}: ")))
        return out
    named = set(df["subject"])
    for s in sorted(named - subjects):
        out.append(Problem("unknown_subject", label, f"subject {s} has no clips"))
    missing = sorted(subjects - named)
    if missing:
        out.append(Problem("unassigned_subject", label, f"no split for {missing}"))
    if "train" not in set(df["split"]):
        out.append(Problem("no_train", label, "no subject in 'train'"))
    return out


def validate_dataset(
    data: DataRoot,
    *,
    quick: bool = False,
    workers: int = 1,
    progress: Progress | None = None,
    executor: ExecutorLike = None,
) -> ValidationReport:
    """Check a dataset root; never raises for a problem in the data, reports it instead.

    Args:
        data: Dataset root.
        quick: Metadata only: no hashing or decoding (container frame counts instead).
        workers: Clip files checked in parallel processes.
        progress: Progress display, stage "validate", one unit a clip file.
        executor: Where the file checks run (`mgrdark_data.executors`); None: local processes.
    """
    if not is_local(executor):  # workers elsewhere may start in another folder
        data = DataRoot(data.root.absolute())
    report = ValidationReport(data.root, quick)

    def rel(path: Path) -> str:
        return path.relative_to(data.root).as_posix()

    tables = {}
    for path, rtype in (
        (data.clips_manifest, ClipRecord),
        (data.recordings_manifest, RecordingRecord),
        (data.rejects_manifest, RejectRecord),
    ):
        try:
            tables[rtype] = read_table(path, rtype)
        except ManifestError as e:
            kind = "schema" if path.exists() else "missing_manifest"
            report.problems.append(Problem(kind, rel(path), str(e)))
    if ClipRecord not in tables:
        return report  # without a readable clips manifest nothing else can be checked
    table = tables[ClipRecord]
    clips = table.to_pylist()
    problems, files = _check_rows(clips, data, quick)
    report.problems += problems
    report.problems += _run_file_checks(files, workers, progress, executor)
    report.problems += _orphans(data, {f.where for f in files})
    subjects = {row["subject"] for row in clips}
    split_files = sorted(data.splits_dir.glob("*.parquet")) if data.splits_dir.is_dir() else []
    for path in split_files:
        report.problems += check_split_file(path, subjects, rel(path))
    report.checked = {
        "clips": len(clips),
        "clip files": len(files),
        "split files": len(split_files),
    }
    return report


def _run_file_checks(
    files: list[_FileCheck], workers: int, progress: Progress | None, executor: ExecutorLike
) -> list[Problem]:
    found: list[list[Problem]] = [[] for _ in files]
    # Local processes take the files in a few large chunks; a cluster's scheduler spreads
    # single files best (a Slurm executor groups them into jobs itself).
    chunk = max(1, len(files) // (8 * workers)) if is_local(executor) else 1
    with stage_bar(progress, "validate", len(files), "file") as bar:
        for i, problems in run_tasks(
            _check_file, files, executor=executor, workers=workers, chunksize=chunk
        ):
            if isinstance(problems, TaskFailure):
                problems = [Problem("check_failed", files[i].where, str(problems))]
            found[i] = problems
            bar.update()
    return [p for problems in found for p in problems]
