"""`mgrdata inspect`: what the raw streams are, on one clock, before anything is cut.

Per recording and stream: frames, nominal and measured rate, variable-rate segments, dropped
frames and the largest gap, duration, and where each stream starts and ends on the RGB clock
(its offset removed), so how the streams overlap shows at a glance. Streams are probed by
demuxing packets and listing folders; nothing is decoded. `recordings.parquet` records the
same facts (`rows.recording_record`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import MediaError, RecordingError
from .progress import Progress, stage_bar
from .recordings import STREAMS, RecordingInfo, discover_recordings, probe_recording
from .timeline import StreamFacts, describe


@dataclass(frozen=True)
class StreamSurvey:
    """One stream of a recording, as `mgrdata inspect` shows it."""

    name: str
    file: str
    """Relative to RAW."""
    kind: str
    time_source: str
    facts: StreamFacts
    offset_s: float
    """Added to an RGB-clock time to find this stream's frame."""

    @property
    def start_s(self) -> float:
        """First frame on the RGB clock."""
        return self.facts.start_s - self.offset_s

    @property
    def end_s(self) -> float:
        return self.facts.end_s - self.offset_s


@dataclass
class RecordingSurvey:
    """A recording's streams, or why it cannot be read."""

    recording: str
    streams: list[StreamSurvey] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    """Stream ('rgb', 'depth', 'ir', or 'recording') -> why it cannot be used."""

    @property
    def overlap(self) -> tuple[float, float] | None:
        """The time span (RGB clock) every readable stream covers, None if they do not meet."""
        if not self.streams:
            return None
        start = max(s.start_s for s in self.streams)
        end = min(s.end_s for s in self.streams)
        return (start, end) if end >= start else None


def survey_recording(info: RecordingInfo, raw: Path) -> RecordingSurvey:
    """The inspect view of a probed recording."""
    out = RecordingSurvey(info.files.recording)
    for name in STREAMS:
        stream = info.stream(name)
        error = getattr(info, f"{name}_error", None)
        if error:
            out.errors[name] = error
        if stream is None:
            continue
        out.streams.append(
            StreamSurvey(
                name,
                stream.path.relative_to(raw).as_posix(),
                stream.info.kind,
                stream.timeline.source,
                describe(stream.timeline),
                float(info.offset(name)),
            )
        )
    return out


def inspect_raw(raw: str | os.PathLike, progress: Progress | None = None) -> list[RecordingSurvey]:
    """Probe every recording under RAW (no decoding); a recording that cannot be read is
    reported with its error, not raised."""
    raw = Path(raw)
    found = discover_recordings(raw)
    if not found:
        raise RecordingError(f"no recordings under {raw}: expected folders holding rgb.<ext>")
    surveys = []
    with stage_bar(progress, "inspect", len(found), "recording") as bar:
        for rec_id, files in found.items():
            try:
                surveys.append(survey_recording(probe_recording(files), raw))
            except (MediaError, RecordingError) as e:
                surveys.append(RecordingSurvey(rec_id, errors={"recording": str(e)}))
            bar.update()
    return surveys


def format_survey(s: RecordingSurvey) -> list[str]:
    """Lines of text for one recording."""
    lines = [s.recording]
    if "recording" in s.errors:
        return [*lines, f"  cannot be read: {s.errors['recording']}"]
    lines.append(
        f"  {'stream':<6} {'times':<8} {'frames':>7} {'fps nominal/measured':>21} "
        f"{'duration':>9} {'dropped':>7} {'largest gap':>11}  on the RGB clock"
    )
    for st in s.streams:
        f = st.facts
        offset = f" (offset {st.offset_s:+.3f} s)" if st.offset_s else ""
        lines.append(
            f"  {st.name:<6} {st.time_source:<8} {f.frames:>7} "
            f"{f.nominal_fps:>10.6g} / {f.measured_fps:<8.3f} {f.duration_s:>8.2f}s "
            f"{f.dropped:>7} {f.largest_gap_s * 1000:>8.1f} ms  "
            f"{st.start_s:.3f}-{st.end_s:.3f} s{offset}"
        )
        if f.vfr:
            parts = [
                f"{g.start_s:.3f}-{g.end_s:.3f} s at {g.fps:g} fps ({g.frames} frames)"
                for g in f.segments
            ]
            lines.append(f"         variable frame rate: {'; '.join(parts)}")
    for name, error in s.errors.items():
        lines.append(f"  {name:<6} left out: {error}")
    overlap = s.overlap
    if overlap is None:
        lines.append("  overlap: the streams do not overlap in time; check offsets and clocks")
    elif len(s.streams) > 1:
        late = [st.name for st in s.streams if st.start_s > s.streams[0].start_s]
        early_end = [st.name for st in s.streams if st.end_s < s.streams[0].end_s]
        note = ""
        if late or early_end:
            note = "; RGB frames outside it have no " + "/".join(dict.fromkeys(late + early_end))
        lines.append(
            f"  overlap: {overlap[0]:.3f}-{overlap[1]:.3f} s "
            f"({overlap[1] - overlap[0]:.3f} s) covered by all {len(s.streams)} streams{note}"
        )
    return lines
