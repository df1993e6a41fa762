"""What every stage builds from a `TrainConfig`: the backbone and the dataset of a subset."""

from __future__ import annotations

import logging

from torch import nn

from mgrdark_data.errors import MgrdarkError
from mgrdark_data.paths import DataRoot
from mgrdark_data.vocabulary import load_vocabulary

from .data import ClipDataset
from .engine.config import TrainConfig
from .models import create_model

log = logging.getLogger(__name__)


class NoClipsError(MgrdarkError):
    """The dataset has no clips for the settings (split, light, modalities)."""


def build_model(cfg: TrainConfig, num_classes: int, in_channels: int) -> nn.Module:
    """The backbone named by `cfg.model` (every key but `name` goes to its builder)."""
    return create_model(
        cfg.model.name,
        num_classes=num_classes,
        in_channels=in_channels,
        **cfg.model.builder_kwargs(),
    )


def build_dataset(
    cfg: TrainConfig,
    subset: str,
    modalities: tuple[str, ...],
    *,
    train: bool | None = None,
    one_pass: bool = False,
) -> ClipDataset:
    """The dataset of one subset as the config describes it.

    ``one_pass``: the caller reads every clip once (a final evaluation, a timing), so keeping
    frames in memory (``data.in_memory``) would only decode more and hold it for nothing; and
    its workers decode (``data.gpu_decode`` is for training: multi-view evaluation cuts views
    from decoded clips).
    """
    d = cfg.data
    in_memory = d.in_memory and not one_pass
    ds = ClipDataset(
        DataRoot.resolve(d.root),
        split=d.split,
        subset=subset,
        modalities=modalities,
        light=d.light,
        num_frames=d.num_frames,
        resize=d.resize,
        crop=d.crop,
        train=train,
        flip=d.flip,
        vocabulary=load_vocabulary(d.classes),
        cache=d.cache,
        cache_format=d.cache_format,
        encoded=d.gpu_decode and not one_pass,
        seed=cfg.run.seed,
        in_memory=in_memory,
    )
    if in_memory:
        log.info(
            "%s %s: %.2f GiB of decoded frames kept in memory (data.in_memory) per process",
            subset,
            "+".join(modalities),
            ds.memory_bytes() / 2**30,
        )
    return ds


def require_clips(dataset: ClipDataset, cfg: TrainConfig, why: str = "") -> ClipDataset:
    """`dataset`, or NoClipsError saying which settings left it empty."""
    if not len(dataset):
        raise NoClipsError(
            f"no {dataset.subset} clips with {'+'.join(dataset.modalities)} in split "
            f"{cfg.data.split!r} with data.light={cfg.data.light!r}{why}; check `mgrdata split` "
            "and --light"
        )
    return dataset


SCRATCH_LR = 1e-3
"""At or below this SGD learning rate, training from scratch almost surely underfits."""


def scratch_note(cfg: TrainConfig) -> str | None:
    """A warning when a network starts from scratch at a fine-tuning learning rate (the
    `paper` recipe without `model.pretrained`); None otherwise."""
    o = cfg.optim
    if cfg.model.pretrained is not None or o.name != "sgd" or o.lr > SCRATCH_LR:
        return None
    return (
        f"training from scratch (no model.pretrained) with SGD at lr {o.lr:g}, a fine-tuning "
        "rate: the paper's recipe fine-tunes Kinetics-400 or ImageNet weights; pass "
        "--pretrained FILE (README, Training), or raise --lr to train from scratch"
    )


def no_validation_note(cfg: TrainConfig) -> str:
    """Why per-epoch validation is off when `data.eval_subset` selects no clips."""
    d = cfg.data
    light = "" if d.light is None else f" with data.light={d.light}"
    return (
        f"per-epoch validation is off: split {d.split!r} has no {d.eval_subset} clips{light} "
        "(`mgrdata split` makes val subjects only with --val-subjects N or --val), so no "
        "best.pt is kept and `mgrtrain eval` takes last.pt; --set data.eval_subset=null "
        "silences this"
    )


def light_note(cfg: TrainConfig) -> str | None:
    """What a user should know about the light filter before a run starts (None: all clips)."""
    if cfg.data.light is None:
        return None
    return (
        f"training on {cfg.data.light} clips only (data.light={cfg.data.light}); "
        "--light all for every clip"
    )
