"""Alignment accuracy and speed against the truth of a synthetic raw tree.

    python bench/align.py RAW                    # RAW written by `mgrdata synth`
    python bench/align.py --make RAW --subjects 2 --scale 0.6667 --no-sync

For every recording in RAW/truth.json: the raw estimate (`estimate_recording`) and the final
decision with fallbacks (`resolve_alignments`), each as the mean distance in RGB pixels at
1280 px width between where the estimate and the truth put a grid over the IR frame (only IR
points that land inside the RGB frame count); seconds per recording; and, with --sync, the
error of the estimated IR clock offset in RGB frames. Targets: <= 1 px in daylight, <= 1.5 px
in the dark.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import click
import numpy as np

from mgrdark_data.align import alignment_error, estimate_recording, resolve_alignments
from mgrdark_data.media import probe_stream
from mgrdark_data.recordings import recording_files


def _truth(entry: dict) -> SimpleNamespace:
    return SimpleNamespace(
        scale=entry["ir_scale"], shift_x=entry["ir_shift_x"], shift_y=entry["ir_shift_y"]
    )


@click.command()
@click.argument("raw", type=click.Path(file_okay=False))
@click.option("--make", is_flag=True, help="Synthesize RAW first (mgrdark_data.synth).")
@click.option("--subjects", default=1, show_default=True)
@click.option("--scenes", default=2, show_default=True)
@click.option("--scale", default=0.6667, show_default=True, help="Synth resolution factor.")
@click.option("--seed", default=0, show_default=True)
@click.option("--no-sync", is_flag=True, help="Synthesize without sync.json (with --make).")
@click.option("--sync", "estimate_sync", is_flag=True, help="Estimate IR offsets from motion.")
@click.option("--frames", default=12, show_default=True, help="Frame pairs per recording.")
def main(raw, make, subjects, scenes, scale, seed, no_sync, estimate_sync, frames) -> None:
    raw = Path(raw)
    if make:
        from mgrdark_data.synth import synthesize

        t = time.perf_counter()
        synthesize(
            raw,
            subjects=subjects,
            scenes=scenes,
            scale=scale,
            seed=seed,
            repeats=1,
            gesture_frames=(45, 60),
            rest_frames=(10, 20),
            write_sync=not no_sync,
        )
        click.echo(f"synthesized {raw} in {time.perf_counter() - t:.0f} s")
    truth = json.loads((raw / "truth.json").read_text())["recordings"]
    rows = []
    for rid, entry in sorted(truth.items()):
        files = recording_files(raw, rid)
        info = probe_stream(files.rgb)
        ir_info = probe_stream(files.ir)
        to_1280 = 1280 / info.width
        t = time.perf_counter()
        a, offset, sync_score = estimate_recording(
            files, frames=frames, estimate_sync=estimate_sync
        )
        seconds = time.perf_counter() - t
        err = (
            alignment_error(
                a,
                _truth(entry),
                (ir_info.width, ir_info.height),
                rgb_size=(info.width, info.height),
            )
            * to_1280
        )
        off_err = None if offset is None else abs(offset - entry["ir_offset_s"]) * float(info.fps)
        rows.append(
            dict(
                recording=rid,
                light=entry["light"],
                err=err,
                score=a.score,
                seconds=seconds,
                off_err=off_err,
                sync_score=sync_score,
                to_1280=to_1280,
                ir=(ir_info.width, ir_info.height),
                rgb=(info.width, info.height),
            )
        )
        click.echo(
            f"{rid:<24} {entry['light']:<9} err {err:6.2f} px@1280  score {a.score:.2f}"
            f"  {seconds:5.1f} s"
            + (
                ""
                if off_err is None
                else f"  offset err {off_err:.2f} frames (sync score {sync_score:.2f})"
            )
        )
    decisions = resolve_alignments(
        raw,
        sorted(truth),
        light_of={r: e["light"] for r, e in truth.items()},
        scene_of={r: e["scene"] for r, e in truth.items()},
        subject_of={r: e["subject"] for r, e in truth.items()},
        frames=frames,
        estimate_sync=estimate_sync,
    )
    for row in rows:
        d = decisions[row["recording"]]
        row["final"] = (
            alignment_error(d, _truth(truth[row["recording"]]), row["ir"], rgb_size=row["rgb"])
            * row["to_1280"]
            if d.aligned
            else None
        )
        row["method"] = d.method
    click.echo("\nlight      n  mean err (raw)  max err (raw)  mean err (final)  mean s/recording")
    for light in ("daylight", "dark"):
        sel = [r for r in rows if r["light"] == light]
        if not sel:
            continue
        finals = [r["final"] for r in sel if r["final"] is not None]
        click.echo(
            f"{light:<9} {len(sel):2d}  {np.mean([r['err'] for r in sel]):14.2f}  "
            f"{np.max([r['err'] for r in sel]):13.2f}  "
            f"{(np.mean(finals) if finals else float('nan')):16.2f}  "
            f"{np.mean([r['seconds'] for r in sel]):16.1f}"
        )
    offs = [r["off_err"] for r in rows if r["off_err"] is not None]
    if offs:
        click.echo(f"IR offset error: mean {np.mean(offs):.2f}, max {np.max(offs):.2f} RGB frames")
    click.echo("methods: " + ", ".join(f"{r['recording']}={r['method']}" for r in rows))


if __name__ == "__main__":
    main()
