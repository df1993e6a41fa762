"""Subject splits: `DATA/splits/<name>.parquet` with columns subject, split.

A split is a mapping subject -> 'train' | 'val' | 'test', so a subject can never sit in two
splits of one file. Random splits draw a permutation of the *sorted* subject list from
`numpy.random.default_rng(seed)`, so the same subjects and seed always give the same split,
whatever order the manifest lists them in.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import MgrdarkError
from .lock import data_lock
from .manifest import SPLIT_NAMES, read_frame, write_split
from .paths import DataRoot
from .records import ClipRecord

logger = logging.getLogger(__name__)


class SplitError(MgrdarkError):
    """A split cannot be made as asked (unknown subjects, too few subjects, overlap)."""


DEFAULT_TEST_SUBJECTS = 5
"""The paper's split: 5 test subjects of 21."""
PAPER_SUBJECTS = 21


def default_test_subjects(subjects: int, val_subjects: int = 0) -> int:
    """Test subjects drawn when none are asked for: the paper's 5 whenever that leaves at
    least as many training subjects (the paper trains on 16); a smaller dataset (the
    synthesizer's 4 subjects, or 6, which 5 test subjects would leave with one training
    subject) gets about the paper's share, 5 of 21, at least 1, and at most what keeps one
    subject for training."""
    if subjects - val_subjects - DEFAULT_TEST_SUBJECTS >= DEFAULT_TEST_SUBJECTS:
        return DEFAULT_TEST_SUBJECTS
    share = round(subjects * DEFAULT_TEST_SUBJECTS / PAPER_SUBJECTS)
    return max(1, min(share, subjects - val_subjects - 1))


def random_split(
    subjects: Sequence[str],
    *,
    test_subjects: int = DEFAULT_TEST_SUBJECTS,
    val_subjects: int = 0,
    seed: int = 0,
    test: Sequence[str] = (),
    val: Sequence[str] = (),
) -> dict[str, str]:
    """Assign every subject to train, val or test.

    Explicit `test`/`val` lists win over the counts; whatever is not given explicitly is drawn
    at random (seeded) from the remaining subjects. Every subject not drawn is 'train'.
    """
    pool = sorted(set(subjects))
    _check_known(pool, [*test, *val])
    both = sorted(set(test) & set(val))
    if both:
        raise SplitError(f"subject(s) {both} named in both --test and --val")
    rng = np.random.default_rng(seed)
    order = [pool[i] for i in rng.permutation(len(pool))]
    named = set(test) | set(val)
    rest = [s for s in order if s not in named]
    n_test = 0 if test else test_subjects
    n_val = 0 if val else val_subjects
    if n_test < 0 or n_val < 0:
        raise SplitError("subject counts must be >= 0")
    if n_test + n_val >= len(rest) and (n_test or n_val):
        raise SplitError(
            f"cannot draw {n_test} test + {n_val} val subjects from {len(rest)} and keep any "
            f"for training (subjects: {', '.join(pool)})"
        )
    assignment = dict.fromkeys(pool, "train")
    assignment.update(dict.fromkeys([*test, *rest[:n_test]], "test"))
    assignment.update(dict.fromkeys([*val, *rest[n_test : n_test + n_val]], "val"))
    if "train" not in assignment.values():
        raise SplitError("every subject is in test or val; none is left for training")
    return assignment


def kfold_splits(
    subjects: Sequence[str], folds: int, *, val_subjects: int = 0, seed: int = 0
) -> list[dict[str, str]]:
    """Cross-subject K-fold: each subject is the test subject of exactly one fold.

    The seeded permutation of the sorted subjects is cut into `folds` near-equal chunks; fold k
    tests chunk k, validates on the first `val_subjects` subjects after it (cyclically) and
    trains on the rest.
    """
    pool = sorted(set(subjects))
    if not 2 <= folds <= len(pool):
        raise SplitError(f"--folds must be between 2 and the number of subjects ({len(pool)})")
    order = [pool[i] for i in np.random.default_rng(seed).permutation(len(pool))]
    chunks = [list(c) for c in np.array_split(np.array(order, dtype=object), folds)]
    out = []
    for k, chunk in enumerate(chunks):
        after = [s for c in chunks[k + 1 :] + chunks[:k] for s in c]
        if val_subjects >= len(after):
            raise SplitError(f"fold {k}: {val_subjects} val subjects leave none for training")
        assignment = dict.fromkeys(after, "train")
        assignment.update(dict.fromkeys(after[:val_subjects], "val"))
        assignment.update(dict.fromkeys(chunk, "test"))
        out.append(assignment)
    return out


def _check_known(known: Sequence[str], named: Sequence[str]) -> None:
    unknown = sorted(set(named) - set(known))
    if unknown:
        raise SplitError(
            f"unknown subject(s) {unknown}; the clips manifest has: {', '.join(known)}"
        )


