"""Pretrained weights files: every layout lands tensor by tensor, exactly, or is refused.

The key lists and shapes in tests/data/pretrained/ come from the packages' own model code
(PyTorchVideo 0.1.5 `i3d_r50`/`slow_r50`, torchvision `resnet50`; MMAction2's I3D R50 names
re-created from its `ResNet3d` source, see each file's "source"). Tests fill them with random
tensors, save them in each package's container and load them the way a run does (`--pretrained`
-> `model.pretrained` -> the backbone builder).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from mgrdark_data.errors import MgrdarkError
from mgrdark_train.builders import build_model, scratch_note
from mgrdark_train.commands.options import flag_settings
from mgrdark_train.engine.config import resolve_config
from mgrdark_train.models import load_pretrained, map_pretrained

FIXTURES = Path(__file__).parent / "data" / "pretrained"
NUM_CLASSES = 25


def _keys(name: str) -> list[tuple[str, list[int]]]:
    return [(k, s) for k, s in json.loads((FIXTURES / f"{name}.json").read_text())["keys"]]


def _random_state(name: str, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        k: torch.randint(0, 1000, s, generator=g)
        if k.endswith("num_batches_tracked")
        # Whole multiples of 1/8: sums and /3 are exact, so tests compare tensors bitwise.
        else torch.randint(-64, 64, s, generator=g).float() / 8
        for k, s in _keys(name)
    }


# Our name of each file key, written out independently of models/layouts.py's rules.
_BRANCH = {
    "branch2.conv_a": "conv1",
    "branch2.norm_a": "bn1",
    "branch2.conv_b": "conv2",
    "branch2.norm_b": "bn2",
    "branch2.conv_c": "conv3",
    "branch2.norm_c": "bn3",
    "branch1_conv": "downsample.0",
    "branch1_norm": "downsample.1",
}


def _ptv_name(key: str, stage_blocks: list[int]) -> str:
    if key.startswith("blocks.0."):
        return key.replace("blocks.0.conv.", "conv1.").replace("blocks.0.norm.", "bn1.")
    _, block, what, *rest = key.split(".")
    if what == "proj":
        return f"fc.{rest[0]}"
    j, *tail = rest
    module = ".".join(tail[:-1])
    return f"layer{stage_blocks.index(int(block)) + 1}.{j}.{_BRANCH[module]}.{tail[-1]}"


def _mma_name(key: str) -> str:
    key = key.removeprefix("backbone.").replace("cls_head.fc_cls.", "fc.")
    for n in (1, 2, 3):
        key = key.replace(f"conv{n}.conv.", f"conv{n}.").replace(f"conv{n}.bn.", f"bn{n}.")
    return key.replace("downsample.conv.", "downsample.0.").replace(
        "downsample.bn.", "downsample.1."
    )


LAYOUTS = {
    # fixture: (container, our name of a key)
    "pytorchvideo_i3d_r50": ("pyth", lambda k: _ptv_name(k, [1, 3, 4, 5])),
    "pytorchvideo_slow_r50": ("pyth", lambda k: _ptv_name(k, [1, 2, 3, 4])),
    "mmaction2_i3d_r50": ("mmaction2", _mma_name),
    "torchvision_resnet50_old": ("plain", lambda k: k),
}


def _save(state: dict[str, torch.Tensor], container: str, path: Path) -> Path:
    if container == "pyth":  # PySlowFast/PyTorchVideo checkpoints
        obj = {"epoch": 196, "model_state": state, "cfg": "TRAIN:\n  ENABLE: True\n"}
    elif container == "mmaction2":  # tools/deployment/publish_model.py output
        pre = {"data_preprocessor.mean": torch.tensor([123.675, 116.28, 103.53])}
        obj = {"meta": {"epoch": 100, "mmengine_version": "0.7.0"}, "state_dict": state | pre}
    else:
        obj = state
    torch.save(obj, path)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Each fixture layout as a saved file, and its random tensors by the file's key."""
    root = tmp_path_factory.mktemp("pretrained")
    out = {}
    for i, (name, (container, _)) in enumerate(LAYOUTS.items()):
        state = _random_state(name, seed=i)
        out[name] = (_save(state, container, root / f"{name}.pt"), state)
    return out


