"""Weights files of other code bases, read and renamed to our ResNet's names.

A file is recognised by its key names; nothing is downloaded, the user passes the file.

* ``pytorchvideo``: the model zoo's ``.pyth`` files (``I3D_8x8_R50``, ``SLOW_8x8_R50``), which
  hold ``{"model_state": ...}``. ``blocks.0.conv|norm`` are conv1|bn1;
  ``blocks.B.res_blocks.j.branch2.conv_a|norm_a`` (``_b``, ``_c``) are layerS.j.conv1|bn1 (2, 3);
  ``branch1_conv|norm`` are downsample.0|1; ``blocks.N.proj`` is fc. Residual stages are
  numbered by position in ``blocks`` (``i3d_r50``: 1, 3, 4, 5, with a parameter-free pool at 2;
  ``slow_r50``: 1..4), so they are taken in order.
* ``mmaction2``: ``{"meta", "state_dict"}``; ``backbone.`` is removed, ``conv1.conv|bn`` are
  conv1|bn1, ``layerS.j.convK.conv|bn`` are layerS.j.convK|bnK, ``downsample.conv|bn`` are
  downsample.0|1 and ``cls_head.fc_cls`` is fc. Its ``data_preprocessor.*`` buffers (mean, std)
  are not weights and are set aside.
* ``torchvision``: a ResNet ``state_dict`` (2D ImageNet weights, with or without
  ``num_batches_tracked``; also under ``"state_dict"``), already in our names.

A ``module.`` prefix (a DataParallel checkpoint) is removed in every layout.
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Mapping
from pathlib import Path

import torch

from mgrdark_data.errors import MgrdarkError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

INPUT_NORMALIZATION: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    # PyTorchVideo's hub examples: x / 255, then mean 0.45 and std 0.225 per channel.
    "pytorchvideo": ((0.45, 0.45, 0.45), (0.225, 0.225, 0.225)),
    # MMAction2's data preprocessor: ImageNet mean/std on [0, 255], RGB order: the same numbers
    # as torchvision's on [0, 1].
    "mmaction2": (IMAGENET_MEAN, IMAGENET_STD),
    "torchvision": (IMAGENET_MEAN, IMAGENET_STD),
}
"""Per layout: the `(mean, std)` on [0, 1] inputs its weights were trained with."""

LAYOUTS = tuple(INPUT_NORMALIZATION)

_CONTAINERS = ("model_state", "state_dict", "model")


class WeightsError(MgrdarkError):
    """A weights file cannot be read or does not fit the network."""


def read_weights(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The tensors of a weights file, taken out of its container (`model_state`, `state_dict`).

    Only tensors and plain containers are unpickled (`weights_only=True`): a weights file from
    the internet could otherwise run code.
    """
    path = Path(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise WeightsError(
            f"{path} holds Python objects besides tensors, which are not read from a weights "
            "file; if you trust it, save its state_dict alone: torch.save(torch.load(FILE, "
            "weights_only=False)['model_state' or 'state_dict'], 'weights.pt')"
        ) from e
    except (OSError, RuntimeError, EOFError, ValueError) as e:
        raise WeightsError(f"cannot read weights {path}: {' '.join(str(e).split())}") from e
    while isinstance(obj, Mapping):
        inner = next((k for k in _CONTAINERS if isinstance(obj.get(k), Mapping)), None)
        if inner is None:
            break
        obj = obj[inner]
    if not isinstance(obj, Mapping):
        raise WeightsError(f"{path} holds a {type(obj).__name__}, not a state_dict")
    state = {k.removeprefix("module."): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not state:
        raise WeightsError(f"{path} holds no tensors; expected a model state_dict")
    return state


def detect_layout(keys: list[str]) -> str:
    """'pytorchvideo', 'mmaction2' or 'torchvision', from the key names."""
    if any(k.startswith("blocks.0.") for k in keys):
        return "pytorchvideo"
    if any(k.startswith("backbone.") for k in keys):
        return "mmaction2"
    if "conv1.weight" in keys and any(k.startswith("layer1.") for k in keys):
        return "torchvision"
    raise WeightsError(
        f"unknown weights layout (first keys: {', '.join(keys[:3])}); expected PyTorchVideo "
        "(blocks.*), MMAction2 (backbone.*) or torchvision (conv1, layer1..layer4) names"
    )


def rename(state: Mapping[str, torch.Tensor], layout: str) -> tuple[dict[str, str], list[str]]:
    """Our name for each key of `state`, and the keys set aside as not being weights.

    Returns:
        `(names, ignored)`: `names` maps each of our names to the file's key (a key no rule
        renames keeps its own name, so it matches nothing of ours and is reported unused).
    """
    keys = list(state)
    ignored = [k for k in keys if k.startswith("data_preprocessor.")]
    kept = [k for k in keys if k not in ignored]
    if layout == "pytorchvideo":
        ours = _pytorchvideo_names(kept)
    elif layout == "mmaction2":
        ours = [_mmaction2_name(k) for k in kept]
    elif layout == "torchvision":
        ours = kept
    else:
        raise ValueError(f"unknown layout {layout!r}; expected one of {LAYOUTS}")
    return dict(zip(ours, kept, strict=True)), ignored


_PTV_BRANCH2 = re.compile(r"blocks\.(\d+)\.res_blocks\.(\d+)\.branch2\.(conv|norm)_([abc])\.(.+)")
_PTV_BRANCH1 = re.compile(r"blocks\.(\d+)\.res_blocks\.(\d+)\.branch1_(conv|norm)\.(.+)")
_PTV_STAGE = re.compile(r"blocks\.(\d+)\.res_blocks\.")
_PTV_STEM = re.compile(r"blocks\.0\.(conv|norm)\.(.+)")
_PTV_HEAD = re.compile(r"blocks\.\d+\.proj\.(.+)")


def _pytorchvideo_names(keys: list[str]) -> list[str]:
    stages = sorted({int(m.group(1)) for k in keys if (m := _PTV_STAGE.match(k))})
    layer = {block: i + 1 for i, block in enumerate(stages)}
    out = []
    for k in keys:
        if m := _PTV_STEM.fullmatch(k):
            out.append(f"{'conv1' if m.group(1) == 'conv' else 'bn1'}.{m.group(2)}")
        elif (m := _PTV_BRANCH2.fullmatch(k)) and int(m.group(1)) in layer:
            kind = "conv" if m.group(3) == "conv" else "bn"
            n = "abc".index(m.group(4)) + 1
            out.append(f"layer{layer[int(m.group(1))]}.{m.group(2)}.{kind}{n}.{m.group(5)}")
        elif (m := _PTV_BRANCH1.fullmatch(k)) and int(m.group(1)) in layer:
            part = 0 if m.group(3) == "conv" else 1
            out.append(f"layer{layer[int(m.group(1))]}.{m.group(2)}.downsample.{part}.{m.group(4)}")
        elif m := _PTV_HEAD.fullmatch(k):
            out.append(f"fc.{m.group(1)}")
        else:
            out.append(k)
    return out


_MMA_RULES = [
    (re.compile(r"conv1\.conv\.(.+)"), r"conv1.\1"),
    (re.compile(r"conv1\.bn\.(.+)"), r"bn1.\1"),
    (re.compile(r"(layer\d+\.\d+)\.conv(\d)\.conv\.(.+)"), r"\1.conv\2.\3"),
    (re.compile(r"(layer\d+\.\d+)\.conv(\d)\.bn\.(.+)"), r"\1.bn\2.\3"),
    (re.compile(r"(layer\d+\.\d+)\.downsample\.conv\.(.+)"), r"\1.downsample.0.\2"),
    (re.compile(r"(layer\d+\.\d+)\.downsample\.bn\.(.+)"), r"\1.downsample.1.\2"),
    (re.compile(r"fc_cls\.(.+)"), r"fc.\1"),
]


def _mmaction2_name(key: str) -> str:
    if key.startswith("backbone."):
        body = key.removeprefix("backbone.")
    elif key.startswith("cls_head."):
        body = key.removeprefix("cls_head.")
    else:
        return key
    for pattern, repl in _MMA_RULES:
        if pattern.fullmatch(body):
            return pattern.sub(repl, body)
    return key
