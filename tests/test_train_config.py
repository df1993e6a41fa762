"""The one config resolver: every config is typed and checked before any work starts."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from mgrdark_train.cli import cli
from mgrdark_train.engine.config import ConfigError, resolve_config
from mgrdark_train.mtcd.config import load_run_configs, resolve_mtcd_config, resolve_mtcd_run
from mgrdark_train.mtcd.synthetic import write_dark_ir_dataset
from mgrdark_train.translator.config import resolve_translator_run


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("config") / "data"
    write_dark_ir_dataset(
        root, classes=3, train_subjects=2, test_subjects=1, clips_per_class=1, size=16
    )
    return root


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        ({"model.name": "resnet99"}, "model.name 'resnet99': expected one of ['resnet3d']"),
        ({"model.depth": 35}, "model.depth: unknown ResNet depth 35"),
        ({"model.stem_temporal_kernel": 4}, "model.stem_temporal_kernel: must be odd, got 4"),
        ({"optim.lr": "0.1x"}, "optim.lr must be float, got '0.1x'"),
        ({"optim.epochs": 2.5}, "optim.epochs must be int, got 2.5"),
        ({"run.tensorboard": "yes please"}, "run.tensorboard must be bool"),
        ({"run.device": "gpu"}, "run.device 'gpu': expected one of ['auto', 'cpu', 'cuda']"),
        ({"run.amp": "fp16"}, "run.amp 'fp16': expected one of ['auto', 'bf16', 'off']"),
        ({"data.modality": "thermal"}, "data.modality 'thermal': expected one of"),
        ({"data.light": "dusk"}, "data.light 'dusk': expected one of ['dark', 'daylight'] or null"),
        ({"data.eval_subset": "dev"}, "data.eval_subset 'dev': expected one of"),
        ({"data.workers": -1}, "data.workers: expected 'auto' or a count >= 0, got -1"),
        ({"data.workers": "many"}, "data.workers: expected 'auto' or a count >= 0, got 'many'"),
        ({"data.workers": 1.5}, "data.workers must be int or str, got 1.5"),
        ({"data.crop": 300}, "data.crop: 300 is larger than data.resize 256"),
        ({"data.split": None}, "data.split may not be empty (null); expected str"),
        ({"model.pretrained": "/no/such/weights.pt"}, "model.pretrained: '/no/such/"),
        ({"model.pretrained_2d": "w.pt"}, "model.pretrained_2d is now model.pretrained"),
        ({"model.variant": "x3d"}, "model.variant 'x3d': expected one of ['slowonly', 'i3d']"),
        ({"model.checkpoint_stages": 5}, "model.checkpoint_stages must lie in [0, 4], got 5"),
        ({"eval.clips": 0}, "eval.clips must lie in [1, inf], got 0"),
        ({"data.num_frames": 4}, "data.num_frames: 4 frames are fewer than the network's"),
        ({"optim.momentum.x": 1}, "optim.momentum must be float, got {'x': 1}"),
    ],
)
def test_training_config_refuses_bad_values_naming_the_key(sets, message):
    with pytest.raises(ConfigError) as e:
        resolve_config(preset="paper", sets=sets)
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_numbers_are_coerced_only_where_lossless():
    cfg = resolve_config(sets={"optim.lr": 1, "model.width": 2})  # YAML ints for float fields
    assert cfg.optim.lr == 1.0 and isinstance(cfg.optim.lr, float) and cfg.model.width == 2.0
    with pytest.raises(ConfigError, match="run.seed must be int, got True"):
        resolve_config(sets={"run.seed": True})


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        ({"distill.alpha": "0.9x"}, "mtcd.distill.alpha must be float, got '0.9x'"),
        ({"distill.kd_distance": "l3"}, "mtcd.distill.kd_distance 'l3': expected one of"),
        ({"distill.kd_reduction": "sum"}, "mtcd.distill.kd_reduction 'sum': expected one of"),
        ({"distill.fusion_weight": 1.5}, "mtcd.distill.fusion_weight must lie in [0.0, 1.0]"),
        ({"ablation": "half"}, "mtcd.ablation 'half': expected one of ['baseline', 'teacher',"),
        ({"translator.name": "cyclegan"}, "mtcd.translator.name 'cyclegan': expected one of"),
        ({"translator.frames_per_batch": 0}, "mtcd.translator.frames_per_batch must lie in"),
        ({"distill.alpah": 0.5}, "unknown setting 'mtcd.distill.alpah'"),
        ({"precise_bn_batches": 50}, "mtcd.precise_bn_batches is now run.precise_bn_batches"),
    ],
)
def test_mtcd_config_goes_through_the_same_checks(sets, message):
    with pytest.raises(ConfigError) as e:
        resolve_mtcd_config(preset="tiny", sets=sets)
    assert message in str(e.value)


def test_translator_config_goes_through_the_same_checks():
    cfg, tcfg = resolve_translator_run(preset="tiny", sets={"translator.epochs": 3})
    assert (cfg.model.depth, tcfg.epochs, tcfg.base_channels) == (10, 3, 8)
    with pytest.raises(ConfigError, match=r"translator.gan_weight must be float, got 'x'"):
        resolve_translator_run(sets={"translator.gan_weight": "x"})
    with pytest.raises(ConfigError, match=r"unknown setting 'translator.layers'"):
        resolve_translator_run(overrides={"translator.layers": 3})


def test_mtcd_run_defaults_to_precise_bn_and_reads_old_run_dirs(tmp_path):
    cfg, mcfg, run_dir = resolve_mtcd_run(preset="tiny", overrides={"data.split": "s2"})
    assert cfg.stage == "mtcd" and cfg.run.precise_bn_batches == 200
    assert run_dir.as_posix() == "runs/mtcd_full_s2"
    assert resolve_config(preset="tiny").run.precise_bn_batches == 0  # baselines: off
    # A run written when the setting was mtcd.precise_bn_batches continues with its value.
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict()))
    old = {**mcfg.to_dict(), "precise_bn_batches": 7}
    (tmp_path / "mtcd.yaml").write_text(yaml.safe_dump(old))
    base, mbase = load_run_configs(tmp_path)
    assert base["run"]["precise_bn_batches"] == 7 and "precise_bn_batches" not in mbase
    cfg2, mcfg2, _ = resolve_mtcd_run(run_dir=tmp_path, preset="paper")
    assert cfg2.run.precise_bn_batches == 7 and mcfg2 == mcfg
    assert cfg2.model.depth == 10  # the saved config, not the preset


def _invoke(args):
    return CliRunner().invoke(cli, args)


@pytest.mark.parametrize(
    ("command", "setting", "key"),
    [
        ("mtcd", "mtcd.distill.alpha=0.9x", "mtcd.distill.alpha must be float, got '0.9x'"),
        ("mtcd", "model.name=resnet99", "model.name 'resnet99': expected one of ['resnet3d']"),
        ("mtcd", "mtcd.translator.epochs=0", "mtcd.translator.epochs must lie in [1, inf]"),
        ("baseline", "model.name=resnet99", "model.name 'resnet99'"),
        ("baseline", "optim.name=adam", "optim.name 'adam': expected one of ['sgd', 'adamw']"),
        ("translator", "translator.hot_weight=hot", "translator.hot_weight must be float"),
    ],
)
def test_cli_refuses_bad_settings_before_any_work(data, tmp_path, command, setting, key):
    run = tmp_path / "run"
    args = [command, "-d", str(data), "--preset", "tiny", "--out", str(run), "-q"]
    if command == "baseline":
        args += ["--modality", "ir"]
    res = _invoke([*args, "--set", setting])
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and key in lines[0], res.output
    assert "unexpected" not in res.output
    assert not run.exists()  # no stage folder, no config, no checkpoint


def test_light_takes_only_dark_daylight_or_all_and_dark_is_announced(data, tmp_path):
    res = _invoke(["translator", "-d", str(data), "--light", "dusk", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "'dusk' is not one of 'dark', 'daylight', 'all'" in res.output
    cfg, _ = resolve_translator_run(sets={"data.light": None})
    assert cfg.data.light is None
    run = tmp_path / "t"
    res = _invoke(
        [
            "translator",
            "-d",
            str(data),
            "--preset",
            "tiny",
            "--name",
            "grayscale",
            "--set",
            "data.resize=16",
            "--set",
            "data.crop=16",
            "--out",
            str(run),
        ]
    )
    assert res.exit_code == 0, res.output
    note = "note: training on dark clips only (data.light=dark); --light all for every clip"
    assert note in res.output
    res = _invoke(
        [
            "translator",
            "-d",
            str(data),
            "--name",
            "grayscale",
            "--light",
            "all",
            "--out",
            str(tmp_path / "t2"),
            "--set",
            "data.resize=16",
            "--set",
            "data.crop=16",
        ]
    )
    assert res.exit_code == 0, res.output
    assert "note: training on" not in res.output  # (the worker count is still said)