def check_assignment(assignment: dict[str, str], known: Sequence[str]) -> list[str]:
    """Problems with a subject -> split mapping: bad split names or subjects not in the data."""
    problems = []
    bad = sorted({v for v in assignment.values() if v not in SPLIT_NAMES})
    if bad:
        problems.append(f"unknown split name(s) {bad}; expected {list(SPLIT_NAMES)}")
    unknown = sorted(set(assignment) - set(known))
    if unknown:
        problems.append(f"subject(s) {unknown} have no clips")
    return problems


def split_counts(clips: pd.DataFrame, assignment: dict[str, str]) -> pd.DataFrame:
    """Clip counts per class (rows) x (split, light) (columns), with totals per split."""
    df = clips.assign(
        split=clips["subject"].map(assignment), light=clips["light"].fillna("unknown")
    )
    table = pd.crosstab(df["gesture"], [df["split"], df["light"]])
    order = [s for s in SPLIT_NAMES if s in table.columns.get_level_values(0)]
    return table.reindex(columns=order, level=0)


def coverage_warnings(clips: pd.DataFrame, assignment: dict[str, str], label: str) -> list[str]:
    """Classes or light conditions of the data that the training split has no clip of."""
    train = clips[clips["subject"].map(assignment) == "train"]
    out = []
    for column, what in (("gesture", "class"), ("light", "light condition")):
        missing = sorted(set(clips[column].dropna()) - set(train[column].dropna()))
        if missing:
            out.append(f"{label}: the training split has no clip of {what} {missing}")
    return out


@dataclass
class SplitResult:
    """What `split_dataset` wrote."""

    paths: list[Path]
    assignments: list[dict[str, str]]
    """One subject -> split mapping per written file (per fold with `folds`)."""
    counts: list[pd.DataFrame]
    """`split_counts` of each file."""
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Choices made for the user, e.g. the number of test subjects when none was given."""


def split_dataset(
    data: DataRoot,
    *,
    name: str = "subjects",
    test_subjects: int | None = None,
    val_subjects: int = 0,
    seed: int = 0,
    folds: int = 0,
    test: Sequence[str] = (),
    val: Sequence[str] = (),
    strict: bool = False,
) -> SplitResult:
    """Make and write DATA/splits/<name>.parquet (or `<name>_fold<k>.parquet`, k from 0).

    Args:
        data: Dataset root whose clips manifest lists the subjects.
        name: Split name (file stem).
        test_subjects: Subjects drawn for test (ignored when `test` names them or with folds);
            None: `default_test_subjects` (5, or about 5/21 of a dataset too small for 5).
        val_subjects: Subjects drawn for val (per fold with `folds`; ignored when `val` is given).
        seed: Seed of the subject permutation.
        folds: K > 1 writes K cross-subject folds instead of one split.
        test: Explicit test subjects (an official split).
        val: Explicit val subjects.
        strict: A class or light condition missing from a training split is an error.
    """
    if not name or "/" in name or name.startswith("."):
        raise SplitError(f"bad split name {name!r}: use a plain file stem such as 'subjects'")
    clips = read_frame(data.clips_manifest, ClipRecord)
    subjects = sorted(set(clips["subject"]))
    notes: list[str] = []
    if folds:
        if test or val:
            raise SplitError("--folds draws the test subjects itself; drop --test/--val")
        assignments = kfold_splits(subjects, folds, val_subjects=val_subjects, seed=seed)
        paths = [data.split_path(f"{name}_fold{k}") for k in range(folds)]
    else:
        if test_subjects is None:
            test_subjects = default_test_subjects(len(subjects), len(val) if val else val_subjects)
            if not test and test_subjects != DEFAULT_TEST_SUBJECTS:
                notes.append(
                    f"{test_subjects} test subject(s) of {len(subjects)}: too few subjects for "
                    f"the default {DEFAULT_TEST_SUBJECTS} (the paper's {DEFAULT_TEST_SUBJECTS} of "
                    f"{PAPER_SUBJECTS}), so about that share; --test-subjects N chooses"
                )
        assignments = [
            random_split(
                subjects,
                test_subjects=test_subjects,
                val_subjects=val_subjects,
                seed=seed,
                test=test,
                val=val,
            )
        ]
        paths = [data.split_path(name)]
    warnings: list[str] = []
    for path, assignment in zip(paths, assignments, strict=True):
        # By construction a dict gives each subject one split; re-check the invariants anyway,
        # since a broken split silently leaks test subjects into training.
        problems = check_assignment(assignment, subjects)
        if problems or set(assignment) != set(subjects):
            raise SplitError(f"{path.name}: internal error, invalid split: {problems}")
        warnings += coverage_warnings(clips, assignment, path.stem)
    if warnings and strict:
        raise SplitError("; ".join(warnings) + " (--strict)")
    for w in warnings:
        logger.warning(w)
    with data_lock(data, "split"):
        for path, assignment in zip(paths, assignments, strict=True):
            write_split(assignment, path)
    counts = [split_counts(clips, a) for a in assignments]
    return SplitResult(paths, assignments, counts, warnings, notes)


def format_counts(counts: pd.DataFrame) -> str:
    """The per split x class x light clip-count table as text, with a total row."""
    table = counts.copy()
    table.loc["total"] = table.sum()
    table.columns = [f"{s}/{light}" for s, light in table.columns]
    return table.to_string()
