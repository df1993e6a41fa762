"""Table 4 rows as the paper describes them: the online assistant (gradient flow of eq. 5, 6
and 7), the row names, and depth students."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
import yaml
from click.testing import CliRunner
from torch import nn

from mgrdark_train.cli import cli
from mgrdark_train.engine.config import ConfigError
from mgrdark_train.mtcd.config import ABLATIONS, load_run_configs, resolve_mtcd_config
from mgrdark_train.mtcd.networks import MTCDNetwork
from mgrdark_train.mtcd.steps import OnlineStep, StudentStep
from mgrdark_train.testing.mtcd import TINY_MTCD_ARGS, write_tiny_dark_ir_dataset
from mgrdark_train.translator import create_translator

pytestmark = pytest.mark.usefixtures("one_torch_thread")

K = 4


class _Backbone(nn.Module):
    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv3d(channels, 6, 3, stride=(1, 2, 2), padding=1)

    def forward(self, x):
        f = torch.relu(self.conv(x))
        return {"features": {"res5": f}, "logits": None, "pooled": f.mean((2, 3, 4))}


def _net(seed: int, channels: int = 3) -> MTCDNetwork:
    torch.manual_seed(seed)
    return MTCDNetwork(
        _Backbone(channels), feature_channels=6, num_classes=K, embed_dim=8, dropout=0.0
    )


def _batch() -> dict:
    g = torch.Generator().manual_seed(0)
    return {
        "rgb": torch.randn(2, 3, 4, 16, 16, generator=g),
        "ir": torch.randn(2, 3, 4, 16, 16, generator=g),
        "label": torch.tensor([0, 3]),
    }


def _online(row: str) -> OnlineStep:
    sw = ABLATIONS[row]
    return OnlineStep(
        _net(0),
        _net(2),
        teacher=_net(1),
        translator=create_translator("grayscale"),
        use_fusion_kd=sw["fusion_kd"],
        use_ir_kd=sw["ir_kd"],
        use_assistant_kd=sw["assistant_kd"],
    )


def _reached(step: OnlineStep, term: torch.Tensor) -> set[str]:
    """Which networks a loss term sends gradient to."""
    step.zero_grad(set_to_none=True)
    term.backward(retain_graph=True)
    nets = {"student": step.student, "assistant": step.assistant}
    nets |= {"teacher": step.frozen("teacher"), "translator": step.frozen("translator")}
    return {
        name
        for name, net in nets.items()
        if any(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())
    }


def test_online_gradient_flow_eq6_assistant_only_eq5_eq7_student_only():
    step = _online("full").train()
    out = step(_batch())
    assert {"ce", "kd_ir_rgb", "kd_fusion_rgb", "assistant_ce", "kd_ir_irp"} <= set(out)
    assert _reached(step, out["kd_ir_irp"]) == {"assistant"}  # eq. 6
    assert _reached(step, out["kd_ir_rgb"]) == {"student"}  # eq. 5
    assert _reached(step, out["kd_fusion_rgb"]) == {"student"}  # eq. 7: target detached
    assert _reached(step, out["ce"]) == {"student"}
    assert _reached(step, out["assistant_ce"]) == {"assistant"}
    assert _reached(step, out["loss"]) == {"student", "assistant"}
    # The optimizer sees both trained networks, never the frozen ones.
    trained = {id(p) for p in step.parameters()}
    assert all(id(p) in trained for p in step.assistant.parameters())
    assert not any(id(p) in trained for p in step.frozen("teacher").parameters())
    # loss = student's eq. 10 + assistant's CE + gamma * eq. 6 (gamma 1, alpha 0.9, beta 0.3)
    want = out["ce"] + 0.9 * out["kd_fusion_rgb"] + 0.3 * out["kd_ir_rgb"]
    want = want + out["assistant_ce"] + out["kd_ir_irp"]
    assert out["loss"].item() == pytest.approx(want.item(), rel=1e-6)


def test_row3_student_gets_exactly_row2s_gradient():
    """Row 3 (eq. 5 + eq. 6, no fusion): eq. 6 trains the assistant, which reaches the student
    through no term, so the student's gradient is the one of row 2 (the `teacher` row)."""
    row3 = _online("teacher+irp").train()
    out = row3(_batch())
    assert "kd_fusion_rgb" not in out and "kd_ir_irp" in out
    out["loss"].backward()
    row2 = StudentStep(_net(0), teacher=_net(1), use_fusion_kd=False, use_ir_kd=True).train()
    row2(_batch())["loss"].backward()
    for a, b in zip(row3.student.parameters(), row2.student.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad)
    assert any(p.grad.abs().sum() > 0 for p in row3.assistant.parameters())


