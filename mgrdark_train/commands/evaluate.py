"""`mgrtrain eval`: evaluate a run's checkpoint and write the report."""

from __future__ import annotations

import click

from mgrdark_data.cli.common import quiet_option, setup_logging

from .progress import tqdm_factory


@click.command(name="eval")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@click.option(
    "--subset", type=click.Choice(["train", "val", "test"]), default="test", show_default=True
)
@click.option(
    "--checkpoint", default="last.pt", show_default=True, help="File in RUN_DIR/checkpoints/."
)
@click.option(
    "-d",
    "--data",
    default=None,
    type=click.Path(file_okay=False),
    help="Dataset root (default: the one the run was trained on).",
)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None)
@click.option("--batch-size", type=int, default=None)
@click.option("--workers", type=int, default=None)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Report directory (default: RUN_DIR/eval, or RUN_DIR/eval_<subset>).",
)
@quiet_option
def evaluate(run_dir, subset, checkpoint, data, device, batch_size, workers, out, quiet) -> None:
    """Top-1/top-5/per-class accuracy, confusion matrix PNG and per-clip predictions."""
    from ..stages.run import evaluate_run

    setup_logging(quiet)
    res = evaluate_run(
        run_dir,
        subset=subset,
        checkpoint=checkpoint,
        device=device,
        batch_size=batch_size,
        workers=workers,
        out_dir=out,
        data=data,
        progress=tqdm_factory(quiet),
    )
    click.echo(
        f"{run_dir} ({subset}, {res['clips']} clips, epoch {res['epoch']}): "
        f"top1={res['top1']:.4f} top5={res['top5']:.4f} "
        f"mean class accuracy={res['mean_class_accuracy']:.4f}"
    )
