"""The annotation CSV (annotations/README.md): parsing and the row checks that need no media.

Checks that need the streams (span inside the RGB stream, depth/IR coverage) happen when clip
jobs are planned (`mgrdark_data.planning`). A bad row never aborts a run: it becomes a
`RejectRecord` with a reason code and a message naming the values involved.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .errors import AnnotationError
from .records import RejectRecord
from .vocabulary import Vocabulary

REQUIRED_COLUMNS = ("recording", "subject", "gesture", "start_frame", "end_frame")
OPTIONAL_COLUMNS = ("light", "scene")
LIGHT_VALUES = ("dark", "daylight")


@dataclass(frozen=True)
class Instance:
    """One accepted gesture instance, frames already 0-based."""

    source_row: int
    """Line number in the CSV (header is line 1)."""
    recording: str
    subject: str
    gesture: str
    label: int
    start_frame: int
    end_frame: int
    light: str | None
    scene: str | None
    extra: dict[str, str | None] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return self.end_frame - self.start_frame + 1

    def reject(self, code: str, reason: str, index_base: int = 0) -> RejectRecord:
        """This instance as a reject row; its frames are written back in the CSV's numbering."""
        return RejectRecord(
            source_row=self.source_row,
            reason_code=code,
            reason=reason,
            recording=self.recording,
            subject=self.subject,
            gesture=self.gesture,
            start_frame=str(self.start_frame + index_base),
            end_frame=str(self.end_frame + index_base),
        )


@dataclass
class RecordingMeta:
    """What the annotations say about each recording; keys are recording ids.

    Alignment uses it to find a dark take's daylight sibling and the takes of one scene.
    """

    light: dict[str, str | None] = field(default_factory=dict)
    scene: dict[str, str | None] = field(default_factory=dict)
    subject: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def of_instances(cls, instances: Iterable[Instance]) -> RecordingMeta:
        """From accepted instances (first non-empty value per recording)."""
        meta = cls()
        for i in instances:
            for target, value in ((meta.light, i.light), (meta.scene, i.scene)):
                if value and target.get(i.recording) is None:
                    target[i.recording] = value
            meta.subject.setdefault(i.recording, i.subject)
        return meta


def recording_metadata(path: str | os.PathLike) -> RecordingMeta:
    """Light, scene and subject per recording from an annotation CSV (first non-empty value).

    Rows are read as they are, without the checks `parse_annotations` makes: a row a
    segmentation would reject still says which subject and scene its recording shows.
    """
    _, rows = read_annotation_rows(path)
    meta = RecordingMeta()
    for _, row in rows:
        rid = (row.get("recording") or "").strip()
        for column, target in (
            ("light", meta.light),
            ("scene", meta.scene),
            ("subject", meta.subject),
        ):
            value = (row.get(column) or "").strip()
            if value and target.get(rid) is None:
                target[rid] = value.lower() if column == "light" else value
    return meta


