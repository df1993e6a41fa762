"""The annotation CSV (annotations/README.md): parsing and the row checks that need no media.

Checks that need the streams (span inside the RGB stream, depth/IR coverage, sync gaps) happen
when clip jobs are planned (`mgrdark_data.planning`), and so does turning a row given in seconds
(`start_s`/`end_s`) into RGB frames. A bad row never aborts a run: it becomes a `RejectRecord`
with a reason code and a message naming the values involved.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path, PurePosixPath

from .errors import AnnotationError
from .records import RejectRecord
from .vocabulary import Vocabulary

REQUIRED_COLUMNS = ("recording", "subject", "gesture", "start_frame", "end_frame")
SECONDS_COLUMNS = ("start_s", "end_s")
"""May replace start_frame/end_frame: seconds on the RGB clock, mapped to the nearest frames."""
SENSOR_COLUMNS = {
    "depth": ("depth_start_frame", "depth_end_frame"),
    "ir": ("ir_start_frame", "ir_end_frame"),
}
"""Optional per-sensor ranges (same index base, end inclusive): they replace the time mapping
of that modality for the row (`timemap.linear_frames`)."""
OPTIONAL_COLUMNS = (
    "light",
    "scene",
    *SECONDS_COLUMNS,
    *(c for pair in SENSOR_COLUMNS.values() for c in pair),
)
LIGHT_VALUES = ("dark", "daylight")


@dataclass(frozen=True)
class Instance:
    """One accepted gesture instance, frames already 0-based.

    A row given in seconds has `start_s`/`end_s` (the cells as written) and no frames until
    planning maps them to RGB frames (`planning.resolve_seconds`).
    """

    source_row: int
    """Line number in the CSV (header is line 1)."""
    recording: str
    subject: str
    gesture: str
    label: int
    start_frame: int | None
    end_frame: int | None
    light: str | None
    scene: str | None
    extra: dict[str, str | None] = field(default_factory=dict)
    start_s: str | None = None
    end_s: str | None = None
    sensor_ranges: dict[str, tuple[int, int]] = field(default_factory=dict)
    """modality -> (first, last) source frame, 0-based inclusive, from the per-sensor columns."""

    @property
    def num_frames(self) -> int:
        assert self.start_frame is not None and self.end_frame is not None
        return self.end_frame - self.start_frame + 1

    @property
    def resolved(self) -> bool:
        """True once the instance has RGB frames."""
        return self.start_frame is not None

    def seconds(self) -> tuple[Fraction, Fraction]:
        """start_s and end_s, exactly as written (decimal)."""
        assert self.start_s is not None and self.end_s is not None
        return _decimal(self.start_s), _decimal(self.end_s)  # type: ignore[return-value]

    def reject(self, code: str, reason: str, index_base: int = 0) -> RejectRecord:
        """This instance as a reject row; its frames are written back in the CSV's numbering."""
        given_frames = self.start_s is None
        return RejectRecord(
            source_row=self.source_row,
            reason_code=code,
            reason=reason,
            recording=self.recording,
            subject=self.subject,
            gesture=self.gesture,
            start_frame=str(self.start_frame + index_base) if given_frames else None,
            end_frame=str(self.end_frame + index_base) if given_frames else None,
            start_s=self.start_s,
            end_s=self.end_s,
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
            if all(c in header for c in SECONDS_COLUMNS):
                missing = [c for c in missing if c not in ("start_frame", "end_frame")]
            if missing:
                raise AnnotationError(
                    f"{path}: missing required column(s) {', '.join(missing)}; the header must "
                    f"include {', '.join(REQUIRED_COLUMNS)} (or start_s, end_s in place of the "
                    "frames; see annotations/README.md)"
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


def _decimal(text: str) -> Fraction | None:
    """A finite decimal number, exactly (`0.1` is 1/10), or None."""
    try:
        value = Decimal((text or "").strip())
    except InvalidOperation:
        return None
    return Fraction(value) if value.is_finite() else None


def _sensor_ranges(row: dict, index_base: int) -> dict[str, tuple[int, int]] | tuple[str, str]:
    """The row's per-sensor ranges (0-based), or (reason code, reason) for a bad pair."""
    out = {}
    for modality, (a, b) in SENSOR_COLUMNS.items():
        cells = [(row.get(c) or "").strip() for c in (a, b)]
        if not any(cells):
            continue
        if not all(cells):
            given, empty = (a, b) if cells[0] else (b, a)
            return "incomplete_sensor_range", f"{given} is given but {empty} is empty"
        start, end = _frame(cells[0]), _frame(cells[1])
        if start is None or end is None:
            bad = (a, cells[0]) if start is None else (b, cells[1])
            return "non_integer_frame", f"{bad[0]} {bad[1]!r} is not an integer"
        if start - index_base < 0:
            return "negative_frame", f"{a} {start} is below the index base {index_base}"
        if start > end:
            return "start_after_end", f"{a} {start} > {b} {end}"
        out[modality] = (start - index_base, end - index_base)
    return out


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
    Rows given in seconds are not span-checked here: `check_spans` does it once they have
    frames.
    """
    instances, rejects = read_instances(path, vocabulary, index_base=index_base)
    kept, span_rejects = check_spans(instances, index_base)
    return kept, sorted(rejects + span_rejects, key=lambda r: r.source_row)


def read_instances(
    path: str | os.PathLike, vocabulary: Vocabulary, *, index_base: int = 0
) -> tuple[list[Instance], list[RejectRecord]]:
    """The row checks of `parse_annotations`, without the duplicate and overlap checks."""
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
                start_s=row.get("start_s"),
                end_s=row.get("end_s"),
            )
        )

    for line, row in rows:
        frame_cells = (row.get("start_frame") or "").strip() or (row.get("end_frame") or "").strip()
        seconds = not frame_cells and any((row.get(c) or "").strip() for c in SECONDS_COLUMNS)
        start, end = _frame(row.get("start_frame", "")), _frame(row.get("end_frame", ""))
        if seconds:
            start, end = _decimal(row.get("start_s", "")), _decimal(row.get("end_s", ""))
        recording = normalise_recording(row.get("recording", ""))
        subject = (row.get("subject") or "").strip()
        cls = vocabulary.resolve(row.get("gesture") or "")
        light = (row.get("light") or "").strip().lower() or None
        ranges = _sensor_ranges(row, index_base)
        if seconds and (start is None or end is None):
            bad = row.get("start_s") if start is None else row.get("end_s")
            reject(line, row, "bad_time", f"time {bad!r} is not a number of seconds")
        elif start is None or end is None:
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
        elif not seconds and start - index_base < 0:
            reject(
                line,
                row,
                "negative_frame",
                f"start_frame {start} is below the index base {index_base}",
            )
        elif start > end:
            unit, a, b = ("s", row["start_s"], row["end_s"]) if seconds else ("frame", start, end)
            a, b = (str(v).strip() for v in (a, b))
            reject(line, row, "start_after_end", f"start_{unit} {a} > end_{unit} {b}")
        elif light is not None and light not in LIGHT_VALUES:
            reject(line, row, "bad_light", f"light {light!r} is not one of {LIGHT_VALUES}")
        elif isinstance(ranges, tuple):
            reject(line, row, *ranges)
        else:
            accepted.append(
                Instance(
                    line,
                    recording,
                    subject,
                    cls.name,
                    cls.id,
                    None if seconds else int(start - index_base),
                    None if seconds else int(end - index_base),
                    light,
                    (row.get("scene") or "").strip() or None,
                    {c: row.get(c) for c in extra_cols},
                    row["start_s"].strip() if seconds else None,
                    row["end_s"].strip() if seconds else None,
                    ranges,
                )
            )
    return accepted, rejects


def check_spans(
    instances: list[Instance], index_base: int
) -> tuple[list[Instance], list[RejectRecord]]:
    """Exact duplicates keep the first row; overlapping spans reject both rows. Frames in the
    reasons are in the CSV's numbering. Instances without frames yet pass unchecked."""

    def span(i: Instance) -> str:
        return f"{i.start_frame + index_base}-{i.end_frame + index_base}"

    by_recording: dict[str, list[Instance]] = {}
    for inst in instances:
        if inst.resolved:
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
