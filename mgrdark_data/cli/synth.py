"""`mgrdata synth RAW`: write synthetic raw recordings, RAW/labels.csv and RAW/truth.json."""

from __future__ import annotations

import os

import click

from ..synth import CAPTURE_PRESETS, SynthEncoding, synthesize
from ..synth.capture import STREAMS, TIME_UNITS, capture_options
from ..synth.plan import DARK_EXPOSURE, DARK_NOISE_SIGMA, DIST_RANGE_MM
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
    help="Gesture length range in RGB frames (at the RGB rate of their take).",
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
@click.option(
    "--dark-exposure",
    type=(float, float),
    default=DARK_EXPOSURE,
    show_default=True,
    metavar="MIN MAX",
    help="Mean RGB level of the dark takes on [0, 1] (daylight 0.42-0.48); higher lifts "
    "the person above the black level, so dark RGB gets easier.",
)
@click.option(
    "--distance",
    type=(float, float),
    default=DIST_RANGE_MM,
    show_default=True,
    metavar="MIN MAX",
    help="Distance of the person from the cameras in mm; nearer is a larger person, nearer "
    "the middle of the view.",
)
@preset_option("ultrafast")
@click.option(
    "--rig",
    type=click.Choice(sorted(CAPTURE_PRESETS)),
    default=None,
    help="A realistic capture: kinect = RGB 30 fps halving to 15 in dark takes, 3 IR drops and "
    "a 0.3 s IR dropout per take, depth with a millisecond timestamps file and 3 ms jitter. "
    "The options below override it.",
)
@click.option(
    "--rgb-fps",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Nominal RGB rate, depth's too  [default: 25].",
)
@click.option(
    "--rgb-dark-fps",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="FPS",
    help="Dark takes' RGB switches to FPS in the middle of the first gesture (variable rate, "
    "true times in the container).",
)
@click.option(
    "--ir-drops",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Single IR frames dropped per take (never two in a row).",
)
@click.option(
    "--ir-dropout",
    type=click.FloatRange(min=0),
    default=None,
    metavar="SECONDS",
    help="One IR loss of SECONDS per take, over a gesture that segment must then reject "
    "(sync_gap; truth.json names it).",
)
@click.option(
    "--timestamps",
    callback=lambda ctx, param, value: _stream_list(value),
    default=None,
    metavar="STREAMS",
    help=f"Write <stream>.timestamps.csv for these streams: comma-separated among "
    f"{','.join(STREAMS)}, or 'none'.",
)
@click.option(
    "--timestamps-unit",
    type=click.Choice(list(TIME_UNITS)),
    default=None,
    help="Column of the timestamps files: time_s, time_ms or time_us  [default: us].",
)
@click.option(
    "--depth-jitter",
    type=click.FloatRange(min=0),
    default=None,
    metavar="MS",
    help="Largest clock jitter of depth frame times; adds depth to --timestamps.",
)
@click.option(
    "--stream-format",
    type=click.Choice(["video", "folder"]),
    default=None,
    help="RGB and IR as videos or as folders of PNG frames named by frame number [default: video].",
)
@click.option(
    "--stamp",
    is_flag=True,
    default=None,
    help="Draw each frame's index in stream order as a binary code in its top-left corner "
    "(for tests; it also sways IR alignment, so segment them with --align none).",
)
@click.option(
    "--label-seconds",
    is_flag=True,
    help="labels.csv gives start_s/end_s (seconds on the RGB clock) instead of frames.",
)
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
    dark_exposure,
    distance,
    preset,
    rig,
    rgb_fps,
    rgb_dark_fps,
    ir_drops,
    ir_dropout,
    timestamps,
    timestamps_unit,
    depth_jitter,
    stream_format,
    stamp,
    label_seconds,
    workers,
    quiet,
) -> None:
    """Write synthetic dark/daylight RGB + depth + IR recordings of gestures into RAW."""
    setup_logging(quiet)
    for name, (lo, hi) in (("--gesture-frames", gesture_frames), ("--rest-frames", rest_frames)):
        if lo > hi:
            raise click.BadParameter(f"MIN {lo} is above MAX {hi}", param_hint=name)
    workers = workers or min(4, os.cpu_count() or 1)
    capture = capture_options(
        rig,
        rgb_fps=rgb_fps,
        rgb_dark_fps=rgb_dark_fps,
        ir_drops=ir_drops,
        ir_dropout_s=ir_dropout,
        timestamps=timestamps,
        timestamps_unit=timestamps_unit,
        depth_jitter_ms=depth_jitter,
        stream_format=stream_format,
        stamp=stamp,
    )
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
        distance_mm=distance,
        capture=capture,
        label_seconds=label_seconds,
        dark_exposure=dark_exposure,
    )
    click.echo(f"raw:    {result.raw}")
    click.echo(f"labels: {result.labels_path}")
    click.echo(f"truth:  {result.truth_path}")
    click.echo(
        f"{len(result.recordings)} recordings ({subjects} subjects x {scenes} scenes x "
        f"dark/daylight), {result.gestures} gestures, {result.rgb_frames} RGB frames"
        f"{'' if not no_sync else ', no sync.json'}"
    )
    if result.expected_rejects:
        click.echo(f"{result.expected_rejects} gestures must be rejected (see truth.json)")


def _stream_list(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = tuple(v.strip() for v in value.split(",") if v.strip() and v.strip() != "none")
    bad = [n for n in names if n not in STREAMS]
    if bad:
        raise click.BadParameter(f"unknown streams {bad}; choose among {list(STREAMS)}")
    return names
