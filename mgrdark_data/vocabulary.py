"""The gesture vocabulary: one CSV (`id, name, mirror`) shipped inside the package.

`annotations/classes.csv` in the repository is a link to the same file, so there is exactly one
source of truth and it is still found after a non-editable `pip install .`.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import VocabularyError

_COLUMNS = ("id", "name", "mirror")


@dataclass(frozen=True)
class GestureClass:
    """One class of the vocabulary."""

    id: int
    """Integer label, 0-based and dense."""
    name: str
    """Name used in annotation files and manifests."""
    mirror: str | None
    """Class a horizontal flip turns this one into (`turn left` <-> `turn right`), or None."""


@dataclass(frozen=True)
class Vocabulary:
    """An ordered set of gesture classes with name/id lookup and the mirror mapping."""

    classes: tuple[GestureClass, ...]
    source: str

    def __post_init__(self) -> None:
        ids = [c.id for c in self.classes]
        if ids != list(range(len(ids))):
            raise VocabularyError(
                f"{self.source}: class ids must be 0..{len(ids) - 1} in order, got {ids}"
            )
        names = [c.name for c in self.classes]
        if len(set(names)) != len(names):
            raise VocabularyError(f"{self.source}: class names must be unique, got {names}")
        for c in self.classes:
            if c.mirror is not None and c.mirror not in names:
                raise VocabularyError(
                    f"{self.source}: class {c.name!r} mirrors unknown class {c.mirror!r}"
                )
            if c.mirror is not None and self.by_name(c.mirror).mirror != c.name:
                raise VocabularyError(
                    f"{self.source}: mirror of {c.name!r} is {c.mirror!r} but the mirror of "
                    f"{c.mirror!r} is not {c.name!r}; mirrors must come in pairs"
                )

    def __len__(self) -> int:
        return len(self.classes)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.classes]

    def by_name(self, name: str) -> GestureClass:
        for c in self.classes:
            if c.name == name:
                return c
        raise KeyError(name)

    def resolve(self, value: str | int) -> GestureClass | None:
        """Class for a name or an integer id (as int or digit string); None when unknown."""
        text = str(value).strip()
        for c in self.classes:
            if c.name == text:
                return c
        if text.lstrip("-").isdigit():
            i = int(text)
            if 0 <= i < len(self.classes):
                return self.classes[i]
        return None

    def mirror_labels(self) -> list[int]:
        """`m[label]` is the label after a horizontal flip (itself when the class has no mirror)."""
        return [self.by_name(c.mirror).id if c.mirror else c.id for c in self.classes]


PACKAGED = {"mgrdark": "classes.csv", "nvgesture": "nvgesture_classes.csv"}
"""Vocabularies shipped in the package, by the name `--classes` accepts in place of a file:
MGR-Dark's ten classes (the default) and NvGesture's 25 (`mgrdata import nvgesture`)."""


def default_classes_path(name: str = "mgrdark") -> Path:
    return Path(str(resources.files("mgrdark_data") / "resources" / PACKAGED[name]))


def load_vocabulary(path: str | os.PathLike | None = None) -> Vocabulary:
    """Read a `classes.csv`; the packaged default when `path` is None. A packaged vocabulary's
    name (`PACKAGED`: 'mgrdark', 'nvgesture') is read from the package unless a file of that
    name exists."""
    if path is not None and str(path) in PACKAGED and not Path(path).exists():
        path = default_classes_path(str(path))
    path = Path(path) if path is not None else default_classes_path()
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise VocabularyError(
                    f"{path}: missing column(s) {missing}; expected header 'id,name,mirror'"
                )
            rows = list(reader)
    except OSError as e:
        raise VocabularyError(
            f"cannot read class vocabulary {path}: {e.strerror} (a classes.csv file, or a "
            f"packaged vocabulary: {', '.join(PACKAGED)})"
        ) from e
    classes = []
    for n, row in enumerate(rows, start=2):
        try:
            cid = int(row["id"])
        except ValueError:
            raise VocabularyError(f"{path}:{n}: id {row['id']!r} is not an integer") from None
        name = (row["name"] or "").strip()
        if not name:
            raise VocabularyError(f"{path}:{n}: empty class name")
        classes.append(GestureClass(cid, name, (row["mirror"] or "").strip() or None))
    classes.sort(key=lambda c: c.id)
    return Vocabulary(tuple(classes), source=str(path))
