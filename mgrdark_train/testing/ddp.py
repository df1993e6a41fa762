"""Running DDP code in test processes on the CPU: what `torchrun` would set up."""

from __future__ import annotations

import os
import socket


def free_port() -> int:
    """A TCP port nobody listens on now (for the rendezvous of spawned test processes)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun_environment(rank: int, world: int, port: int) -> None:
    """Set the variables `torchrun` gives process `rank` of `world` on one machine."""
    os.environ.update(
        {
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "WORLD_SIZE": str(world),
            "LOCAL_WORLD_SIZE": str(world),
        }
    )
