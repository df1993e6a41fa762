"""Benchmark `mgrdata segment` against hand-written ffmpeg commands on one long recording.

    python bench/segment.py                 # synthesize a 1280x720 recording, 40 gestures
    python bench/segment.py --raw DIR --ann labels.csv   # any single-recording raw tree

Three ways to cut every annotated gesture from every stream (rgb, depth, ir), with the same
encoder settings (H.264 crf 18 veryfast, keyframe every 25 frames for rgb/ir; FFV1 gray16le
for depth):

  ours    `mgrdata segment --align none` (one decode pass per stream, streams in parallel),
          with each clip verified by decoding it (default) and by counting its packets
  (a)     the best single hand-written ffmpeg command: one filter graph per input that
          splits it and trims every clip by frame index (`split=N`, `trim=start_frame:end_frame`)
  (b)     one ffmpeg run per clip and stream, frame-exact `trim` by frame index (each run
          decodes its stream from the start: what a per-clip script does)

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
from pathlib import Path

from mgrdark_data.annotations import parse_annotations
from mgrdark_data.media import ffmpeg_exe
from mgrdark_data.recordings import discover_recordings, probe_recording
from mgrdark_data.timemap import ir_indices
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


def _stream_plan(info, spans):
    """(input, [(first source frame, last source frame, output filter suffix, codec args)])."""
    fps = info.rgb.fps
    plan = [(info.rgb.path, [(a, b, "", X264, "rgb") for a, b in spans])]
    if info.depth is not None:
        off = info.sync.depth_offset_frames
        plan.append((info.depth.path, [(a + off, b + off, "", FFV1, "depth") for a, b in spans]))
    if info.ir is not None:
        # Trim the IR frames the time mapping needs, then resample to the RGB rate.
        ir = []
        for a, b in spans:
            idx = ir_indices(a, b, fps, info.ir.fps, info.sync.ir_offset_s)
            ir.append((idx[0], idx[-1], f",fps={fps}", X264, "ir"))
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
    args = p.parse_args()

    work = args.work
    if args.raw is None:
        raw = work / "raw"
        if not (raw / "labels.csv").exists():
            shutil.rmtree(raw, ignore_errors=True)
            t = _timed(lambda: make_recording(raw, args.seconds, args.gestures, args.seed))
            print(f"synthesized {args.seconds:g} s at 1280x720 in {t:.1f} s")
        ann = raw / "labels.csv"
    else:
        raw, ann = args.raw, args.ann
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

    def ours(verify: str):
        def run() -> None:
            out = fresh(f"ours_{verify}")
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
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )

        return run

    def run_single() -> None:
        subprocess.run(ffmpeg_single_command(info, spans, fresh("ffmpeg_single")), check=True)

    # Alternate the order (ours, a, a, ours, ...) and keep each one's best time, so that load
    # drifting on a shared machine does not favour whichever ran first.
    order = [("ours", ours("decode")), ("ours_packets", ours("packets")), ("a", run_single)]
    times: dict[str, list[float]] = {name: [] for name, _ in order}
    for r in range(args.repeat):
        for name, fn in order if r % 2 == 0 else order[::-1]:
            times[name].append(_timed(fn))
            print(f"  run {r + 1}: {name} {times[name][-1]:.2f} s", flush=True)
    t_ours, t_pk, t_a = (min(times[k]) for k in ("ours", "ours_packets", "a"))
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
        f"ours, --verify packets, workers={os.cpu_count()}:          {t_pk:7.2f} s"
        f"   ours/(a) = {t_pk / t_a:.2f}",
    ]
    if t_b is not None:
        lines.append(
            f"(b) one ffmpeg run per clip ({3 * len(spans)} runs): {t_b:7.2f} s   "
            f"(b)/ours = {t_b / t_ours:.2f}x (decode), {t_b / t_pk:.2f}x (packets)"
        )
    print("\n".join(lines))
    if not args.no_results:
        cmd = "python bench/segment.py " + " ".join(sys.argv[1:])
        _append_results(cmd.strip(), lines)


def _append_results(cmd: str, lines: list[str]) -> None:
    """Add a run under the `## segment` heading (created if missing), newest first."""
    path = HERE / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    stamp = time.strftime("%Y-%m-%d %H:%M")
    block = (
        f"### run of {stamp} ({platform.machine()}, {os.cpu_count()} cores)\n\n"
        f"`{cmd}`\n\n```\n" + "\n".join(lines) + "\n```\n\n"
    )
    heading = "## segment\n\n"
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
