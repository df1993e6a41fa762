"""Benchmark `mgrdata segment` against hand-written ffmpeg commands on one long recording.

    python bench/segment.py                 # synthesize a 1280x720 recording, 40 gestures
    python bench/segment.py --raw DIR --ann labels.csv   # any single-recording raw tree
    python bench/segment.py --baseline-src DIR   # also time another checkout, side by side
    python bench/segment.py --vfr           # also a variable-rate copy, cut with --fps 25
    python bench/segment.py --scaling       # only: 1, 2, ... workers, local vs Dask

Three ways to cut every annotated gesture from every stream (rgb, depth, ir), with the same
encoder settings (H.264 crf 18 veryfast, keyframe every 25 frames for rgb/ir; FFV1 gray16le
for depth):

  ours    `mgrdata segment --align none` (one decode pass per stream, streams in parallel),
          with each clip verified by decoding it (default) and by counting its packets
  (a)     the best single hand-written ffmpeg command: one filter graph per input that
          splits it and trims every clip by frame index (`split=N`, `trim=start_frame:end_frame`)
  (b)     one ffmpeg run per clip and stream, frame-exact `trim` by frame index (each run
          decodes its stream from the start: what a per-clip script does)

`--baseline-src DIR` also times `mgrdata segment` of another source tree (e.g. `git archive`
of main) in the same alternating runs, so a before/after ratio is measured side by side.
`--vfr` derives a variable-rate copy of the recording (RGB at 30 fps with a 15 fps middle
third, IR with dropped frames and a 0.6 s dropout, depth as numbered PNGs with a timestamps
file) and times `mgrdata segment --fps 25` against one ffmpeg command that trims every clip
by time and resamples it with `fps=25` (a cost reference: ffmpeg cannot read the timestamps
file or match streams by time, so its clips are not the same).

Prints the wall time of each and the ratios ours/(a) and (b)/ours, and appends them to
bench/RESULTS.md with the command.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

from mgrdark_data.annotations import parse_annotations
from mgrdark_data.media import ffmpeg_exe
from mgrdark_data.recordings import discover_recordings, probe_recording
from mgrdark_data.timemap import frame_times, match
from mgrdark_data.vocabulary import load_vocabulary

HERE = Path(__file__).resolve().parent
X264 = [
    "-c:v",
    "libx264",
    "-crf",
    "18",
    "-preset",
    "veryfast",
    "-g",
    "25",
    "-keyint_min",
    "1",
    "-sc_threshold",
    "0",
    "-pix_fmt",
    "yuv420p",
]
FFV1 = ["-c:v", "ffv1", "-level", "3", "-slices", "4", "-slicecrc", "1", "-pix_fmt", "gray16le"]


def make_recording(raw: Path, seconds: float, gestures: int, seed: int) -> Path:
    from mgrdark_data.synth.dataset import synthesize_recording, write_labels

    # Gestures of 45-75 frames with 10-30 frame rests: 40 of them make a ~2.5 min take.
    result = synthesize_recording(
        raw,
        "S01/dark/hall",
        width=1280,
        height=720,
        seconds=seconds,
        gestures=gestures,
        gesture_frames=(45, 75),
        rest_frames=(10, 30),
        light="dark",
        seed=seed,
    )
    return write_labels(raw / "labels.csv", result.labels)


def _spans(raw: Path, ann: Path):
    instances, _ = parse_annotations(ann, load_vocabulary())
    (rec_id,) = {i.recording for i in instances}
    info = probe_recording(discover_recordings(raw)[rec_id])
    spans = sorted((i.start_frame, i.end_frame) for i in instances)
    return info, spans


def _trim_chain(a: int, b: int, extra: str = "") -> str:
    return f"trim=start_frame={a}:end_frame={b + 1},setpts=PTS-STARTPTS{extra}"


def _source_span(info, name: str, a: int, b: int) -> tuple[int, int]:
    """First and last frame of stream `name` that the time mapping gives RGB frames a..b."""
    stream = info.stream(name)
    targets = frame_times(info.rgb.timeline, a, b).shifted(info.offset(name))
    idx = match(stream.timeline, targets).indices
    return int(idx[0]), int(idx[-1])


def _stream_plan(info, spans):
    """(input, [(first source frame, last source frame, output filter suffix, codec args)])."""
    fps = info.rgb.fps
    plan = [(info.rgb.path, [(a, b, "", X264, "rgb") for a, b in spans])]
    if info.depth is not None:
        depth = [(*_source_span(info, "depth", a, b), "", FFV1, "depth") for a, b in spans]
        plan.append((info.depth.path, depth))
    if info.ir is not None:
        # Trim the IR frames the time mapping needs, then resample to the RGB rate.
        ir = [(*_source_span(info, "ir", a, b), f",fps={fps}", X264, "ir") for a, b in spans]
        plan.append((info.ir.path, ir))
    return plan


def ffmpeg_single_command(info, spans, out: Path) -> list[str]:
    """(a): one ffmpeg process, one split+trim filter graph per input stream."""
    cmd = [ffmpeg_exe(), "-y", "-v", "error"]
    graphs, maps = [], []
    plan = _stream_plan(info, spans)
    for path, _ in plan:
        cmd += ["-i", str(path)]
    for k, (_, clips) in enumerate(plan):
        labels = "".join(f"[s{k}_{n}]" for n in range(len(clips)))
        graphs.append(f"[{k}:v]split={len(clips)}{labels}")
        for n, (a, b, extra, codec, modality) in enumerate(clips):
            graphs.append(f"[s{k}_{n}]{_trim_chain(a, b, extra)}[o{k}_{n}]")
            ext = ".mkv" if modality == "depth" else ".mp4"
            maps += [
                "-map",
                f"[o{k}_{n}]",
                *codec,
                "-r",
                str(info.rgb.fps),
                str(out / f"{modality}_{n:03d}{ext}"),
            ]
    return cmd + ["-filter_complex", ";".join(graphs), *maps]


def ffmpeg_per_clip_commands(info, spans, out: Path) -> list[list[str]]:
    """(b): one ffmpeg process per clip and stream, frame-exact trim from the start."""
    cmds = []
    for path, clips in _stream_plan(info, spans):
        for n, (a, b, extra, codec, modality) in enumerate(clips):
            ext = ".mkv" if modality == "depth" else ".mp4"
            cmds.append(
                [
                    ffmpeg_exe(),
                    "-y",
                    "-v",
                    "error",
                    "-i",
                    str(path),
                    "-vf",
                    _trim_chain(a, b, extra),
                    *codec,
                    "-r",
                    str(info.rgb.fps),
                    str(out / f"{modality}_{n:03d}{ext}"),
                ]
            )
    return cmds


def make_vfr(cfr: Path, out: Path) -> Path:
    """A variable-rate copy of a one-recording raw tree (see the module docstring)."""
    import cv2
    import numpy as np

    from mgrdark_data.media import iter_frames

    (rec,) = {p.parent for p in cfr.rglob("rgb.mp4")}
    dst = out / rec.relative_to(cfr)
    dst.mkdir(parents=True, exist_ok=True)
    rgb_n = probe_recording(discover_recordings(cfr)[rec.relative_to(cfr).as_posix()]).rgb.frames
    third = rgb_n // 3
    # RGB ticks on a 30 fps grid: 30 fps, then 15 fps (every other tick), then 30 fps.
    ticks = list(range(third))
    ticks += [third + 2 * k for k in range(third)]
    ticks += [ticks[-1] + 1 + k for k in range(rgb_n - 2 * third)]
    _reencode(rec / "rgb.mp4", dst / "rgb.mp4", ticks, "rgb24")
    end = ticks[-1]
    # IR: one frame per 1.25 ticks (24 fps on the 30 fps grid), every 97th dropped, and 0.6 s
    # (18 ticks) missing in the middle.
    ir_ticks = [round(k * 1.25) for k in range(int(end / 1.25) + 1)]
    gap = end // 2
    keep = [t for k, t in enumerate(ir_ticks) if k % 97 != 50 and not gap <= t < gap + 18]
    _reencode(rec / "ir.mp4", dst / "ir.mp4", keep, "gray", cycle=True)
    # Depth: 30 fps PNGs numbered by frame (one missing), times in a sidecar with jitter.
    depth = dst / "depth"
    depth.mkdir(exist_ok=True)
    frames = iter_frames(rec / "depth.mkv")
    images = []
    for t in range(end + 1):
        if len(images) < 200:  # the source's first 200 frames, cycled
            images += [f.to_ndarray() for _, f in [next(frames, (None, None))] if f is not None]
        if t != end // 3:
            cv2.imwrite(str(depth / f"{t:06d}.png"), images[t % len(images)])
    rng = np.random.default_rng(0)
    us = [round(t * 1e6 / 30 + rng.uniform(-500, 500)) for t in range(end + 1) if t != end // 3]
    (dst / "depth.timestamps.csv").write_text("time_us\n" + "".join(f"{u}\n" for u in us))
    (dst / "sync.json").write_text((rec / "sync.json").read_text())
    shutil.copy(cfr / "labels.csv", out / "labels.csv")
    return out


def _reencode(src: Path, dst: Path, ticks: list[int], fmt: str, cycle: bool = False) -> None:
    """Re-encode `src` with frame k at ticks[k] / 30 s (x264 ultrafast, crf 18)."""
    import av

    from mgrdark_data.media import iter_frames

    with av.open(str(dst), "w") as out:
        stream = None
        source = iter_frames(src)
        cache = []
        for k, tick in enumerate(ticks):
            try:
                frame = next(source)[1]
                if cycle and len(cache) < 100:
                    cache.append(frame)
            except StopIteration:  # IR: past the source's end, its first frames again
                frame = cache[k % len(cache)]
            if stream is None:
                stream = out.add_stream("libx264", rate=30)
                stream.width, stream.height, stream.pix_fmt = frame.width, frame.height, "yuv420p"
                stream.options = {"crf": "18", "preset": "ultrafast"}
                stream.codec_context.time_base = Fraction(1, 30)
            img = av.VideoFrame.from_ndarray(frame.to_ndarray(format=fmt), format=fmt)
            img.pts, img.time_base = tick, Fraction(1, 30)
            out.mux(stream.encode(img))
        out.mux(stream.encode(None))


def ffmpeg_vfr_command(info, spans, out: Path) -> list[str]:
    """The VFR cost reference: per input, split + trim by time + fps=25 per clip."""
    cmd = [ffmpeg_exe(), "-y", "-v", "error"]
    inputs = [(info.rgb.path, X264, ".mp4"), (info.ir.path, X264, ".mp4")]
    for path, _, _ in inputs:
        cmd += ["-i", str(path)]
    depth_glob = str(info.depth.path / "*.png")
    cmd += ["-pattern_type", "glob", "-framerate", "30", "-i", depth_glob]
    inputs.append((info.depth.path, FFV1, ".mkv"))
    times = info.rgb.timeline.seconds
    graphs, maps = [], []
    for k, (_, codec, ext) in enumerate(inputs):
        labels = "".join(f"[s{k}_{n}]" for n in range(len(spans)))
        graphs.append(f"[{k}:v]split={len(spans)}{labels}")
        off = float(info.offset(("rgb", "ir", "depth")[k]))
        for n, (a, b) in enumerate(spans):
            t0, t1 = times[a] + off, times[b] + off + 0.001
            graphs.append(
                f"[s{k}_{n}]trim=start={t0:.4f}:end={t1:.4f},setpts=PTS-STARTPTS,fps=25[o{k}_{n}]"
            )
            maps += ["-map", f"[o{k}_{n}]", *codec, str(out / f"{k}_{n:03d}{ext}")]
    return cmd + ["-filter_complex", ";".join(graphs), *maps]


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--raw", type=Path, help="existing raw tree with one recording")
    p.add_argument("--ann", type=Path, help="its annotation CSV")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--gestures", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", type=Path, default=HERE / "_work" / "segment")
    p.add_argument("--repeat", type=int, default=2, help="alternating runs of ours and (a)")
    p.add_argument("--skip-per-clip", action="store_true", help="do not time (b)")
    p.add_argument("--no-results", action="store_true", help="do not append to RESULTS.md")
    p.add_argument("--skip-packets", action="store_true", help="do not time --verify packets")
    p.add_argument("--baseline-src", type=Path, help="another source tree, timed alongside")
    p.add_argument("--vfr", action="store_true", help="also time a variable-rate copy")
    p.add_argument(
        "--scaling",
        action="store_true",
        help="only the executor table: local processes vs Dask with 1, 2, ... workers",
    )
    p.add_argument("--recordings", type=int, default=4, help="--scaling: recordings")
    p.add_argument("--width", type=int, default=640, help="--scaling: RGB width")
    args = p.parse_args()

    work = args.work.resolve()  # commands run in the source tree: paths must be absolute
    if args.scaling:
        from segment_scaling import scaling

        seconds = args.seconds if "--seconds" in sys.argv else 20.0
        lines = scaling(work, args.repeat, args.recordings, args.width, seconds)
        print("\n".join(lines))
        if not args.no_results:
            cmd = "python bench/segment.py " + " ".join(sys.argv[1:])
            _append_results(cmd.strip(), lines, "## Segment: cluster executors\n\n")
        return
    if args.raw is None:
        raw = work / "raw"
        if not (raw / "labels.csv").exists():
            shutil.rmtree(raw, ignore_errors=True)
            t = _timed(lambda: make_recording(raw, args.seconds, args.gestures, args.seed))
            print(f"synthesized {args.seconds:g} s at 1280x720 in {t:.1f} s")
        ann = raw / "labels.csv"
    else:
        raw, ann = args.raw.resolve(), args.ann.resolve()
    info, spans = _spans(raw, ann)
    frames = sum(b - a + 1 for a, b in spans)
    print(
        f"recording: {info.rgb.width}x{info.rgb.height} {info.rgb.frames} frames "
        f"@ {float(info.rgb.fps):g} fps; depth {info.depth and info.depth.frames}; "
        f"ir {info.ir and (info.ir.width, info.ir.height, float(info.ir.fps))}; "
        f"{len(spans)} clips, {frames} frames per modality"
    )

    def fresh(name: str) -> Path:
        d = work / name
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        return d

    def ours(verify: str, src: Path | None = None, raw=raw, ann=ann, extra=(), name=None):
        # `python -m` puts the working folder first on sys.path: run inside the source tree.
        src = (src or HERE.parent).resolve()
        env = {**os.environ, "PYTHONPATH": str(src)}

        def run() -> None:
            out = fresh(name or f"ours_{verify}")
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "mgrdark_data",
                    "segment",
                    str(raw),
                    "--ann",
                    str(ann),
                    "-d",
                    str(out),
                    "--align",
                    "none",
                    "--verify",
                    verify,
                    "-q",
                    *extra,
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                env=env,
                cwd=src,
            )

        return run

    def run_single() -> None:
        subprocess.run(ffmpeg_single_command(info, spans, fresh("ffmpeg_single")), check=True)

    # Alternate the order (ours, a, a, ours, ...) and keep each one's best time, so that load
    # drifting on a shared machine does not favour whichever ran first.
    order = [("ours", ours("decode")), ("a", run_single)]
    if not args.skip_packets:
        order.insert(1, ("ours_packets", ours("packets")))
    if args.baseline_src:
        order.append(("baseline", ours("decode", args.baseline_src, name="baseline")))
    cpu: dict[str, list[float]] = {}
    times = _alternate(order, args.repeat, cpu)
    t_ours, t_a = min(times["ours"]), min(times["a"])
    c_ours, c_a = min(cpu["ours"]), min(cpu["a"])
    t_pk = min(times["ours_packets"]) if "ours_packets" in times else None
    t_b = None
    if not args.skip_per_clip:
        out_b = fresh("ffmpeg_per_clip")
        cmds = ffmpeg_per_clip_commands(info, spans, out_b)
        t_b = _timed(lambda: [subprocess.run(c, check=True) for c in cmds])

    lines = [
        f"clips: {len(spans)} x 3 modalities, {frames} frames each modality, "
        f"{info.rgb.width}x{info.rgb.height} rgb",
        f"best of {args.repeat} runs each, order alternating",
        f"(a) single ffmpeg split+trim command:            {t_a:7.2f} s",
        f"ours, --verify decode (default), workers={os.cpu_count()}: {t_ours:7.2f} s"
        f"   ours/(a) = {t_ours / t_a:.2f}",
        f"cpu seconds (user+sys, best of {args.repeat}): (a) {c_a:.1f}, ours {c_ours:.1f}"
        f"   ours/(a) = {c_ours / c_a:.2f}",
    ]
    if t_pk is not None:
        lines.append(
            f"ours, --verify packets, workers={os.cpu_count()}:          {t_pk:7.2f} s"
            f"   ours/(a) = {t_pk / t_a:.2f}"
        )
    if "baseline" in times:
        t_base, c_base = min(times["baseline"]), min(cpu["baseline"])
        lines.append(
            f"baseline ({args.baseline_src}), --verify decode:  {t_base:7.2f} s"
            f"   baseline/(a) = {t_base / t_a:.2f}; ours/baseline = {t_ours / t_base:.2f}"
        )
        lines.append(
            f"baseline cpu {c_base:.1f} s   baseline/(a) = {c_base / c_a:.2f}; "
            f"ours/baseline = {c_ours / c_base:.2f}"
        )
    if t_b is not None:
        lines.append(
            f"(b) one ffmpeg run per clip ({3 * len(spans)} runs): {t_b:7.2f} s   "
            f"(b)/ours = {t_b / t_ours:.2f}x (decode)"
        )
    if args.vfr:
        lines += _vfr(raw, work, fresh, ours, args.repeat)
    print("\n".join(lines))
    if not args.no_results:
        cmd = "python bench/segment.py " + " ".join(sys.argv[1:])
        _append_results(cmd.strip(), lines)


def _children_cpu() -> float:
    """CPU seconds (user + system) of every finished child process so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _alternate(order, repeat: int, cpu: dict[str, list[float]] | None = None):
    """Run each (name, fn) `repeat` times, alternating the order; wall seconds per name. CPU
    seconds of the child processes go to `cpu`: on a shared machine they move far less with
    other jobs' load than wall time does."""
    times: dict[str, list[float]] = {name: [] for name, _ in order}
    for r in range(repeat):
        for name, fn in order if r % 2 == 0 else order[::-1]:
            before = _children_cpu()
            times[name].append(_timed(fn))
            used = _children_cpu() - before
            if cpu is not None:
                cpu.setdefault(name, []).append(used)
            print(f"  run {r + 1}: {name} {times[name][-1]:.2f} s (cpu {used:.1f} s)", flush=True)
    return times