def _expected(src: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """The spec: 2D kernels get a temporal axis; 1 -> t frames is weight/t repeated (I3D
    inflation), t -> 1 the sum over time."""
    w = src.unsqueeze(2) if src.dim() == 4 and len(shape) == 5 else src
    if w.dim() == 5 and w.shape[2] != shape[2]:
        w = w.repeat(1, 1, shape[2], 1, 1) / shape[2] if w.shape[2] == 1 else w.sum(2, True)
    return w


def _build(path: Path, variant: str, in_channels: int = 3):
    cfg = resolve_config(
        preset="paper",
        overrides=flag_settings({"pretrained": str(path)}),
        sets={"model.variant": variant},
    )
    return build_model(cfg, NUM_CLASSES, in_channels)


# The Kinetics-400 I3D kernels (res2 3,3,3; res3/res4 3,1,3,1..; res5 1,3,1) against slowonly's.
I3D_INTO_SLOWONLY = {
    **{f"layer1.{j}.conv1.weight": "collapsed t3->1 (sum over time)" for j in (0, 1, 2)},
    **{
        f"layer{s}.{j}.conv1.weight": "inflated t1->3 (weight/3 repeated)"
        for s, blocks in ((2, (1, 3)), (3, (1, 3, 5)), (4, (0, 2)))
        for j in blocks
    },
}


@pytest.mark.parametrize(
    ("fixture", "variant", "reshaped"),
    [
        ("pytorchvideo_i3d_r50", "i3d", {}),
        ("mmaction2_i3d_r50", "i3d", {}),
        ("pytorchvideo_i3d_r50", "slowonly", I3D_INTO_SLOWONLY),
        ("mmaction2_i3d_r50", "slowonly", I3D_INTO_SLOWONLY),
        ("pytorchvideo_slow_r50", "i3d", None),
        ("torchvision_resnet50_old", "i3d", None),
    ],
)
def test_every_tensor_lands_exactly(files, fixture, variant, reshaped, one_torch_thread):
    path, state = files[fixture]
    model = _build(path, variant)
    report = model.pretrained_report
    ours = model.state_dict()
    name = LAYOUTS[fixture][1]
    landed = 0
    for key, src in state.items():
        target = name(key)
        if target.startswith("fc."):
            continue
        assert torch.equal(ours[target], _expected(src, ours[target].shape)), key
        landed += 1
    assert landed == len(state) - 2  # everything but the classifier's weight and bias
    assert report.loaded == report.backbone_tensors == 265
    assert report.missing == [] and report.mismatched == {} and report.unexpected == []
    if reshaped is not None:
        assert report.reshaped == reshaped
    # The file's classifier (400 or 1000 classes) is not ours: re-initialised, and said so.
    file_classes = 1000 if fixture.startswith("torchvision") else 400
    assert ours["fc.weight"].shape == (NUM_CLASSES, 2048)
    assert report.head == (
        f"classifier re-initialised for {NUM_CLASSES} classes (the file's has {file_classes})"
    )
    assert "classifier re-initialised for 25 classes" in report.summary()


def test_old_torchvision_files_without_batchnorm_counters_load(files):
    path, _ = files["torchvision_resnet50_old"]
    model = _build(path, "slowonly")
    counters = [v for k, v in model.state_dict().items() if k.endswith("num_batches_tracked")]
    assert len(counters) == 53 and all(int(c) == 0 for c in counters)
    assert model.pretrained_report.layout == "torchvision"
    assert model.pretrained_report.input_mean == (0.485, 0.456, 0.406)


def test_report_names_layout_normalisation_and_what_was_set_aside(files):
    path, _ = files["mmaction2_i3d_r50"]
    report = _build(path, "i3d").pretrained_report
    assert report.layout == "mmaction2"
    assert report.ignored == ["data_preprocessor.mean"]
    assert (report.input_mean, report.input_std) == ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    path, _ = files["pytorchvideo_slow_r50"]
    report = _build(path, "i3d").pretrained_report
    assert (report.input_mean, report.input_std) == ((0.45,) * 3, (0.225,) * 3)
    assert report.reshaped["conv1.weight"] == "inflated t1->5 (weight/5 repeated)"
    assert "model.variant=i3d takes Kinetics-400 I3D checkpoints one-to-one" in report.summary()


def test_depth_input_sums_the_rgb_kernels(files):
    path, state = files["pytorchvideo_i3d_r50"]
    model = _build(path, "i3d", in_channels=1)
    stem = state["blocks.0.conv.weight"].sum(dim=1, keepdim=True)
    assert torch.equal(model.conv1.weight, stem)


def test_a_file_that_fits_too_little_is_refused_naming_what_did_not_fit(files, tmp_path):
    _, state = files["pytorchvideo_i3d_r50"]
    # res4 and res5 missing: the stem (5 tensors), res2 (50) and res3 (65) would load.
    partial = {k: v for k, v in state.items() if not k.startswith(("blocks.4.", "blocks.5."))}
    path = _save(partial, "pyth", tmp_path / "partial.pyth")
    with pytest.raises(MgrdarkError) as e:
        _build(path, "i3d")
    message = str(e.value)
    assert "(pytorchvideo layout) fits too little of this network: 120 of 265" in message
    assert "not matched: layer3.0.conv1.weight, layer3.0.bn1.weight" in message
    assert "\n" not in message


def test_a_deeper_resnet_is_refused_though_all_of_ours_is_found(files, tmp_path):
    """A ResNet-101 file has every key of a ResNet-50 (and 17 more res4 blocks)."""
    _, state = files["torchvision_resnet50_old"]
    deeper = dict(state)
    for j in range(6, 23):
        for k, v in state.items():
            if k.startswith("layer3.1."):
                deeper[k.replace("layer3.1.", f"layer3.{j}.")] = v
    report = map_pretrained(
        deeper, _build(files["torchvision_resnet50_old"][0], "i3d").state_dict()
    )[1]
    assert report.match == 1.0 and report.file_match < 0.8
    path = _save(deeper, "plain", tmp_path / "r101.pth")
    with pytest.raises(MgrdarkError, match=r"265 of 265 backbone tensors load and 265 of the"):
        _build(path, "i3d")


class _NotAWeight:
    pass


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"weight": torch.zeros(2)}, "unknown weights layout (first keys: weight)"),
        ({"model_state": {"x": _NotAWeight()}}, "holds Python objects besides tensors"),
        ([1, 2], "holds a list, not a state_dict"),
    ],
)
def test_unreadable_files_are_refused_in_one_line(tmp_path, content, message):
    path = tmp_path / "w.pt"
    torch.save(content, path)
    model = torch.nn.Linear(2, 2)
    with pytest.raises(MgrdarkError) as e:
        load_pretrained(model, path)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_the_paper_preset_warns_when_it_starts_from_scratch(tmp_path):
    weights = tmp_path / "k400.pyth"
    weights.write_bytes(b"")
    assert "training from scratch (no model.pretrained) with SGD at lr 0.0001" in scratch_note(
        resolve_config(preset="paper")
    )
    fine_tune = resolve_config(preset="paper", sets={"model.pretrained": str(weights)})
    assert scratch_note(fine_tune) is None
    assert scratch_note(resolve_config(preset="tiny")) is None  # AdamW at 2e-3 from scratch


def test_runs_saved_with_the_old_key_are_still_read(tmp_path):
    """A run directory written before `model.pretrained_2d` became `model.pretrained`."""
    weights = tmp_path / "r50.pth"
    weights.write_bytes(b"")
    cfg = resolve_config(base={"model": {"depth": 18, "pretrained_2d": str(weights)}})
    assert cfg.model.pretrained == str(weights) and cfg.model.depth == 18
    assert resolve_config(base={"model": {"pretrained_2d": None}}).model.pretrained is None
