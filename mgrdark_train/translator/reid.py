"""Identity preservation of the `sda` translator: re-ID encoders and the losses of eq. 1-4.

The paper's translator follows SDA-GAN: two feature encoders, pre-trained with different seeds
on person identities, keep the identity of the person in the pseudo-IR they judge. The paper
body (hence its exact equations) was not available to us; this is the standard re-ID recipe
the description names (AlignGAN's warm-up, Hermans et al. 2017), in the paper's numbering:

    eq. 1  L_pre = L_id + lambda_pre * L_tri
    eq. 2  L_id  = -1/N sum_i log softmax(W f_i + b)_{y_i}            (identity cross-entropy)
    eq. 3  D(a, b) = ||f_a - f_b||_2                                   (Euclidean, not squared)
    eq. 4  L_tri = 1/N sum_a [eps + max_{p: y_p = y_a} D(a, p) - min_{n: y_n != y_a} D(a, n)]_+

(batch-hard triplet: the farthest positive and the closest negative of every anchor inside the
batch; averaged over anchors as deep-person-reid does, where Hermans et al. sum.)

Identities are the training subjects of the split (`ClipDataset` items' ``identity``), never
test subjects. An optional SYSU-MM01 folder (`cam1..cam6/<pid>/<image>.jpg`; cam3 and cam6 are
infrared) pre-trains the encoders on its infrared identities first (`load_sysu_ir`); they are
then fine-tuned, with a new classifier, on the training subjects.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mgrdark_data.errors import MgrdarkError
from mgrdark_data.progress import Progress, stage_bar

from ..data.normalize import DEFAULT_NORMALIZATION, normalize_clip

log = logging.getLogger(__name__)

SYSU_IR_CAMERAS = ("cam3", "cam6")
"""SYSU-MM01's infrared cameras (cam1, cam2, cam4, cam5 are RGB)."""


class SYSUFolderError(MgrdarkError):
    """A SYSU-MM01 folder that cannot be read as one."""


class ReIDEncoder(nn.Module):
    """A small 2D CNN: frame -> identity feature f (eq. 3's space) and identity logits (eq. 2).

    Args:
        in_channels: Channels of the (pseudo-)IR frame.
        num_ids: Identities of the classifier W, b.
        channels: Width of the first block (doubled twice).
    """

    def __init__(self, *, in_channels: int = 3, num_ids: int, channels: int = 16) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_channels
        for cout in (channels, 2 * channels, 4 * channels):
            layers += [
                nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
            ]
            cin = cout
        self.body = nn.Sequential(*layers)
        self.num_features = cin
        self.classifier = nn.Linear(cin, num_ids)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        f = self.body(x).mean(dim=(2, 3))
        return {"features": f, "logits": self.classifier(f)}


