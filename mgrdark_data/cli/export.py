"""`mgrdata export`: clip lists for MMAction2, PyTorchVideo or a generic CSV."""

from __future__ import annotations

import click

from .. import MODALITIES
from ..export import FORMATS, export_split
from .common import data_option, data_root, quiet_option, setup_logging


@click.command()
@data_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    required=True,
    help="mmaction: VideoDataset ann_file; pytorchvideo: LabeledVideoPaths.from_csv "
    "file; csv: manifest columns.",
)
@click.option("--split", "split", required=True, help="Split name (DATA/splits/<name>.parquet).")
@click.option(
    "--modality",
    default="rgb",
    show_default=True,
    help=f"Comma-separated modalities ({','.join(MODALITIES)}).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Output folder (default DATA/exports/<split>/<format>).",
)
@click.option(
    "--data-prefix",
    "data_prefix",
    type=click.Path(file_okay=False),
    help="Write paths relative to this folder instead of absolute paths.",
)
@quiet_option
def export(data, fmt, split, modality, out, data_prefix, quiet) -> None:
    """Write per-split (and per-modality) list files that the library reads unchanged."""
    setup_logging(quiet)
    modalities = [m.strip() for m in modality.split(",") if m.strip()]
    result = export_split(
        data_root(data),
        fmt=fmt,
        split=split,
        modalities=modalities,
        out=out,
        data_prefix=data_prefix,
    )
    for path in result.files:
        click.echo(f"{path}  ({result.counts[path.name]} clips)")
    for reason, n in result.skipped.items():
        click.echo(f"left out {n} clip(s): {reason}", err=True)
