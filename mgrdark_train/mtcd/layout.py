"""The MTCD run directory: where each stage lives and how to find a member of a run.

    RUN/
      config.yaml, mtcd.yaml   the resolved training and MTCD configs (config stage: 'mtcd')
      translator/              translator stage (`translator.json` when complete)
      teacher/                 an ordinary run folder (config.yaml, metrics.csv, checkpoints/)
      assistant/               idem (only when the ablation row uses the assistant)
      student/                 idem; `student/eval/` holds the test report
      results.json             the student's test metrics and where each stage lives

A network stage writes `done.json` when it has finished and, when it depends on other stages'
networks, `inputs.json` naming their folders (the assistant's translator), so that it can be
evaluated on its own.
"""

from __future__ import annotations

import json
from pathlib import Path

from mgrdark_data.paths import atomic_path

from ..engine.checkpoint import RunDirError

RUN_STAGE = "mtcd"
"""`stage` of an MTCD run directory's own config.yaml."""
TEACHER_STAGE = "mtcd_teacher"
ASSISTANT_STAGE = "mtcd_assistant"
STUDENT_STAGE = "mtcd_student"
ONLINE_STAGE = "mtcd_online"
"""The student's stage when the assistant trains with it (`mtcd.assistant_mode: online`)."""
MEMBERS = ("teacher", "assistant", "student")
"""Network stages of an MTCD run, by folder name."""

DONE = "done.json"
INPUTS = "inputs.json"
RESULTS = "results.json"


def is_mtcd_run(run_dir: str | Path) -> bool:
    return (Path(run_dir) / "mtcd.yaml").exists()


def member_dir(run_dir: str | Path, member: str) -> Path:
    """The folder of `member` ('teacher', 'assistant', 'student') of an MTCD run directory."""
    run_dir = Path(run_dir)
    if member not in MEMBERS:
        raise RunDirError(f"unknown MTCD member {member!r}; expected one of {list(MEMBERS)}")
    results = run_dir / RESULTS
    stages = json.loads(results.read_text()).get("stages", {}) if results.exists() else {}
    path = Path(stages.get(member, run_dir / member))
    if not (path / "config.yaml").exists():
        raise RunDirError(
            f"the MTCD run {run_dir} has no {member} (no {path / 'config.yaml'}); its ablation "
            "row may not train one, or the stage has not started"
        )
    return path


def write_inputs(stage_dir: Path, **folders: Path) -> None:
    """Record the folders of the frozen networks a stage is trained with."""
    stage_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(stage_dir / INPUTS) as tmp:
        tmp.write_text(json.dumps({k: str(v) for k, v in folders.items()}, indent=2))


def input_dir(stage_dir: str | Path, name: str) -> Path:
    """The folder of frozen network `name` a stage was trained with (default: its sibling)."""
    stage_dir = Path(stage_dir)
    inputs = stage_dir / INPUTS
    recorded = json.loads(inputs.read_text()) if inputs.exists() else {}
    return Path(recorded.get(name, stage_dir.parent / name))
