"""`mgrtrain mtcd` under torchrun, on the CPU: two gloo processes run every stage (translator,
teacher, assistant, student) with DDP into one run directory and compute what one process
computes on the same global batches."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch
import torch.multiprocessing as mp

from mgrdark_train.engine.checkpoint import load_checkpoint
from mgrdark_train.engine.distributed import cleanup
from mgrdark_train.mtcd.config import resolve_mtcd_run
from mgrdark_train.testing.ddp import free_port, torchrun_environment
from mgrdark_train.testing.mtcd import write_tiny_dark_ir_dataset

WORLD = 2
TRANSLATOR_LR = 2e-4
STAGES = ("teacher", "assistant", "student")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _configs(root: str, run_dir: str):
    # 12 training clips: the networks take one global batch of 12 (6 per rank), the translator
    # three of 4 (2 per rank); no dropout and every frame of a batch in the translator, so
    # nothing random depends on the rank; BatchNorm over the global batch
    # (run.sync_batchnorm), as one process computes it. One SGD step per network stage: the
    # networks on dark RGB amplify float noise (one process with 1 vs 2 threads differs by
    # 7e-5 after two steps), so a longer run would compare noise. SGD, not the preset's AdamW,
    # whose first steps are lr * sign(gradient): a parameter with a ~0 gradient moves by +-lr
    # on float noise alone.
    cfg, mcfg, _ = resolve_mtcd_run(
        run_dir=run_dir,
        preset="tiny",
        overrides={"data.root": root, "optim.epochs": 1, "data.workers": 0},
        sets={
            "data.num_frames": 4,
            "data.resize": 16,
            "data.crop": 16,
            "optim.batch_size": 12,
            "optim.name": "sgd",
            "optim.lr": 0.05,
            "model.dropout": 0.0,
            "run.sync_batchnorm": True,
            "run.tensorboard": False,
            "mtcd.translator.epochs": 1,
            "mtcd.translator.batch_size": 4,
            "mtcd.translator.lr": TRANSLATOR_LR,
            "mtcd.translator.frames_per_batch": None,
        },
    )
    return cfg, mcfg


def _adam_with_eps_one(init):
    """Adam's `__init__` with eps = 1. The translator steps with Adam, whose first steps are
    lr * g / (|g| + eps): with the default eps (1e-8) a weight with a ~0 gradient moves by +-lr
    on the sign of the all-reduce's float noise alone (measured: up to 2e-4 between the DDP run
    and one process). With eps = 1 the step is proportional to the gradient, so comparing the
    weights compares DDP's averaged gradients (then within 1e-10), as the SGD stages do."""

    def patched(self, params, *args, **kwargs):
        init(self, params, *args, **{**kwargs, "eps": 1.0})

    return patched


def _worker(rank: int, root: str, run_dir: str, port: int, out: str) -> None:
    torchrun_environment(rank, WORLD, port)
    torch.set_num_threads(1)
    torch.optim.Adam.__init__ = _adam_with_eps_one(torch.optim.Adam.__init__)
    from mgrdark_train.mtcd import pipeline

    trained: dict[str, dict] = {}

    class Recording(pipeline.Trainer):
        """Keeps what this rank holds in memory after each stage."""

        def fit(self):
            rows = super().fit()
            trained[self.cfg.stage] = {k: v.clone() for k, v in self.step.state_dict().items()}
            return rows

    pipeline.Trainer = Recording
    cfg, mcfg = _configs(root, run_dir)
    results = pipeline.run_mtcd(cfg, mcfg, run_dir)
    torch.save({"trained": trained, "results": results}, f"{out}/rank{rank}.pt")
    cleanup()


def _weights(run_dir, stage: str) -> dict[str, torch.Tensor]:
    return load_checkpoint(run_dir / stage / "checkpoints" / "last.pt")["step"]


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_mtcd_under_torchrun_equals_one_process(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.optim.Adam, "__init__", _adam_with_eps_one(torch.optim.Adam.__init__))
    root = write_tiny_dark_ir_dataset(tmp_path / "data", clips_per_class=2).root
    ddp = tmp_path / "ddp"
    mp.spawn(
        _worker,
        args=(str(root), str(ddp), free_port(), str(tmp_path)),
        nprocs=WORLD,
        join=True,
    )
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(WORLD))
    # Identical networks on both ranks after every stage, and both return the same results.
    assert set(r0["trained"]) == {"mtcd_teacher", "mtcd_assistant", "mtcd_student"}
    for stage, state in r0["trained"].items():
        for k, v in state.items():
            assert torch.equal(v, r1["trained"][stage][k]), (stage, k)
    assert r0["results"] == r1["results"]

    # One run directory: every stage once, one row per epoch (rank 1 wrote nothing twice).
    for stage in STAGES:
        assert len(pd.read_csv(ddp / stage / "metrics.csv")) == 1
        assert json.loads((ddp / stage / "done.json").read_text())["epochs"] == 1
    assert len(pd.read_csv(ddp / "translator" / "metrics.csv")) == 1

    # Each stage computes what one process computes on the same global batches from the same
    # frozen networks. Stage by stage: dark RGB has a tiny spread that BatchNorm scales up
    # (running variances in the hundreds), so the float noise of a whole upstream stage
    # (1e-5) would grow into percents downstream and hide what is compared.
    from mgrdark_train.mtcd.pipeline import run_mtcd

    def reference(name: str, *upstream: str, evaluate: bool = False) -> dict:
        """One process, with the DDP run's `upstream` stages as its frozen networks."""
        run = tmp_path / "one" / name
        dirs = {k: ddp / k for k in upstream}
        return run_mtcd(*_configs(str(root), str(run)), run, stage_dirs=dirs, evaluate=evaluate)

    reference("all")
    reference("assistant", "translator", "teacher")
    single = reference("student", "translator", "teacher", "assistant", evaluate=True)
    one = tmp_path / "one"
    _assert_same_translator(ddp, one / "all")
    _assert_same_stage(ddp, one / "all", "teacher")
    _assert_same_stage(ddp, one / "assistant", "assistant")
    _assert_same_stage(ddp, one / "student", "student")
    assert r0["results"]["test"]["top1"] == pytest.approx(single["test"]["top1"], abs=1e-6)
    assert r0["results"]["test"]["clips"] == single["test"]["clips"] == 6


def _assert_same_translator(ddp, one) -> None:
    got = torch.load(ddp / "translator" / "translator.pt", weights_only=True)
    want = torch.load(one / "translator" / "translator.pt", weights_only=True)
    for k, v in want.items():
        torch.testing.assert_close(
            got[k], v, rtol=1e-5, atol=1e-8, msg=lambda m, k=k: f"translator {k}: {m}"
        )


def _assert_same_stage(ddp, one, stage: str) -> None:
    got, want = _weights(ddp, stage), _weights(one, stage)
    assert got.keys() == want.keys()
    for k, v in want.items():
        torch.testing.assert_close(got[k], v, rtol=1e-4, atol=1e-4, msg=f"{stage} {k}")
    a = pd.read_csv(ddp / stage / "metrics.csv").iloc[0]
    b = pd.read_csv(one / stage / "metrics.csv").iloc[0]
    for col in ("train_loss", "test_loss", "test_top1"):
        assert a[col] == pytest.approx(b[col], rel=1e-4, abs=1e-5), (stage, col)
