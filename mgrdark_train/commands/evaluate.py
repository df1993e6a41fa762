"""`mgrtrain eval`: evaluate a run's checkpoint and write the report."""

from __future__ import annotations

import click

from mgrdark_data.cli.common import quiet_option, setup_logging
from mgrdark_data.cli.progress import progress_factory

from ..mtcd.layout import MEMBERS


@click.command(name="eval")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@click.option(
    "--member",
    type=click.Choice(list(MEMBERS)),
    default=None,
    help="Of an MTCD run directory: which network to evaluate (default: student).",
)
@click.option(
    "--subset", type=click.Choice(["train", "val", "test"]), default="test", show_default=True
)
@click.option(
    "--checkpoint",
    default=None,
    help="File in <folder>/checkpoints/ (default: best.pt, the epoch of best val top-1, when "
    "the run validated on val subjects; else last.pt).",
)
@click.option(
    "--views",
    default=None,
    metavar="CxK",
    help="C temporal clips x K spatial crops per clip, softmax scores averaged, e.g. 10x3 "
    "(default: the run's eval.clips x eval.crops, 1x1: the centre crop of one clip).",
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
    help="Report directory (default: <folder>/eval, or <folder>/eval_<subset>).",
)
@quiet_option
def evaluate(
    run_dir, member, subset, checkpoint, views, data, device, batch_size, workers, out, quiet
) -> None:
    """Top-1/top-5/per-class accuracy, confusion matrix PNG and per-clip predictions.

    RUN_DIR is a baseline run, an MTCD run directory (its student unless --member says
    otherwise) or one stage folder of an MTCD run; <folder> is the one evaluated.
    """
    from ..stages.run import evaluate_run

    setup_logging(quiet)
    res = evaluate_run(
        run_dir,
        member=member,
        subset=subset,
        checkpoint=checkpoint,
        views=views,
        device=device,
        batch_size=batch_size,
        workers=workers,
        out_dir=out,
        data=data,
        progress=progress_factory(quiet),
    )
    who = f"{res['member']}, " if "member" in res else ""
    click.echo(
        f"{res['run']} ({who}{subset}, {res['clips']} clips, {res['checkpoint']} of epoch "
        f"{res['epoch']}, views {res['views']}): "
        f"top1={res['top1']:.4f} top5={res['top5']:.4f} "
        f"mean class accuracy={res['mean_class_accuracy']:.4f}"
    )
