"""DDP on CPU: two gloo processes train in lockstep and report metrics summed over ranks."""

from __future__ import annotations

import pytest
import torch
import torch.multiprocessing as mp

from mgrdark_train.builders import build_dataset
from mgrdark_train.engine.config import resolve_config, write_config
from mgrdark_train.engine.distributed import cleanup, init_distributed
from mgrdark_train.engine.trainer import Trainer
from mgrdark_train.stages import get_stage
from mgrdark_train.stages.run import evaluate_run, seed_everything
from mgrdark_train.testing import write_pattern_dataset
from mgrdark_train.testing.ddp import free_port, torchrun_environment

WORLD = 2


def _cfg(root: str, run_dir: str):
    return resolve_config(
        preset="tiny",
        overrides={
            "data.root": root,
            "data.num_frames": 4,
            "data.resize": 32,
            "data.crop": 28,
            "optim.batch_size": 4,
            "optim.epochs": 1,
            "run.tensorboard": False,
        },
    )


def _worker(rank: int, root: str, run_dir: str, port: int, out: str) -> None:
    torchrun_environment(rank, WORLD, port)
    torch.set_num_threads(1)
    init_distributed("cpu")
    cfg = _cfg(root, run_dir)
    stage = get_stage(cfg.stage)
    seed_everything(cfg.run.seed + rank)
    train = build_dataset(cfg, "train", stage.modalities(cfg))
    evals = build_dataset(cfg, "test", stage.modalities(cfg))
    trainer = Trainer(
        stage.build_step(cfg, train.num_classes), train, cfg=cfg, run_dir=run_dir, eval_set=evals
    )
    if rank == 0:
        write_config(cfg, f"{run_dir}/config.yaml")
    rows = trainer.fit()
    torch.save(
        {"state": trainer.step.state_dict(), "rows": rows, "batches": len(trainer.train_loader)},
        f"{out}/rank{rank}.pt",
    )
    cleanup()


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_ddp_two_cpu_processes(tmp_path):
    root = write_pattern_dataset(
        tmp_path / "data",
        train_subjects=2,
        test_subjects=1,
        clips_per_class=2,
        num_frames=(10, 14),
        size=32,
    )
    run_dir = tmp_path / "run"
    mp.spawn(
        _worker,
        args=(str(root.root), str(run_dir), free_port(), str(tmp_path)),
        nprocs=WORLD,
        join=True,
    )
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(WORLD))
    # Gradients are averaged across ranks, so both replicas hold identical weights.
    for k, v in r0["state"].items():
        assert torch.equal(v, r1["state"][k]), k
    # 12 training clips, global batch 4 -> 2 per rank -> 3 batches on each rank.
    assert r0["batches"] == r1["batches"] == 3
    # Metrics are all-reduced: every rank reports the same, whole-dataset numbers...
    assert r0["rows"] == [
        {
            **r,
            "epoch_s": r0["rows"][0]["epoch_s"],
            "clips_per_s": r0["rows"][0]["clips_per_s"],
            "data_wait": r0["rows"][0]["data_wait"],
        }
        for r in r1["rows"]
    ]
    # ...and the sharded evaluation equals a single-process evaluation of the same weights.
    single = evaluate_run(run_dir, subset="test", device="cpu", workers=0)
    assert single["clips"] == 6
    assert r0["rows"][0]["test_top1"] == pytest.approx(single["top1"], abs=1e-6)
