"""Training stages by name (`registry.py`), the baseline stage, and whole runs (`run.py`)."""

from .registry import STAGES, Stage, get_stage

__all__ = ["STAGES", "Stage", "get_stage"]