def test_online_step_in_eval_mode_runs_the_student_on_its_input_only():
    step = _online("full").eval()
    batch = _batch()
    del batch["ir"]
    out = step(batch)
    assert set(out) == {"output", "ce", "loss"}


def test_row_names_and_offline_row3_refused():
    with pytest.raises(ConfigError, match=r"mtcd.ablation: 'teacher\+irp'.*assistant_mode=online"):
        resolve_mtcd_config(sets={"ablation": "teacher+irp"})
    cfg = resolve_mtcd_config(sets={"ablation": "teacher+irp", "assistant_mode": "online"})
    assert cfg.uses_assistant
    with pytest.raises(ConfigError, match="mtcd.ablation 'teacher\\+assistant'"):
        resolve_mtcd_config(sets={"ablation": "teacher+assistant"})
    assert not resolve_mtcd_config(sets={"ablation": "teacher"}).uses_assistant


def test_a_saved_run_with_the_old_row_name_reads_as_its_new_name(tmp_path):
    (tmp_path / "config.yaml").write_text("{}\n")
    (tmp_path / "mtcd.yaml").write_text(yaml.safe_dump({"ablation": "teacher+assistant"}))
    _, mbase = load_run_configs(tmp_path)
    assert resolve_mtcd_config(base=mbase).ablation == "teacher+fusion"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("online") / "data"
    write_tiny_dark_ir_dataset(root, depth=True)
    return root


def _mtcd(data, out, *args):
    res = CliRunner().invoke(
        cli,
        ["mtcd", "-d", str(data), "--split", "subjects", *TINY_MTCD_ARGS, "--out", str(out)]
        + list(args),
    )
    assert res.exit_code == 0, res.output
    return json.loads((out / "results.json").read_text())


def test_online_row3_trains_assistant_and_student_in_one_stage(data, tmp_path):
    out = tmp_path / "row3"
    results = _mtcd(
        data,
        out,
        "--ablation",
        "teacher+irp",
        "--assistant-mode",
        "online",
        "--translator",
        "grayscale",
    )
    assert set(results["stages"]) == {"translator", "teacher", "student"}  # no assistant stage
    assert not (out / "assistant").exists()
    assert yaml.safe_load((out / "student" / "config.yaml").read_text())["stage"] == "mtcd_online"
    header = (out / "student" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"train_kd_ir_irp", "train_kd_ir_rgb", "train_assistant_ce"} <= set(header)
    assert "train_kd_fusion_rgb" not in header
    res = CliRunner().invoke(cli, ["eval", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert f"top1={results['test']['top1']:.4f}" in res.output


def test_depth_student_reads_depth_alone_at_test_time(data, tmp_path):
    out = tmp_path / "depth"
    results = _mtcd(data, out, "--student", "depth", "--translator", "grayscale")
    cfg = yaml.safe_load((out / "student" / "config.yaml").read_text())
    assert cfg["data"]["modality"] == "depth"
    weights = torch.load(out / "student" / "checkpoints" / "last.pt", weights_only=False)["step"]
    assert weights["student.backbone.conv1.weight"].shape[1] == 1  # one depth channel
    header = (out / "student" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"train_kd_ir_rgb", "train_kd_fusion_rgb"} <= set(header)
    # Test time needs the depth clips only: without RGB and IR the student still evaluates.
    copy = tmp_path / "depth_only"
    shutil.copytree(data, copy)
    shutil.rmtree(copy / "clips" / "rgb")
    shutil.rmtree(copy / "clips" / "ir")
    res = CliRunner().invoke(cli, ["eval", str(out / "student"), "-d", str(copy), "-q"])
    assert res.exit_code == 0, res.output
    assert f"top1={results['test']['top1']:.4f}" in res.output
