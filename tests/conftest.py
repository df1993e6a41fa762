"""Shared fixtures. Tiny media factories live in `mgrdark_data.testing`
(docs/architecture.md, "Tests")."""

from __future__ import annotations

import pytest


@pytest.fixture
def one_torch_thread():
    """Tiny tensors gain nothing from threads, and on a shared machine oversubscribed threads
    make them up to 100x slower."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
