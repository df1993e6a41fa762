"""The alignment table written by `mgrdata align` and read by `mgrdata segment --align FILE`.

Parquet or CSV by extension, one row per recording. A person may edit the CSV by hand, so the
reader is forgiving about what it can be (column order, empty cells for nulls, extra
columns) and precise about what it cannot (a missing column, a non-number where a number must
be).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import MgrdarkError
from ..paths import atomic_path
from .decision import AlignmentDecision

COLUMNS = (
    "recording",
    "scale",
    "shift_x",
    "shift_y",
    "score",
    "frames_used",
    "method",
    "ir_offset_s",
    "sync_score",
    "note",
)
REQUIRED = ("recording", "scale", "shift_x", "shift_y")
"""Columns a hand-written table must have; the others default to null."""
OPTIONAL = tuple(c for c in COLUMNS if c not in REQUIRED)
SCHEMA = pa.schema(
    [
        pa.field("recording", pa.string(), nullable=False),
        pa.field("scale", pa.float64()),
        pa.field("shift_x", pa.float64()),
        pa.field("shift_y", pa.float64()),
        pa.field("score", pa.float64()),
        pa.field("frames_used", pa.int64()),
        pa.field("method", pa.string()),
        pa.field("ir_offset_s", pa.float64()),
        pa.field("sync_score", pa.float64()),
        pa.field("note", pa.string()),
        pa.field("mode", pa.string()),
    ]
)
"""`mode` says where the row came from ('auto', 'file', 'none'); it is informative only."""


class AlignmentTableError(MgrdarkError):
    """An alignment table cannot be read or does not have the expected columns."""


def table_format(path: Path) -> str:
    """'parquet' or 'csv' by the file's extension; any other is an AlignmentTableError."""
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix == ".csv":
        return "csv"
    raise AlignmentTableError(
        f"{path}: alignment tables are .parquet or .csv files; rename it to one of those"
    )


def write_alignment_table(decisions: dict[str, AlignmentDecision], path: str | os.PathLike) -> Path:
    """Write one row per recording, atomically, as Parquet or CSV by extension."""
    path = Path(path)
    kind = table_format(path)
    rows = [d.to_row(rid) for rid, d in sorted(decisions.items())]
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    with atomic_path(path) as tmp:
        if kind == "parquet":
            pq.write_table(table, tmp)
        else:
            table.to_pandas().to_csv(tmp, index=False, float_format="%.6f")
    return path


def _number(value, column: str, row: int, path: Path, integer: bool = False):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        value = value.strip()
        if value == "" or value.lower() in ("nan", "none", "null", "na"):
            return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise AlignmentTableError(
            f"{path}: row {row}, column {column}: {value!r} is not a number"
        ) from None
    if not math.isfinite(number):
        raise AlignmentTableError(f"{path}: row {row}, column {column}: {value!r} is not finite")
    if integer:
        if number != int(number):
            raise AlignmentTableError(
                f"{path}: row {row}, column {column}: {value!r} is not a whole number"
            )
        return int(number)
    return number


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def read_alignment_table(path: str | os.PathLike) -> dict[str, AlignmentDecision]:
    """Read a table written by `write_alignment_table` or by hand; keys are recording ids.

    Rows whose scale and shifts are all empty mean "keep native IR geometry". Each returned
    decision has mode 'file'.
    """
    path = Path(path)
    kind = table_format(path)
    if not path.is_file():
        raise AlignmentTableError(
            f"alignment table {path} does not exist; write one with `mgrdata align RAW --out FILE`"
        )
    try:
        if kind == "parquet":
            df = pq.read_table(path).to_pandas()
        else:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (OSError, ValueError, pa.ArrowException) as e:
        raise AlignmentTableError(f"cannot read alignment table {path}: {e}") from e
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise AlignmentTableError(
            f"{path}: missing column(s) {', '.join(missing)}; an alignment table needs "
            f"{', '.join(REQUIRED)} (optional: {', '.join(OPTIONAL)})"
        )
    out: dict[str, AlignmentDecision] = {}
    for n, rec in enumerate(df.to_dict("records"), start=2 if kind == "csv" else 1):
        rid = _text(rec.get("recording"))
        if rid is None:
            raise AlignmentTableError(f"{path}: row {n} has no recording id")
        if rid in out:
            raise AlignmentTableError(f"{path}: recording {rid} appears twice (row {n})")
        geometry = [_number(rec.get(c), c, n, path) for c in ("scale", "shift_x", "shift_y")]
        given = [g is not None for g in geometry]
        if any(given) and not all(given):
            raise AlignmentTableError(
                f"{path}: row {n} ({rid}): give scale, shift_x and shift_y together, or leave "
                "all three empty for native IR geometry"
            )
        if geometry[0] is not None and geometry[0] <= 0:
            raise AlignmentTableError(f"{path}: row {n} ({rid}): scale must be positive")
        out[rid] = AlignmentDecision(
            scale=geometry[0],
            shift_x=geometry[1],
            shift_y=geometry[2],
            score=_number(rec.get("score"), "score", n, path),
            method=_text(rec.get("method")) or "file",
            note=_text(rec.get("note")),
            mode="file",
            ir_offset_s=_number(rec.get("ir_offset_s"), "ir_offset_s", n, path),
            sync_score=_number(rec.get("sync_score"), "sync_score", n, path),
            frames_used=_number(rec.get("frames_used"), "frames_used", n, path, integer=True),
        )
    return out
