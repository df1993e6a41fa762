"""`bench/fidelity.py`'s paired tests: the figures RESULTS.md publishes, checked by hand."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "fidelity.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_fidelity", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _table(rows: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"row": r, **{f"top1_seed{s}": v for s, v in enumerate(vals)}} for r, vals in rows.items()]
    )


def test_every_row_against_baseline_and_rows_3_and_4_against_row_2():
    seeds = list(range(10))
    base = [30.0 + s for s in seeds]
    teacher = [b + 5 + s % 3 for s, b in enumerate(base)]  # 10 wins, +5.9 on average
    table = _table(
        {
            "baseline": base,
            "teacher": teacher,
            "teacher+irp": teacher[:9] + [teacher[9] - 1],  # row 2 but one loss
            "full": list(teacher),  # ties row 2 on every seed
            "(IR teacher, on IR)": [90.0] * 10,  # not a student row: left out
        }
    )
    got = {(t["row"], t["against"]): t for t in _bench().paired_tests(table, seeds)}
    assert list(got) == [
        ("teacher", "baseline"),
        ("teacher+irp", "baseline"),
        ("full", "baseline"),
        ("teacher+irp", "teacher"),
        ("full", "teacher"),
    ]
    t = got[("teacher", "baseline")]
    assert (t["n"], t["wins"], t["ties"], t["losses"]) == (10, 10, 0, 0)
    assert t["mean_diff"] == pytest.approx(5.9)
    # Exact two-sided Wilcoxon signed-rank, 10 positive differences: 2 / 2**10.
    assert t["wilcoxon_p"] == pytest.approx(2 / 1024)
    irp = got[("teacher+irp", "teacher")]
    assert (irp["wins"], irp["ties"], irp["losses"]) == (0, 9, 1)
    assert irp["mean_diff"] == pytest.approx(-0.1)
    assert irp["wilcoxon_p"] == pytest.approx(1.0)  # one non-zero difference
    full = got[("full", "teacher")]
    assert (full["ties"], full["wilcoxon_p"], full["ttest_p"]) == (10, None, None)


def test_seeds_missing_in_either_row_are_left_out_of_the_pairs():
    table = _table({"baseline": [10.0, 20.0, 30.0], "full": [12.0, 25.0, float("nan")]})
    (t,) = _bench().paired_tests(table, [0, 1, 2])
    assert (t["n"], t["mean_diff"], t["wins"]) == (2, 3.5, 2)