def _vfr(cfr_raw: Path, work: Path, fresh, ours, repeat: int) -> list[str]:
    """Time `--fps 25` on the variable-rate copy against the ffmpeg cost reference."""
    raw = work / "raw_vfr"
    if not (raw / "labels.csv").exists():
        shutil.rmtree(raw, ignore_errors=True)
        print(f"made the variable-rate copy in {_timed(lambda: make_vfr(cfr_raw, raw)):.1f} s")
    ann = raw / "labels.csv"
    info, spans = _spans(raw, ann)

    def run_ffmpeg() -> None:
        subprocess.run(ffmpeg_vfr_command(info, spans, fresh("ffmpeg_vfr")), check=True)

    run = ours("decode", raw=raw, ann=ann, extra=("--fps", "25"), name="ours_vfr")
    cpu: dict[str, list[float]] = {}
    times = _alternate([("ours_vfr", run), ("a_vfr", run_ffmpeg)], repeat, cpu)
    t_ours, t_a = min(times["ours_vfr"]), min(times["a_vfr"])
    c_ours, c_a = min(cpu["ours_vfr"]), min(cpu["a_vfr"])
    from mgrdark_data.manifest import read_frame
    from mgrdark_data.records import ClipRecord, RejectRecord

    clips = read_frame(work / "ours_vfr/manifest/clips.parquet", ClipRecord)
    rejects = read_frame(work / "ours_vfr/manifest/rejects.parquet", RejectRecord)
    return [
        f"variable rate: rgb {info.rgb.frames} frames ({info.rgb.timeline.source}, "
        f"{len(info.rgb.timeline.seconds)} frames over {info.rgb.timeline.seconds[-1]:.1f} s), "
        f"ir {info.ir.frames} frames with drops, depth {info.depth.frames} PNGs + timestamps",
        f"(a) ffmpeg split + trim by time + fps=25:        {t_a:7.2f} s",
        f"ours --fps 25, --verify decode:                  {t_ours:7.2f} s   ours/(a) = "
        f"{t_ours / t_a:.2f}  ({len(clips)} clips, {clips.num_frames.sum()} frames each "
        f"modality; rejects {rejects.reason_code.value_counts().to_dict()})",
        f"cpu seconds: (a) {c_a:.1f}, ours {c_ours:.1f}   ours/(a) = {c_ours / c_a:.2f}",
    ]


def _append_results(cmd: str, lines: list[str], heading: str = "## segment\n\n") -> None:
    """Add a run under `heading` (created at the end if missing), newest first."""
    path = HERE / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    stamp = time.strftime("%Y-%m-%d %H:%M")
    block = (
        f"### run of {stamp} ({platform.machine()}, {os.cpu_count()} cores)\n\n"
        f"`{cmd}`\n\n```\n" + "\n".join(lines) + "\n```\n\n"
    )
    if heading not in text:
        text = text.rstrip("\n") + "\n\n" + heading
    head, _, tail = text.partition(heading)
    section, sep, rest = tail.partition("\n## ")
    # The newest run goes right after the section's introduction.
    intro, run_sep, runs = section.partition("### run of ")
    section = intro.rstrip("\n") + "\n\n" + block + run_sep + runs
    path.write_text(head + heading + section.rstrip("\n") + "\n" + sep + rest)


if __name__ == "__main__":
    main()