def identity_ce(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Eq. 2: identity cross-entropy, the batch mean."""
    return F.cross_entropy(logits.float(), ids)  # eq. 2


def pairwise_distances(features: torch.Tensor) -> torch.Tensor:
    """Eq. 3: Euclidean distances between every two rows, (N, N)."""
    f = features.float()
    sq = f.pow(2).sum(dim=1)
    d2 = sq[:, None] + sq[None, :] - 2 * f @ f.T
    return d2.clamp_min(1e-12).sqrt()  # eq. 3 (clamped: the gradient of sqrt at 0 is infinite)


def batch_hard_triplet(features: torch.Tensor, ids: torch.Tensor, margin: float) -> torch.Tensor:
    """Eq. 4: batch-hard triplet loss with margin epsilon, the mean over anchors.

    Anchors without a positive other than themselves or without a negative in the batch are
    left out; a batch with no usable anchor gives 0 (still connected to `features`).
    """
    d = pairwise_distances(features)
    same = ids[:, None] == ids[None, :]
    eye = torch.eye(len(ids), dtype=torch.bool, device=ids.device)
    positives, negatives = same & ~eye, ~same
    hardest_pos = d.masked_fill(~positives, float("-inf")).amax(dim=1)
    hardest_neg = d.masked_fill(~negatives, float("inf")).amin(dim=1)
    usable = positives.any(dim=1) & negatives.any(dim=1)
    if not usable.any():
        return features.sum() * 0.0
    per_anchor = F.relu(margin + hardest_pos[usable] - hardest_neg[usable])  # eq. 4
    return per_anchor.mean()


def reid_loss(
    out: dict[str, torch.Tensor], ids: torch.Tensor, *, triplet_weight: float, margin: float
) -> dict[str, torch.Tensor]:
    """Eq. 1 on an encoder's output: ``{"loss", "ce", "triplet"}``."""
    ce = identity_ce(out["logits"], ids)
    tri = batch_hard_triplet(out["features"], ids, margin)
    return {"loss": ce + triplet_weight * tri, "ce": ce, "triplet": tri}  # eq. 1


def pretrain_encoder(
    frames: torch.Tensor,
    ids: torch.Tensor,
    *,
    num_ids: int,
    seed: int,
    epochs: int,
    lr: float = 1e-3,
    batch_size: int = 64,
    channels: int = 16,
    triplet_weight: float = 1.0,
    margin: float = 0.3,
    encoder: ReIDEncoder | None = None,
    device: torch.device | str = "cpu",
    progress: Progress | None = None,
    stage: str = "re-ID",
) -> tuple[ReIDEncoder, dict[str, float]]:
    """Train an encoder with eq. 1 on normalised (N, C, H, W) IR frames and their identities.

    Args:
        frames: Normalised IR frames.
        ids: Identity of every frame, 0..num_ids-1.
        num_ids: Identities of the classifier.
        seed: Initialisation and batch order (the two encoders differ in it only).
        epochs: Passes over the frames.
        lr: Adam learning rate.
        batch_size: Frames per step (drawn at random: batches hold several frames of every
            identity when identities are few, so eq. 4 has positives and negatives).
        channels: Encoder width.
        triplet_weight: lambda_pre of eq. 1.
        margin: epsilon of eq. 4.
        encoder: Continue this encoder (its body; the classifier is replaced for `num_ids`).
        device: Where to train.
        progress: Progress factory (one bar, `stage`).
        stage: Bar name.

    Returns:
        The encoder (eval mode) and its last epoch's mean ``loss``, ``ce``, ``triplet``,
        ``accuracy`` (training frames).
    """
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    if encoder is None:
        encoder = ReIDEncoder(in_channels=frames.shape[1], num_ids=num_ids, channels=channels)
    else:
        encoder.classifier = nn.Linear(encoder.num_features, num_ids)
    encoder = encoder.to(device).train()
    opt = torch.optim.Adam(encoder.parameters(), lr=lr)
    metrics: dict[str, float] = {}
    with stage_bar(progress, stage, epochs, "epoch") as bar:
        for _ in range(epochs):
            sums, correct, n = {"loss": 0.0, "ce": 0.0, "triplet": 0.0}, 0, 0
            for idx in torch.randperm(len(ids), generator=gen).split(batch_size):
                x, y = frames[idx].to(device), ids[idx].to(device)
                out = encoder(x)
                terms = reid_loss(out, y, triplet_weight=triplet_weight, margin=margin)
                opt.zero_grad(set_to_none=True)
                terms["loss"].backward()
                opt.step()
                for k in sums:
                    sums[k] += float(terms[k].detach()) * len(idx)
                correct += int((out["logits"].argmax(1) == y).sum())
                n += len(idx)
            metrics = {k: v / n for k, v in sums.items()} | {"accuracy": correct / n}
            bar.update(1)
    return encoder.eval(), metrics


class IdentityTerm:
    """Identity preservation through frozen encoders: eq. 1 on the translator's output, with
    the identities of the RGB frames it came from, averaged over the encoders.

    Kept outside the translator step's module tree (no optimizer or checkpoint of the step
    sees the encoders); gradients flow through them into the translator only.
    """

    def __init__(
        self, encoders: Sequence[ReIDEncoder], *, triplet_weight: float, margin: float
    ) -> None:
        self.encoders = [e.eval().requires_grad_(False) for e in encoders]
        self.triplet_weight, self.margin = triplet_weight, margin

    def __call__(self, fake_ir: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        total = fake_ir.new_zeros(())
        for enc in self.encoders:
            enc.to(fake_ir.device)
            out = enc(fake_ir)
            terms = reid_loss(out, ids, triplet_weight=self.triplet_weight, margin=self.margin)
            total = total + terms["loss"]
        return total / len(self.encoders)


def load_sysu_ir(
    root: str | Path, *, size: int, per_identity: int = 20, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Infrared images of a SYSU-MM01 folder as normalised (N, 3, size, size) frames.

    Reads `cam3/<pid>/*.jpg` and `cam6/<pid>/*.jpg`; when `exp/test_id.txt` exists, its
    identities are left out (pre-training never sees test people). At most `per_identity`
    images per identity, chosen by `seed`.

    Returns:
        Frames, identity index of each frame, and the identity names (pid folders).

    Raises:
        SYSUFolderError: No infrared camera folder, or no image in them.
    """
    root = Path(root)
    cams = [root / c for c in SYSU_IR_CAMERAS if (root / c).is_dir()]
    if not cams:
        raise SYSUFolderError(
            f"{root} has no {' or '.join(SYSU_IR_CAMERAS)} folder; expected SYSU-MM01's layout "
            "cam1..cam6/<pid>/<image>.jpg (cam3 and cam6 infrared)"
        )
    test_ids = _id_list(root / "exp" / "test_id.txt")
    by_id: dict[str, list[Path]] = {}
    for cam in cams:
        for pid_dir in sorted(p for p in cam.iterdir() if p.is_dir()):
            if pid_dir.name.isdigit() and int(pid_dir.name) in test_ids:
                continue
            by_id.setdefault(pid_dir.name, []).extend(sorted(pid_dir.glob("*.jpg")))
    by_id = {k: v for k, v in sorted(by_id.items()) if v}
    if not by_id:
        raise SYSUFolderError(f"no .jpg image under {', '.join(map(str, cams))}")
    rng = np.random.default_rng(seed)
    frames, ids = [], []
    for i, (_, paths) in enumerate(by_id.items()):
        keep = rng.permutation(len(paths))[:per_identity]
        for k in sorted(keep):
            img = cv2.imread(str(paths[k]), cv2.IMREAD_COLOR)
            if img is None:
                raise SYSUFolderError(f"{paths[k]} is not a readable image")
            img = cv2.resize(img[..., ::-1], (size, size), interpolation=cv2.INTER_AREA)
            frames.append(torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1))
            ids.append(i)
    clip = torch.stack(frames, dim=1)  # (3, N, size, size) uint8, a clip of N frames
    norm = normalize_clip(clip, DEFAULT_NORMALIZATION["ir"])
    return norm.permute(1, 0, 2, 3).contiguous(), torch.tensor(ids), list(by_id)


def _id_list(path: Path) -> set[int]:
    if not path.exists():
        return set()
    text = path.read_text().replace("\n", ",")
    return {int(x) for x in text.split(",") if x.strip()}


def identity_frames(dataset) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Every sampled IR frame of a `ClipDataset` (epoch 0's frames and crops), normalised, with
    the identity of its clip's subject.

    Returns:
        (N, C, H, W) frames, (N,) identities, and the number of identities.
    """
    frames, ids = [], []
    for i in range(len(dataset)):
        item = dataset[(i, 0)]
        clip = normalize_clip(item["ir"], DEFAULT_NORMALIZATION["ir"])  # (C, T, H, W)
        frames.append(clip.permute(1, 0, 2, 3))
        ids += [int(item["identity"])] * clip.shape[1]
    return torch.cat(frames), torch.tensor(ids), len(dataset.subjects)


def pretrain_encoders(
    frames: torch.Tensor,
    ids: torch.Tensor,
    num_ids: int,
    tcfg,
    *,
    seed: int,
    device: torch.device | str = "cpu",
    progress: Progress | None = None,
) -> tuple[list[ReIDEncoder], list[dict[str, float]]]:
    """The `tcfg.reid_encoders` encoders of an `sda` translator, seeds `seed`, `seed + 1`, ...:
    each pre-trained with eq. 1 on `tcfg.reid_sysu`'s infrared identities when given, then on
    the training subjects' IR frames (`frames`, `ids`).

    Returns:
        The encoders (eval mode) and each one's last-epoch metrics on the training subjects.
    """
    sysu = None
    if tcfg.reid_sysu:
        sysu = load_sysu_ir(tcfg.reid_sysu, size=frames.shape[-1], seed=seed)
        log.info("SYSU-MM01: %d IR images of %d identities", len(sysu[1]), len(sysu[2]))
    common = {
        "lr": tcfg.reid_lr,
        "channels": tcfg.reid_channels,
        "triplet_weight": tcfg.reid_triplet_weight,
        "margin": tcfg.reid_margin,
        "device": device,
        "progress": progress,
    }
    encoders, metrics = [], []
    for k in range(tcfg.reid_encoders):
        encoder = None
        if sysu is not None:
            encoder, _ = pretrain_encoder(
                sysu[0],
                sysu[1],
                num_ids=len(sysu[2]),
                seed=seed + k,
                epochs=tcfg.reid_sysu_epochs,
                stage=f"re-ID {k + 1} SYSU",
                **common,
            )
        encoder, m = pretrain_encoder(
            frames,
            ids,
            num_ids=num_ids,
            seed=seed + k,
            epochs=tcfg.reid_epochs,
            encoder=encoder,
            stage=f"re-ID {k + 1}",
            **common,
        )
        encoders.append(encoder)
        metrics.append(m)
    return encoders, metrics
