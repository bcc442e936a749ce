"""Training on several processes (torchrun): which process this is, its share of each batch, the collectives.

`torchrun --nproc_per_node N -m explorer train ...` starts N copies of the command with RANK, WORLD_SIZE
and LOCAL_RANK set. Each copy trains the same model under DistributedDataParallel (DDP averages the
gradients), on its own share of every batch:

- `--batch-size` stays the *global* batch: each rank trains batch_size / N pairs, so a run with the
  same settings learns the same thing on 1 or N processes;
- every rank draws the same seeded stream of global batches and keeps the slice at its rank, so no pair
  of a step is trained on by two ranks and the pairs are those of the single-process run;
- stop decisions (Ctrl-C, --max-seconds) are all-reduced, so every rank stops at the same step.

Without torchrun (no WORLD_SIZE, or 1) nothing here creates a process group: `World()` is one process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist

from explorer.device import resolve_device
from explorer.training.config import TrainConfigError


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (rank 0 of 1 without torchrun)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0  # the rank on this machine: which GPU it drives

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 evaluates, prints the log and writes the checkpoint."""
        return self.rank == 0

    def per_rank_batch(self, batch_size: int) -> int:
        if batch_size % self.size:
            nearest = max(self.size, batch_size // self.size * self.size)
            raise TrainConfigError(
                f"Batch size {batch_size} is the global batch and must divide evenly among the {self.size} "
                f"processes: use a multiple of {self.size} (e.g. {nearest})."
            )
        return batch_size // self.size

    def share(self, batch_size: int) -> slice:
        """This rank's positions in a global batch: ranks take consecutive, disjoint slices."""
        per_rank = self.per_rank_batch(batch_size)
        return slice(self.rank * per_rank, (self.rank + 1) * per_rank)

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """The mean of `values` over the ranks (the global batch's loss from the ranks' equal shares)."""
        if not self.distributed:
            return values
        total = values.detach().clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
        return total / self.size

    def any(self, flags: list[bool], device: torch.device) -> list[bool]:
        """Each flag set on any rank: every rank then takes the same decision at the same step."""
        if not self.distributed:
            return flags
        votes = torch.tensor([int(f) for f in flags], device=device)
        dist.all_reduce(votes, op=dist.ReduceOp.MAX)
        return [bool(v) for v in votes.tolist()]


def world_from_environment() -> World:
    """The World torchrun describes in the environment, or a single process when it is not there."""
    try:
        size = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError as err:
        message = f"RANK, WORLD_SIZE and LOCAL_RANK must be whole numbers (torchrun sets them): {err}"
        raise TrainConfigError(message) from err
    return World(rank, size, local_rank) if size > 1 else World()


def backend_for(device: torch.device) -> str:
    """NCCL between GPUs, gloo between CPU processes."""
    return "nccl" if device.type == "cuda" else "gloo"


def training_device(world: World, requested: str) -> torch.device:
    """The device this rank trains on: on CUDA, the GPU at its local rank."""
    device = resolve_device(requested).device
    if device.type == "cuda" and world.distributed:
        if world.local_rank >= torch.cuda.device_count():
            raise TrainConfigError(
                f"Local rank {world.local_rank} has no GPU: this machine has {torch.cuda.device_count()}; "
                "start at most that many processes per machine (--nproc_per_node)."
            )
        torch.cuda.set_device(world.local_rank)  # "cuda" now means this rank's GPU, for the model and batches
        return torch.device("cuda", world.local_rank)
    return device


@contextmanager
def process_group(world: World, device: torch.device) -> Iterator[None]:
    """The process group for the run's lifetime (nothing at all for a single process)."""
    if not world.distributed:
        yield
        return
    dist.init_process_group(backend_for(device), rank=world.rank, world_size=world.size)
    try:
        yield
    finally:
        dist.destroy_process_group()
