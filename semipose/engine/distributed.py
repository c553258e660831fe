"""Data-parallel training across processes, nanoGPT style: `torchrun` (or `srun torchrun`) sets RANK,
WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; without them the run is one process and every
helper here is a no-op. See docs/distributed.md for the launch commands and the batch-size rule."""
from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from semipose.config import ConfigValueError

REQUIRED_ENV = ("RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


class DistributedSetupError(ValueError):
    """The launcher's environment is incomplete (a variable torchrun would have set is missing)."""


class LostRanks(RuntimeError):
    """A collective failed: another process died, or hung longer than train.dist_timeout_s."""


@dataclass(frozen=True)
class World:
    rank: int = 0
    local_rank: int = 0
    size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def world() -> World:
    if not (dist.is_available() and dist.is_initialized()):
        return World()
    return World(dist.get_rank(), int(os.environ.get("LOCAL_RANK", 0)), dist.get_world_size())


def is_main() -> bool:
    """Rank 0, the only one that writes logs, checkpoints and plots (also True without torchrun)."""
    return world().is_main


def init_from_env(timeout_s: int, device_type: str = "cpu") -> bool:
    """Join the process group the launcher describes; True when this call created it.

    NCCL for CUDA devices, gloo otherwise. `timeout_s` bounds every collective, so a rank that
    hangs (or whose peer died without the launcher noticing) fails with an error instead of
    waiting forever."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or (dist.is_available() and dist.is_initialized()):
        return False
    missing = [name for name in REQUIRED_ENV if name not in os.environ]
    if missing:
        raise DistributedSetupError(f"WORLD_SIZE={os.environ['WORLD_SIZE']} but {', '.join(missing)} "
                                    f"not set: launch with torchrun (see docs/distributed.md)")
    backend = "nccl" if device_type == "cuda" else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s))
    if not is_main():  # progress lines come from rank 0; warnings and errors from every rank
        logging.getLogger("semipose").setLevel(logging.WARNING)
    return True


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


@contextlib.contextmanager
def process_group(timeout_s: int, device_type: str = "cpu"):
    """Joined for the duration of the block (left again only if this block joined it)."""
    created = init_from_env(timeout_s, device_type)
    try:
        yield world()
    finally:
        if created:
            cleanup()


# gloo reports a lost peer as a plain RuntimeError; these are the phrases its messages use.
GLOO_FAILURE_PHRASES = ("gloo/transport", "pair closure", "Connection closed by peer", "Connection reset by peer",
                        "Timed out waiting")


def is_collective_failure(error: BaseException) -> bool:
    """c10d's own errors (NCCL, the store) or gloo's transport errors: a peer died or timed out."""
    return isinstance(error, dist.DistError) or any(phrase in str(error) for phrase in GLOO_FAILURE_PHRASES)


def local_device(configured: torch.device) -> torch.device:
    """This rank's device: a bare "cuda" means the GPU of LOCAL_RANK under torchrun."""
    device = torch.device(configured)
    if device.type == "cuda" and device.index is None and world().size > 1:
        return torch.device("cuda", world().local_rank)
    return device


def barrier() -> None:
    if world().size > 1:
        dist.barrier()


def all_gather_objects(value) -> list:
    """Every rank's `value` (picklable), in rank order; [value] for a single process."""
    if world().size == 1:
        return [value]
    gathered = [None] * world().size
    dist.all_gather_object(gathered, value)
    return gathered


def broadcast_object(value):
    """Rank 0's `value` on every rank."""
    if world().size == 1:
        return value
    holder = [value]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]


def broadcast_buffers(module: nn.Module) -> None:
    """Copy rank 0's buffers (BatchNorm running statistics) to every rank, so all evaluate one model."""
    if world().size > 1:
        for buffer in module.buffers():
            dist.broadcast(buffer, src=0)


def mean_across_ranks(values: dict, device: torch.device) -> dict:
    """{name: float}: each value (float or one-element tensor) averaged over the ranks, with one
    all-reduce and one device-to-host copy for all of them."""
    if not values:
        return {}
    stacked = torch.stack([torch.as_tensor(value, dtype=torch.float64, device=device).reshape(())
                           for value in values.values()])
    if world().size > 1:
        dist.all_reduce(stacked)
        stacked /= world().size
    return dict(zip(values, stacked.tolist()))


def finite_on_every_rank(loss: torch.Tensor) -> bool:
    """True when `loss` is finite on all ranks, so every rank takes (or skips) the step together."""
    bad = (~torch.isfinite(loss.detach())).any().to(torch.float32).reshape(1)
    if world().size > 1:
        dist.all_reduce(bad, op=dist.ReduceOp.MAX)
    return not bool(bad)


def rank_seed(seed: int, rank: int) -> int:
    """The seed of a rank's own random draws (a method's on-device augmentation): `seed` itself on
    rank 0, so a one-process run is unchanged, and an independent stream for every other rank."""
    if rank == 0:
        return seed
    return int(np.random.SeedSequence([seed % 2**32, rank]).generate_state(1, dtype=np.uint32)[0])


def shard_range(length: int, rank: int, size: int) -> range:
    """Contiguous part `rank` of `size` near-equal parts of range(length): concatenated in rank order
    the parts are range(length) again, so gathered predictions keep the dataset's order."""
    return range(length * rank // size, length * (rank + 1) // size)


class TrainingStep(nn.Module):
    """The method's training step as a module whose only children are the trained networks.

    DDP must see every forward of a step, and a step calls its networks several times (labelled
    batch, teacher pass under no_grad, hard view) before one backward: running the whole step as
    this module's forward gives DDP exactly one forward and one backward per iteration, with all
    networks (both of Dual) in one DDP module and one gradient all-reduce. Fixed and EMA teachers
    are not children, so DDP neither broadcasts nor reduces them."""

    def __init__(self, method):
        super().__init__()
        self.networks = method.networks
        object.__setattr__(self, "method", method)  # plain attribute, not a submodule: teachers stay out

    def forward(self, labelled: dict, unlabelled, iteration: int):
        return self.method.training_step(labelled, unlabelled, iteration)


def wrap_networks(method, device: torch.device, sync_bn: bool = False) -> nn.Module:
    """The callable the trainer runs a step through: step(labelled, unlabelled, iteration) -> StepOutput.

    One process: the plain step. Several: DDP over the trained networks, BatchNorm layers made
    SyncBatchNorm first when `sync_bn` (CUDA only in torch). Parameters are the same objects before
    and after, so an optimizer built earlier keeps working and checkpoints keep their keys."""
    step = TrainingStep(method)
    if world().size == 1:
        return step
    if sync_bn:
        if device.type != "cuda":
            raise ConfigValueError("train.sync_bn: torch's SyncBatchNorm runs on CUDA devices only; "
                                   "set train.sync_bn=false for CPU (gloo) runs")
        nn.SyncBatchNorm.convert_sync_batchnorm(method.networks)  # replaces the layers in place
    return DistributedDataParallel(step, device_ids=[device.index] if device.type == "cuda" else None)
