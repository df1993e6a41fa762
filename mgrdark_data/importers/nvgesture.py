"""`mgrdata import nvgesture`: NVIDIA's dynamic hand gestures (NvGesture, Molchanov et al.,
CVPR 2016) -> the normal segmentation, with the official subject split.

The download unpacks as::

    NVROOT/
      nvgesture_train_correct_cvpr2016_v2.lst
      nvgesture_test_correct_cvpr2016_v2.lst
      Video_data/class_XX/subjectN_rK/
        sk_color.avi   SoftKinetic colour, 30 fps                -> rgb
        sk_depth.avi   SoftKinetic depth: 8-bit gray H.264, 30 fps -> depth (values kept, 0-255)
        duo_left.avi   DUO infrared (left): another camera, 35 fps -> ir (its own view)

and each list line annotates every sensor separately::

    path:./Video_data/class_01/subject13_r0 depth:sk_depth:138:218 color:sk_color:138:218
    duo_left:duo_left:161:254 label:1

Conventions, those of the dataset's own reader (`readdata.py`: `load_split_nvgesture`,
`load_data_from_file`): frame numbers are 0-based and the end is exclusive (it seeks to `start`
and reads `range(start, end)`), so a window `S:E` becomes frames `S .. E-1` of the annotation
row (whose ends are inclusive); labels are 1-25 and class id = label - 1; the `label:` field
wins over the `class_XX` folder (the v2 lists relabel 23 clips). Every sensor's window becomes
that modality's per-sensor range (`ir_start_frame`, ...), so each modality's clip spreads its
own window over the colour clip's frames (`timemap.linear_frames`).
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import av

from ..annotations import normalise_recording
from ..errors import MgrdarkError, OptionError
from ..lock import data_lock
from ..manifest import read_frame, write_split
from ..media.probe import probe_stream
from ..media.write import EncoderSettings
from ..paths import DataRoot, atomic_path, make_dir
from ..progress import Progress
from ..recordings import RecordingFiles
from ..records import ClipRecord, RejectRecord
from ..segment import SegmentReport, segment_dataset
from ..vocabulary import Vocabulary, load_vocabulary

TRAIN_LIST = "nvgesture_train_correct_cvpr2016_v2.lst"
TEST_LIST = "nvgesture_test_correct_cvpr2016_v2.lst"
LISTS = {"train": TRAIN_LIST, "test": TEST_LIST}
"""Split name -> the official list file (v2, the corrected labels)."""
STREAM_FILES = {"rgb": "sk_color.avi", "depth": "sk_depth.avi", "ir": "duo_left.avi"}
SENSOR_KEYS = {"color": "rgb", "depth": "depth", "duo_left": "ir"}
"""List field -> modality."""
VOCABULARY = "nvgesture"
"""The packaged 25-class vocabulary (`mgrdark_data/resources/nvgesture_classes.csv`)."""
SPLIT_NAME = "nvgesture"
ANNOTATIONS = "annotations/nvgesture.csv"
"""The annotation CSV the importer writes, relative to the dataset root."""
COLUMNS = (
    "recording",
    "subject",
    "gesture",
    "start_frame",
    "end_frame",
    "depth_start_frame",
    "depth_end_frame",
    "ir_start_frame",
    "ir_end_frame",
    "list",
    "list_line",
)
_FOLDER = re.compile(r"^subject(\d+)_r(\d+)$")


class NvGestureError(MgrdarkError):
    """The folder is not an NvGesture root, or an option does not apply to it."""


@dataclass(frozen=True)
class ListEntry:
    """One well-formed list line."""

    list: str
    """'train' or 'test'."""
    line: int
    """Line number in its list file, from 1."""
    recording: str
    """The `path:` folder relative to NVROOT ('Video_data/class_01/subject13_r0')."""
    subject: str
    """'subject13', from the folder name."""
    label: int
    """Class id, 0-based (the file's label - 1)."""
    windows: dict[str, tuple[int, int]]
    """modality -> (start, end) as in the file: 0-based, end exclusive."""

    def row(self, vocabulary: Vocabulary) -> dict[str, str | int]:
        """The annotation CSV row: 0-based frames, ends inclusive."""
        (c0, c1), (d0, d1), (i0, i1) = (self.windows[m] for m in ("rgb", "depth", "ir"))
        values = (self.recording, self.subject, vocabulary.classes[self.label].name, c0, c1 - 1)
        values += (d0, d1 - 1, i0, i1 - 1, self.list, self.line)
        return dict(zip(COLUMNS, values, strict=True))


def parse_line(text: str, classes: int = 25) -> tuple[str, str, int, dict[str, tuple[int, int]]]:
    """(recording, subject, 0-based label, windows) of one list line; ValueError says why not."""
    fields: dict[str, str] = {}
    for token in text.split():
        key, sep, value = token.partition(":")
        if not sep or not value:
            raise ValueError(f"field {token!r} is not key:value")
        if key in fields:
            raise ValueError(f"field {key}: appears twice")
        fields[key] = value
    missing = [k for k in ("path", *SENSOR_KEYS, "label") if k not in fields]
    if missing:
        raise ValueError(f"no {', '.join(k + ':' for k in missing)} field")
    recording = normalise_recording(fields["path"])
    if recording is None:
        raise ValueError(f"path {fields['path']!r} is absolute or leaves NVROOT")
    folder = _FOLDER.match(recording.rsplit("/", 1)[-1])
    if folder is None:
        raise ValueError(f"folder {recording!r} does not end in subjectN_rK")
    windows = {}
    for key, modality in SENSOR_KEYS.items():
        parts = fields[key].split(":")
        numbers = [p for p in parts[1:] if p.isdigit()]
        if len(parts) != 3 or len(numbers) != 2:
            raise ValueError(f"{key}:{fields[key]} is not {key}:FILE:START:END")
        start, end = int(parts[1]), int(parts[2])
        if end <= start:
            raise ValueError(f"{key} window {start}:{end} is empty (0-based start, end exclusive)")
        windows[modality] = (start, end)
    label = fields["label"]
    if not label.isdigit() or not 1 <= int(label) <= classes:
        raise ValueError(f"label {label!r} is not one of 1-{classes}")
    return recording, f"subject{int(folder.group(1))}", int(label) - 1, windows


def read_nvgesture_lists(
    nvroot: str | os.PathLike, classes: int = 25
) -> tuple[list[ListEntry], list[RejectRecord], list[str]]:
    """Both official lists: well-formed lines, `bad_list_line` rejects (their `source_row` is
    the list line named in the reason) and warnings (a list that is missing).

    Raises NvGestureError when NVROOT holds neither list.
    """
    nvroot = Path(nvroot)
    present = {name: nvroot / file for name, file in LISTS.items() if (nvroot / file).is_file()}
    if not present:
        raise NvGestureError(
            f"{nvroot} holds neither {TRAIN_LIST} nor {TEST_LIST}: give the folder the NvGesture "
            "download unpacks to (the one with the lists and Video_data/)"
        )
    warnings = [
        f"{LISTS[name]} is missing: no {name} clips" for name in LISTS if name not in present
    ]
    entries: list[ListEntry] = []
    rejects: list[RejectRecord] = []
    for name, path in present.items():
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as e:
            raise NvGestureError(f"cannot read {path}: {e.strerror}") from e
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            try:
                recording, subject, label, windows = parse_line(text, classes)
            except ValueError as e:
                given = re.search(r"(?:^|\s)path:(\S+)", text)
                recording = normalise_recording(given.group(1)) if given else None
                reason = f"{path.name} line {number}: {e}"
                rejects.append(RejectRecord(number, "bad_list_line", reason, recording))
                continue
            entries.append(ListEntry(name, number, recording, subject, label, windows))
    return entries, rejects, warnings


@dataclass
class ImportReport:
    """What `import_nvgesture` did."""

    segment: SegmentReport
    annotations: Path
    """The annotation CSV written (one row per usable list line)."""
    lines: dict[str, int]
    """Well-formed lines per list."""
    split_path: Path | None = None
    """DATA/splits/nvgesture.parquet, or None when it could not be written."""
    split_subjects: dict[str, list[str]] = field(default_factory=dict)
    depth_format: str | None = None
    """The first depth file's pixel format and bits per sample, e.g. 'yuv420p, 8-bit'."""
    warnings: list[str] = field(default_factory=list)


def import_nvgesture(
    nvroot: str | os.PathLike,
    data: str | os.PathLike | None = None,
    *,
    align: str = "none",
    workers: int | None = None,
    settings: EncoderSettings | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import NvGesture: list lines -> `DATA/annotations/nvgesture.csv` -> `segment_dataset` ->
    `DATA/splits/nvgesture.parquet` (train and test subjects of the official lists).

    Args:
        nvroot: The unpacked download (the lists and `Video_data/`); read only.
        data: Dataset root (default `$MGRDARK_DATA`, else `./mgrdark-data`). Its manifests
            are replaced: import into a root of its own.
        align: 'none' (duo_left keeps its own view and geometry) or an alignment table (`mgrdata
            align`'s format, one row per recording id) that warps IR into the colour view.
        workers, settings, force, progress: As for `segment_dataset`.
    """
    if align == "auto":
        raise OptionError(
            "--align auto is not available for NvGesture (duo_left is another camera in another "
            "layout); use --align none, or --align FILE with a table per recording"
        )
    nvroot = Path(nvroot)
    root = DataRoot.resolve(data)
    # One writer for the whole import: the annotations, the segmentation and the split.
    with data_lock(root, "import nvgesture", create=True):
        vocabulary = load_vocabulary(VOCABULARY)
        entries, rejects, warnings = read_nvgesture_lists(nvroot, len(vocabulary))
        recordings: dict[str, RecordingFiles] = {}
        usable: list[ListEntry] = []
        for e in entries:
            folder = nvroot / e.recording
            if not (folder / STREAM_FILES["rgb"]).is_file():
                reason = f"{LISTS[e.list]} line {e.line}: no {e.recording}/{STREAM_FILES['rgb']}"
                rejects.append(RejectRecord(e.line, "unknown_recording", reason, e.recording))
                continue
            if e.recording not in recordings:
                streams = {m: folder / f for m, f in STREAM_FILES.items()}
                present = {m: p if p.is_file() else None for m, p in streams.items()}
                recordings[e.recording] = RecordingFiles(
                    e.recording, folder, streams["rgb"], present["depth"], present["ir"], None
                )
            usable.append(e)
        annotations = root.root / ANNOTATIONS
        make_dir(annotations.parent)
        with atomic_path(annotations) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(e.row(vocabulary) for e in usable)
        report = segment_dataset(
            nvroot,
            annotations,
            root.root,
            align=align,
            workers=workers,
            settings=settings,
            force=force,
            classes=VOCABULARY,
            progress=progress,
            recordings=recordings,
            rejects=sorted(rejects, key=lambda r: r.source_row),
        )
        lines = {name: sum(e.list == name for e in entries) for name in LISTS}
        out = ImportReport(report, annotations, lines, warnings=warnings)
        out.depth_format = _depth_format(recordings.values())
        clips = read_frame(root.clips_manifest, ClipRecord)
        assignment, notes = official_split(entries, set(clips["subject"]))
        out.warnings += notes
        if assignment:
            out.split_path = write_split(assignment, root.split_path(SPLIT_NAME))
            for name in LISTS:
                out.split_subjects[name] = sorted(s for s, v in assignment.items() if v == name)
    return out


def official_split(
    entries: list[ListEntry], with_clips: set[str]
) -> tuple[dict[str, str] | None, list[str]]:
    """subject -> 'train' | 'test' from the lists, for the subjects that have clips, and
    warnings. None when a subject is in both lists: a subject split cannot say that."""
    by_list: dict[str, set[str]] = {name: set() for name in LISTS}
    for e in entries:
        by_list[e.list].add(e.subject)
    both = sorted(by_list["train"] & by_list["test"])
    if both:
        return None, [
            f"subject(s) {both} appear in both lists, so the lists are not a subject split; "
            f"splits/{SPLIT_NAME}.parquet is not written (the clips' `list` column says which "
            "list each clip came from)"
        ]
    listed = by_list["train"] | by_list["test"]
    notes = []
    lost = sorted(listed - with_clips)
    if lost:
        notes.append(f"subject(s) {lost} have no clip (every line rejected): left out of the split")
    if not listed & with_clips:
        return None, notes + ["no clip was cut, so no split is written"]
    return {s: name for name, subs in by_list.items() for s in subs if s in with_clips}, notes


def _depth_format(recordings) -> str | None:
    """'yuv420p, 8-bit' for the first recording's depth file (None without one)."""
    for files in recordings:
        if files.depth is not None:
            try:
                fmt = probe_stream(files.depth).pix_fmt
                bits = max(c.bits for c in av.VideoFormat(fmt).components)
            except (MgrdarkError, ValueError):
                continue
            return f"{fmt}, {bits}-bit"
    return None
