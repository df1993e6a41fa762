"""Both packages' shape, read from the source (nothing is imported): no import cycles, no
module above ~400 lines, and progress drawn only by `mgrdark_data/cli/progress.py`
(docs/architecture.md, "Errors and progress").

For cycles, every `import`/`from ... import` counts, also those inside functions (only
`if TYPE_CHECKING:` blocks do not: they never run), and importing `a.b.c` counts as importing
the packages `a` and `a.b` too (their `__init__` runs first), except the packages the importing
module itself lies in. Run as a script to print the cycles.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mgrdark_train"
PACKAGES = [ROOT / "mgrdark_data", ROOT / "mgrdark_train"]
MAX_LINES = 400
DRAWS_PROGRESS = {"mgrdark_data": ["cli/progress.py"], "mgrdark_train": []}


def _module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_nodes(tree: ast.AST):
    """Every node except those under `if TYPE_CHECKING:`."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            test = child.test if isinstance(child, ast.If) else None
            if isinstance(test, ast.Name | ast.Attribute) and ast.unparse(test).endswith(
                "TYPE_CHECKING"
            ):
                todo.extend(child.orelse)
                continue
            todo.append(child)


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports."""
    files = {_module_name(p, package): p for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        is_pkg = path.name == "__init__.py"
        here = name if is_pkg else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                targets.add(base)
                targets.update(f"{base}.{a.name}" for a in node.names)
        edges = set()
        for t in targets:
            parts = t.split(".")
            for i in range(1, len(parts) + 1):
                prefix = ".".join(parts[:i])
                inside = name == prefix or name.startswith(prefix + ".")
                if prefix in files and prefix != name and not inside:
                    edges.add(prefix)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(1000, 10 * len(graph)))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_scanner_sees_a_cycle(tmp_path):
    pkg = tmp_path / "mgrdark_train"
    (pkg / "stages").mkdir(parents=True)
    (pkg / "mtcd").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "stages" / "__init__.py").write_text("def f():\n    import mgrdark_train.mtcd\n")
    (pkg / "mtcd" / "__init__.py").write_text("from .stages import x\n")
    (pkg / "mtcd" / "stages.py").write_text("from ..stages import STAGES\n")
    (pkg / "typed.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import mgrdark_train.hinted\n"
    )
    (pkg / "hinted.py").write_text("from . import typed\n")
    assert cycles(import_graph(pkg)) == [
        ["mgrdark_train.mtcd", "mgrdark_train.mtcd.stages", "mgrdark_train.stages"]
    ]


def test_the_scanner_sees_the_graph():
    graph = import_graph()
    assert "mgrdark_train.stages.registry" in graph["mgrdark_train.stages.run"]
    assert (
        "mgrdark_data.stats.table" in import_graph(ROOT / "mgrdark_data")["mgrdark_data.stats.run"]
    )


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_no_import_cycle(package):
    assert cycles(import_graph(package)) == []


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_modules_stay_small(package):
    big = {
        str(p.relative_to(package)): n
        for p in sorted(package.rglob("*.py"))
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert big == {}


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_only_the_cli_draws_progress(package):
    # Bars come from the caller's `mgrdark_data.progress.Progress`; only
    # `mgrdark_data.cli.progress` draws them.
    users = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n.split(".")[0] == "tqdm" for n in names):
                users.append(str(path.relative_to(package)))
    assert users == DRAWS_PROGRESS[package.name]


if __name__ == "__main__":
    for c in cycles(import_graph()):
        print(" <-> ".join(c))
