"""`bench/gpu.py`: the GPU benchmark's CPU smoke mode (tiny shapes, a few steps) in the default
suite, so that the GPU run only has to be launched; the GPU run itself is marked `gpu`."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "gpu.py"
STAGES = ["baseline", "translator", "teacher", "assistant", "student"]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_gpu", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


def _check(rows: list[dict], batch: int) -> None:
    assert [r["stage"] for r in rows] == STAGES
    for r in rows:
        assert r["batch"] == batch, r
        assert r["compute_clips_s"] > 0 and r["loader_clips_s"] > 0, r
        assert 0.0 <= r["data_wait"] <= 1.0, r


@pytest.mark.usefixtures("one_torch_thread")
def test_smoke_mode_measures_every_stage_on_the_cpu(tmp_path, capsys):
    rows = _bench().main(
        ["--smoke", "--device", "cpu", "--workers", "0", "--work", str(tmp_path)]
        + ["--json", str(tmp_path / "gpu.json")]
    )
    _check(rows, batch=4)
    assert all(r["peak_bytes"] is None for r in rows)  # no GPU: no peak memory
    assert all(r["estimate_bytes"] > 0 for r in rows)  # engine/memory.py's, for comparison
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("bench/gpu.py --smoke: CPU, torch ")
    assert "T=4, 16 -> 16, batch 4, fp32, 0 DataLoader workers" in out
    assert (tmp_path / "gpu.json").exists()


@pytest.mark.gpu
def test_smoke_shapes_on_the_gpu_report_peak_memory(tmp_path):
    assert torch.cuda.is_available()
    rows = _bench().main(["--smoke", "--device", "cuda", "--work", str(tmp_path)])
    _check(rows, batch=4)
    assert all(r["peak_bytes"] > 0 for r in rows)