def read_annotation_rows(path: str | os.PathLike) -> tuple[list[str], list[tuple[int, dict]]]:
    """Header and `(line number, row)` pairs; raises AnnotationError if the file is unusable."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = [h.strip() for h in (reader.fieldnames or [])]
            reader.fieldnames = header
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise AnnotationError(
                    f"{path}: missing required column(s) {', '.join(missing)}; the header must "
                    f"include {', '.join(REQUIRED_COLUMNS)} (see annotations/README.md)"
                )
            rows = [
                (reader.line_num, row)
                for row in reader
                if any((v or "").strip() for k, v in row.items() if k is not None)
            ]
    except OSError as e:
        raise AnnotationError(f"cannot read annotation file {path}: {e.strerror}") from e
    except (UnicodeDecodeError, csv.Error) as e:
        raise AnnotationError(f"{path}: not a UTF-8 CSV file ({e})") from e
    return header, rows


def _frame(text: str) -> int | None:
    """An integer frame number; integral floats like '12.0' (spreadsheet exports) count too."""
    text = (text or "").strip()
    if text.lstrip("+-").isdigit():
        return int(text)
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() else None


def normalise_recording(text: str) -> str | None:
    """Recording id with '/' separators, or None when absolute or escaping RAW."""
    text = (text or "").strip().replace("\\", "/")
    if not text or text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        return None
    parts = [p for p in PurePosixPath(text).parts if p != "."]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def parse_annotations(
    path: str | os.PathLike, vocabulary: Vocabulary, *, index_base: int = 0
) -> tuple[list[Instance], list[RejectRecord]]:
    """Read the CSV and apply every check that needs no media.

    Returns accepted instances (0-based frames) and rejects. Exact duplicates keep the first
    row; overlapping spans of one recording reject both rows, since neither can be trusted.
    """
    if index_base not in (0, 1):
        raise AnnotationError(f"--index-base must be 0 or 1, got {index_base}")
    header, rows = read_annotation_rows(path)
    extra_cols = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    accepted: list[Instance] = []
    rejects: list[RejectRecord] = []

    def reject(line: int, row: dict, code: str, reason: str) -> None:
        rejects.append(
            RejectRecord(
                source_row=line,
                reason_code=code,
                reason=reason,
                recording=(row.get("recording") or "").strip() or None,
                subject=(row.get("subject") or "").strip() or None,
                gesture=(row.get("gesture") or "").strip() or None,
                start_frame=row.get("start_frame"),
                end_frame=row.get("end_frame"),
            )
        )

    for line, row in rows:
        start, end = _frame(row.get("start_frame", "")), _frame(row.get("end_frame", ""))
        recording = normalise_recording(row.get("recording", ""))
        subject = (row.get("subject") or "").strip()
        cls = vocabulary.resolve(row.get("gesture") or "")
        light = (row.get("light") or "").strip().lower() or None
        if start is None or end is None:
            bad = row.get("start_frame") if start is None else row.get("end_frame")
            reject(line, row, "non_integer_frame", f"frame number {bad!r} is not an integer")
        elif recording is None:
            reject(
                line,
                row,
                "unsafe_recording",
                f"recording {row.get('recording')!r} is empty, absolute or leaves RAW",
            )
        elif not subject:
            reject(line, row, "missing_subject", "subject is empty")
        elif cls is None:
            reject(
                line,
                row,
                "unknown_class",
                f"gesture {row.get('gesture')!r} is not in {vocabulary.source} "
                "(use a class name or id, or pass --classes FILE)",
            )
        elif start - index_base < 0:
            reject(
                line,
                row,
                "negative_frame",
                f"start_frame {start} is below the index base {index_base}",
            )
        elif start > end:
            reject(line, row, "start_after_end", f"start_frame {start} > end_frame {end}")
        elif light is not None and light not in LIGHT_VALUES:
            reject(line, row, "bad_light", f"light {light!r} is not one of {LIGHT_VALUES}")
        else:
            accepted.append(
                Instance(
                    line,
                    recording,
                    subject,
                    cls.name,
                    cls.id,
                    start - index_base,
                    end - index_base,
                    light,
                    (row.get("scene") or "").strip() or None,
                    {c: row.get(c) for c in extra_cols},
                )
            )
    kept, span_rejects = _drop_duplicates_and_overlaps(accepted, index_base)
    return kept, sorted(rejects + span_rejects, key=lambda r: r.source_row)


def _drop_duplicates_and_overlaps(
    instances: list[Instance], index_base: int
) -> tuple[list[Instance], list[RejectRecord]]:
    """Exact duplicates keep the first row; overlapping spans reject both rows. Frames in the
    reasons are in the CSV's numbering."""

    def span(i: Instance) -> str:
        return f"{i.start_frame + index_base}-{i.end_frame + index_base}"

    by_recording: dict[str, list[Instance]] = {}
    for inst in instances:
        by_recording.setdefault(inst.recording, []).append(inst)
    bad: dict[int, tuple[str, str]] = {}
    for items in by_recording.values():
        items = sorted(items, key=lambda x: (x.start_frame, x.end_frame, x.source_row))
        seen: dict[tuple[int, int], Instance] = {}
        active: list[Instance] = []  # earlier instances whose span may still overlap
        for inst in items:
            key = (inst.start_frame, inst.end_frame)
            first = seen.get(key)
            if first is not None:
                if first.gesture == inst.gesture:
                    bad[inst.source_row] = ("duplicate", f"duplicate of row {first.source_row}")
                    continue
                bad[inst.source_row] = (
                    "overlap",
                    f"same span as row {first.source_row} with another gesture ({first.gesture!r})",
                )
                bad.setdefault(
                    first.source_row,
                    (
                        "overlap",
                        f"same span as row {inst.source_row} with another gesture "
                        f"({inst.gesture!r})",
                    ),
                )
                continue
            seen[key] = inst
            active = [a for a in active if a.end_frame >= inst.start_frame]
            for other in active:
                for a, b in ((inst, other), (other, inst)):
                    bad.setdefault(
                        a.source_row,
                        ("overlap", f"frames {span(a)} overlap row {b.source_row} ({span(b)})"),
                    )
            active.append(inst)
    kept = [i for i in instances if i.source_row not in bad]
    rejects = [i.reject(*bad[i.source_row], index_base) for i in instances if i.source_row in bad]
    return kept, rejects
