"""Engine: layered config, metrics, any step module, and exact resume after a kill."""

from __future__ import annotations

import csv

import pytest
import torch
import yaml
from torch import nn
from torch.utils.data import Dataset

from mgrdark_train.builders import build_dataset
from mgrdark_train.engine.checkpoint import load_checkpoint
from mgrdark_train.engine.config import (
    ConfigError,
    load_config,
    parse_set,
    resolve_config,
    write_config,
)
from mgrdark_train.engine.metrics import MetricsCSV, topk_correct
from mgrdark_train.engine.trainer import Trainer
from mgrdark_train.stages import get_stage
from mgrdark_train.stages.run import seed_everything
from mgrdark_train.testing import write_pattern_dataset


@pytest.fixture(scope="session")
def small_root(tmp_path_factory):
    return write_pattern_dataset(
        tmp_path_factory.mktemp("pattern_small"),
        train_subjects=2,
        test_subjects=1,
        clips_per_class=2,
        num_frames=(10, 14),
        size=32,
    )


def _cfg(root, **sets):
    base = {
        "data.root": str(root.root),
        "data.num_frames": 4,
        "data.resize": 32,
        "data.crop": 28,
        "optim.batch_size": 4,
        "optim.epochs": 2,
        "run.tensorboard": False,
    }
    return resolve_config(preset="tiny", overrides=base, sets=sets)


def test_optimizer_by_name():
    from mgrdark_train.engine.optim import build_optimizer

    params = [nn.Parameter(torch.zeros(2))]
    cfg = resolve_config(preset="paper")
    sgd = build_optimizer(params, cfg.optim)
    assert type(sgd) is torch.optim.SGD and sgd.defaults["momentum"] == 0.9
    assert sgd.defaults["lr"] == 1e-4
    tiny = resolve_config(preset="tiny")
    adamw = build_optimizer(params, tiny.optim)
    assert type(adamw) is torch.optim.AdamW and adamw.defaults["lr"] == 2e-3
    with pytest.raises(ConfigError, match=r"optim.name 'adam': expected one of \['sgd', 'adamw'\]"):
        resolve_config(preset="tiny", sets={"optim.name": "adam"})


def test_config_layers_in_order(tmp_path):
    y = tmp_path / "c.yaml"
    y.write_text(yaml.safe_dump({"optim": {"lr": 0.5, "epochs": 9}, "model": {"depth": 18}}))
    cfg = resolve_config(
        preset="tiny",
        yaml_path=y,
        overrides={"optim.epochs": 3, "optim.batch_size": None},
        sets=parse_set(["model.width=0.5", "data.light=null"]),
    )
    assert cfg.model.stem_temporal_kernel == 3  # preset over default
    assert cfg.optim.lr == 0.5 and cfg.model.depth == 18  # YAML over preset
    assert cfg.optim.epochs == 3 and cfg.optim.batch_size == 8  # flag over YAML; None = unset
    assert cfg.model.width == 0.5 and cfg.data.light is None  # --set last, null kept
    paper = resolve_config(preset="paper")
    assert (
        paper.optim.batch_size,
        paper.optim.lr,
        paper.optim.lr_step,
        paper.optim.epochs,
        paper.data.num_frames,
        paper.data.crop,
    ) == (32, 1e-4, 20, 80, 32, 224)
    write_config(cfg, tmp_path / "config.yaml")
    assert load_config(tmp_path / "config.yaml") == cfg


def test_config_errors_name_the_problem(tmp_path):
    with pytest.raises(ConfigError, match="unknown setting 'optim.lrr'"):
        resolve_config(overrides={"optim.lrr": 1.0})
    with pytest.raises(ConfigError, match="optim.epochs must be int"):
        resolve_config(sets={"optim.epochs": "many"})
    with pytest.raises(ConfigError, match="unknown preset"):
        resolve_config(preset="huge")
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_set(["optim.lr"])


def test_topk_and_metrics_csv(tmp_path):
    logits = torch.tensor([[0.1, 0.9, 0.0], [0.8, 0.1, 0.3], [0.2, 0.3, 0.5]])
    hits = topk_correct(logits, torch.tensor([1, 2, 0]), ks=(1, 2))
    assert int(hits[1]) == 1 and int(hits[2]) == 2
    m = MetricsCSV(tmp_path / "metrics.csv")
    m.append({"epoch": 1, "loss": 2.0})
    m.append({"epoch": 2, "loss": 1.0, "val_top1": 0.5})  # a new column widens the file
    m.append({"epoch": 3, "loss": 0.5, "val_top1": 0.6})
    m.truncate(2)
    rows = m.rows()
    assert [r["epoch"] for r in rows] == ["1", "2"] and rows[0]["val_top1"] == ""


class _ToyData(Dataset):
    """Items keyed by (index, epoch), as the trainer's sampler yields them."""

    def __len__(self) -> int:
        return 16

    def __getitem__(self, key):
        i, _ = key
        x = torch.full((4,), float(i % 2)) + 0.01 * i
        return {"x": x, "label": i % 2, "clip_id": str(i)}


