"""`mgrdata synth RAW`: write synthetic raw recordings, RAW/labels.csv and RAW/truth.json."""

from __future__ import annotations

import os

import click

from ..synth import SynthEncoding, synthesize
from ..synth.plan import DARK_NOISE_SIGMA
from .common import preset_option, quiet_option, setup_logging
from .progress import progress_factory


@click.command()
@click.argument("raw", type=click.Path(file_okay=False))
@click.option(
    "--subjects",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Number of subjects (S01, S02, ...).",
)
@click.option(
    "--scale",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Multiplies every resolution (RGB 1920x1080, depth 512x424, IR 1408x1068).",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Same seed, same labels and frames."
)
@click.option(
    "--scenes",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Rooms per subject, each recorded in the dark and in daylight.",
)
@click.option(
    "--repeats",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Instances of every class per take (a take has 10 x REPEATS gestures).",
)
@click.option(
    "--gesture-frames",
    type=(click.IntRange(min=1), click.IntRange(min=1)),
    default=(45, 210),
    show_default=True,
    metavar="MIN MAX",
    help="Gesture length range in RGB frames (25 fps).",
)
@click.option(
    "--rest-frames",
    type=(click.IntRange(min=1), click.IntRange(min=1)),
    default=(10, 40),
    show_default=True,
    metavar="MIN MAX",
    help="Pause before, between and after gestures, in RGB frames.",
)
@click.option(
    "--no-sync", is_flag=True, help="Omit sync.json (the IR offset is then only in truth.json)."
)
@click.option(
    "--crf",
    type=click.IntRange(0, 51),
    default=15,
    show_default=True,
    help="H.264 quality of rgb.mp4 and ir.mp4 (lower is better).",
)
@click.option(
    "--dark-noise",
    type=click.FloatRange(min=0),
    default=DARK_NOISE_SIGMA,
    show_default=True,
    metavar="LEVELS",
    help="Sensor noise of the dark takes' RGB in 8-bit levels; the person stands out "
    "from the room by a few levels, so lower makes dark RGB easier.",
)
@preset_option("ultrafast")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Recordings rendered in parallel processes (default: CPU count, at most 4).",
)
@quiet_option
def synth(
    raw,
    subjects,
    scale,
    seed,
    scenes,
    repeats,
    gesture_frames,
    rest_frames,
    no_sync,
    crf,
    dark_noise,
    preset,
    workers,
    quiet,
) -> None:
    """Write synthetic dark/daylight RGB + depth + IR recordings of gestures into RAW."""
    setup_logging(quiet)
    for name, (lo, hi) in (("--gesture-frames", gesture_frames), ("--rest-frames", rest_frames)):
        if lo > hi:
            raise click.BadParameter(f"MIN {lo} is above MAX {hi}", param_hint=name)
    workers = workers or min(4, os.cpu_count() or 1)
    result = synthesize(
        raw,
        subjects=subjects,
        scenes=scenes,
        scale=scale,
        seed=seed,
        repeats=repeats,
        gesture_frames=gesture_frames,
        rest_frames=rest_frames,
        write_sync=not no_sync,
        encoding=SynthEncoding(crf=crf, preset=preset),
        workers=workers,
        progress=progress_factory(quiet),
        dark_noise=dark_noise,
    )
    click.echo(f"raw:    {result.raw}")
    click.echo(f"labels: {result.labels_path}")
    click.echo(f"truth:  {result.truth_path}")
    click.echo(
        f"{len(result.recordings)} recordings ({subjects} subjects x {scenes} scenes x "
        f"dark/daylight), {result.gestures} gestures, {result.rgb_frames} RGB frames"
        f"{'' if not no_sync else ', no sync.json'}"
    )
