"""Parquet manifests: the one place that turns records into typed, versioned tables and back.

Each table's schema is derived from its record dataclass (`mgrdark_data.records`); the schema
name and version are stored in the Parquet metadata and checked on read, together with every
contract column's type and nullability.
"""

from __future__ import annotations

import os
import typing
from collections.abc import Iterable, Sequence
from dataclasses import fields
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import ManifestError
from .paths import atomic_path
from .records import ClipRecord, FrameRecord, RecordingRecord, RejectRecord

_SCHEMA_KEY = b"mgrdark.schema"
_PA_TYPES: dict[type, pa.DataType] = {
    str: pa.string(),
    int: pa.int64(),
    float: pa.float64(),
    bool: pa.bool_(),
}

RecordType = type[ClipRecord] | type[RecordingRecord] | type[RejectRecord] | type[FrameRecord]


def _arrow_field(name: str, hint: object) -> pa.Field:
    args = typing.get_args(hint)
    optional = type(None) in args
    base = next(a for a in args if a is not type(None)) if optional else hint
    return pa.field(name, _PA_TYPES[base], nullable=optional)  # type: ignore[index]


def record_schema(record_type: RecordType, extra_columns: Sequence[str] = ()) -> pa.Schema:
    """Arrow schema of a record type; `extra` dict entries become nullable string columns."""
    hints = typing.get_type_hints(record_type)
    cols = [_arrow_field(f.name, hints[f.name]) for f in fields(record_type) if f.name != "extra"]
    cols += [pa.field(c, pa.string(), nullable=True) for c in extra_columns]
    tag = f"{record_type.TABLE}/{record_type.SCHEMA_VERSION}".encode()
    return pa.schema(cols, metadata={_SCHEMA_KEY: tag})


SPLIT_SCHEMA = pa.schema(
    [pa.field("subject", pa.string(), nullable=False), pa.field("split", pa.string(), False)],
    metadata={_SCHEMA_KEY: b"splits/1"},
)
SPLIT_NAMES = ("train", "val", "test")


def records_to_table(records: Iterable, record_type: RecordType) -> pa.Table:
    rows = []
    extra_cols: dict[str, None] = {}
    for r in records:
        d = r.to_dict()
        extra = d.pop("extra", None) or {}
        extra_cols.update(dict.fromkeys(extra))
        d.update(extra)
        rows.append(d)
    schema = record_schema(record_type, list(extra_cols))
    return pa.Table.from_pylist(rows, schema=schema)


def write_table(table: pa.Table, path: str | os.PathLike) -> Path:
    """Write a Parquet table atomically (temporary name, then rename)."""
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return Path(path)


def write_records(records: Iterable, record_type: RecordType, path: str | os.PathLike) -> Path:
    return write_table(records_to_table(records, record_type), path)


def write_columns(columns: dict[str, Sequence], record_type: RecordType, path: str | os.PathLike):
    """Write a table given column by column (a long table, such as one row per clip frame,
    without a record object per row); the columns are the record type's, checked here."""
    schema = record_schema(record_type)
    missing = set(schema.names) ^ set(columns)
    if missing:
        raise ValueError(f"columns {sorted(missing)} do not match {record_type.__name__}")
    return write_table(pa.table({n: columns[n] for n in schema.names}, schema=schema), path)


def _check(table: pa.Table, expected: pa.Schema, path: Path) -> None:
    meta = table.schema.metadata or {}
    tag = meta.get(_SCHEMA_KEY)
    want = expected.metadata[_SCHEMA_KEY]
    if tag is None:
        raise ManifestError(f"{path}: not an mgrdark manifest (no schema tag); re-create it")
    if tag.split(b"/")[0] != want.split(b"/")[0]:
        raise ManifestError(f"{path}: is a {tag.decode()} table, expected {want.decode()}")
    if tag != want:
        raise ManifestError(
            f"{path}: schema {tag.decode()} but this mgrdark reads {want.decode()}; "
            "re-run the command that wrote it"
        )
    for f in expected:
        if f.name not in table.column_names:
            raise ManifestError(f"{path}: missing column {f.name!r}")
        got = table.schema.field(f.name).type
        if got != f.type and not (pa.types.is_null(got) and f.nullable):
            raise ManifestError(f"{path}: column {f.name!r} is {got}, expected {f.type}")
        if not f.nullable and table.column(f.name).null_count:
            raise ManifestError(f"{path}: column {f.name!r} has null values")


def read_table(path: str | os.PathLike, record_type: RecordType) -> pa.Table:
    """Read a manifest and check it against its record type's schema."""
    path = Path(path)
    if not path.exists():
        raise ManifestError(f"{path} does not exist; run `mgrdata segment` first")
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as e:
        raise ManifestError(f"{path}: unreadable Parquet file ({e}); re-create it") from e
    _check(table, record_schema(record_type), path)
    return table


def read_frame(path: str | os.PathLike, record_type: RecordType) -> pd.DataFrame:
    """A checked manifest as a DataFrame (nullable ints stay nullable: pandas 'Int64')."""
    return read_table(path, record_type).to_pandas(types_mapper=_nullable_types)


def read_records(path: str | os.PathLike, record_type: RecordType) -> list:
    table = read_table(path, record_type)
    core = {f.name for f in fields(record_type)}
    out = []
    for row in table.to_pylist():
        extra = {k: v for k, v in row.items() if k not in core}
        rec = record_type.from_dict(row)
        if extra and hasattr(rec, "extra"):
            rec.extra = extra
        out.append(rec)
    return out


def _nullable_types(t: pa.DataType):
    if pa.types.is_int64(t):
        return pd.Int64Dtype()
    return None


def read_split(path: str | os.PathLike) -> pd.DataFrame:
    """Read and check a `splits/<name>.parquet` file (columns subject, split)."""
    path = Path(path)
    if not path.exists():
        raise ManifestError(f"{path} does not exist; run `mgrdata split` first")
    table = pq.read_table(path)
    _check(table, SPLIT_SCHEMA, path)
    df = table.to_pandas()
    bad = sorted(set(df["split"]) - set(SPLIT_NAMES))
    if bad:
        raise ManifestError(f"{path}: unknown split value(s) {bad}; expected {SPLIT_NAMES}")
    dup = df["subject"][df["subject"].duplicated()].tolist()
    if dup:
        raise ManifestError(f"{path}: subject(s) {sorted(set(dup))} appear in more than one row")
    return df


def write_split(assignment: dict[str, str], path: str | os.PathLike) -> Path:
    """Write a subject -> split assignment, sorted by subject."""
    subjects = sorted(assignment)
    table = pa.table(
        {"subject": subjects, "split": [assignment[s] for s in subjects]}, schema=SPLIT_SCHEMA
    )
    return write_table(table, path)