class _TwoTermStep(nn.Module):
    """A step with two loss terms, as a distillation step would have."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Linear(4, 2)

    def forward(self, batch):
        logits = self.net(batch["x"])
        ce = nn.functional.cross_entropy(logits, batch["label"])
        aux = logits.pow(2).mean()
        return {"loss": ce + 0.1 * aux, "output": logits, "ce": ce, "aux": aux}


def test_trainer_accepts_any_step_module(tmp_path, small_root):
    cfg = _cfg(small_root, **{"optim.lr": 0.5, "optim.epochs": 3, "data.eval_subset": None})
    seed_everything(0)
    rows = Trainer(_TwoTermStep(), _ToyData(), cfg=cfg, run_dir=tmp_path, eval_set=_ToyData()).fit()
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert {"train_loss", "train_ce", "train_aux", "train_top1", "val_top1", "data_wait"} <= set(
        rows[-1]
    )
    assert rows[-1]["val_top1"] == 1.0  # trivially separable
    with open(tmp_path / "metrics.csv") as f:
        assert len(list(csv.DictReader(f))) == 3
    state = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    assert state["epoch"] == 2 and "net.weight" in state["step"]


class _Killed(RuntimeError):
    pass


class _DiesInEpoch(Dataset):
    """Wraps a dataset and raises on the 3rd item of a given epoch, like a killed process."""

    def __init__(self, inner: Dataset, epoch: int) -> None:
        self.inner, self.epoch, self.seen = inner, epoch, 0

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, key):
        if key[1] == self.epoch:
            self.seen += 1
            if self.seen == 3:
                raise _Killed("simulated kill")
        return self.inner[key]


def _trainer(cfg, run_dir, wrap=None):
    stage = get_stage(cfg.stage)
    seed_everything(cfg.run.seed)
    train = build_dataset(cfg, "train", stage.modalities(cfg))
    step = stage.build_step(cfg, train.num_classes)
    evals = build_dataset(cfg, "test", stage.modalities(cfg))
    return Trainer(step, wrap(train) if wrap else train, cfg=cfg, run_dir=run_dir, eval_set=evals)


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_resume_after_kill_matches_uninterrupted_run(tmp_path, small_root, optimizer):
    cfg = _cfg(small_root, **{"optim.name": optimizer})
    straight = _trainer(cfg, tmp_path / "a")
    straight.fit()

    killed = _trainer(cfg, tmp_path / "b", wrap=lambda d: _DiesInEpoch(d, epoch=1))
    with pytest.raises(_Killed):
        killed.fit()
    assert load_checkpoint(tmp_path / "b" / "checkpoints" / "last.pt")["epoch"] == 0

    resumed = _trainer(cfg, tmp_path / "b")  # a fresh process: new objects, other RNG state
    torch.manual_seed(1234)
    assert resumed.resume()
    assert resumed.start_epoch == 1
    resumed.fit()

    a, b = straight.step.state_dict(), resumed.step.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    oa, ob = straight.optimizer.state_dict()["state"], resumed.optimizer.state_dict()["state"]
    assert oa.keys() == ob.keys() and oa
    for k in oa:  # momentum buffers (SGD), moments and step counts (AdamW)
        assert oa[k].keys() == ob[k].keys()
        for name in oa[k]:
            assert torch.equal(oa[k][name], ob[k][name]), (k, name)
    ra = MetricsCSV(tmp_path / "a/metrics.csv").rows()
    rb = MetricsCSV(tmp_path / "b/metrics.csv").rows()
    assert [r["train_loss"] for r in ra] == [r["train_loss"] for r in rb]
    assert [r["test_top1"] for r in ra] == [r["test_top1"] for r in rb]


def test_precise_bn_replaces_lagging_statistics():
    from mgrdark_train.engine.precise_bn import update_bn_stats

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv3d(1, 2, 1), nn.BatchNorm3d(2))
    batches = [torch.randn(2, 1, 2, 3, 3) * (i + 1) + i for i in range(4)]
    net.train()
    for b in batches:
        net(b)  # momentum 0.1: the running mean lags behind the batches
    used = update_bn_stats(net, iter(batches), num_batches=3, forward=net)
    assert used == 3 and net[1].momentum == 0.1
    conv = [net[0](b) for b in batches[:3]]
    want_mean = torch.stack([c.mean(dim=(0, 2, 3, 4)) for c in conv]).mean(0)
    want_var = torch.stack([c.var(dim=(0, 2, 3, 4)) for c in conv]).mean(0)
    torch.testing.assert_close(net[1].running_mean, want_mean)
    torch.testing.assert_close(net[1].running_var, want_var)


def test_eval_every_n_epochs_and_after_the_last(tmp_path, small_root):
    cfg = _cfg(small_root, **{"optim.epochs": 3, "run.eval_every": 2})
    _trainer(cfg, tmp_path / "r").fit()
    rows = MetricsCSV(tmp_path / "r" / "metrics.csv").rows()
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert [r["test_top1"] != "" for r in rows] == [False, True, True]
