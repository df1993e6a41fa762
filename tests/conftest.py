"""Shared fixtures. Tiny media factories live in `mgrdark_data.testing`
(docs/architecture.md, "Tests")."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Test this tree, not an installed copy (`make demo` installs one non-editably): first on this
# process's path and on the path of every subprocess a test starts (`python -m mgrdark_data`).
ROOT = str(Path(__file__).resolve().parents[1])
sys.path.insert(0, ROOT)
os.environ["PYTHONPATH"] = os.pathsep.join([ROOT, *filter(None, [os.environ.get("PYTHONPATH")])])


@pytest.fixture
def one_torch_thread():
    """Tiny tensors gain nothing from threads, and on a shared machine oversubscribed threads
    make them up to 100x slower."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
