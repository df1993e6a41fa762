"""`mgrdata split`: subject-disjoint train/val/test splits."""

from __future__ import annotations

import click

from ..splits import format_counts, split_dataset
from .common import data_option, data_root, quiet_option, setup_logging


def _subject_list(value: str | None) -> list[str]:
    return [s.strip() for s in value.split(",") if s.strip()] if value else []


@click.command()
@data_option
@click.option("--name", default="subjects", show_default=True, help="Split file stem.")
@click.option(
    "--test-subjects",
    type=click.IntRange(min=0),
    default=None,
    help="Test subjects drawn at random [default: 5, the paper's; a dataset too small for 5 "
    "gets about the paper's share, 5 of 21, at least 1].",
)
@click.option(
    "--val-subjects",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Val subjects drawn at random (per fold with --folds).",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed of the permutation of the sorted subjects.",
)
@click.option(
    "--folds",
    type=click.IntRange(min=0),
    default=0,
    help="Write K cross-subject folds <name>_fold<k>.parquet (k = 0..K-1).",
)
@click.option("--test", "test", help="Comma-separated test subjects (an official split).")
@click.option("--val", "val", help="Comma-separated val subjects.")
@click.option(
    "--strict",
    is_flag=True,
    help="Fail when a class or light condition is missing from a training split.",
)
@quiet_option
def split(data, name, test_subjects, val_subjects, seed, folds, test, val, strict, quiet) -> None:
    """Write DATA/splits/<name>.parquet: every subject in exactly one of train/val/test."""
    setup_logging(quiet)
    result = split_dataset(
        data_root(data),
        name=name,
        test_subjects=test_subjects,
        val_subjects=val_subjects,
        seed=seed,
        folds=folds,
        test=_subject_list(test),
        val=_subject_list(val),
        strict=strict,
    )
    for note in result.notes:
        click.echo(f"note: {note}")
    for path, assignment, counts in zip(
        result.paths, result.assignments, result.counts, strict=True
    ):
        click.echo(f"{path}")
        for part in ("train", "val", "test"):
            members = sorted(s for s, p in assignment.items() if p == part)
            names = f": {', '.join(members)}" if members else ""
            click.echo(f"  {part:<5} {len(members):>3} subject(s){names}")
        if not quiet:
            click.echo(format_counts(counts))
