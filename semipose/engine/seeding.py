"""Seeding of the Python, NumPy and torch global RNGs, in the main process and in loader workers."""

from __future__ import annotations

import os
import random
from typing import Callable, Union

import numpy as np
import torch

EpochSource = Union[int, Callable[[], int]]


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed python, numpy and torch (all devices). `deterministic` also asks torch for
    deterministic kernels (warning, not failing, where none exists) and fixes cuDNN's choices."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        # cuBLAS needs this workspace setting for reproducible matmuls; it must be set before first use.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    elif torch.are_deterministic_algorithms_enabled():  # the call costs an import: only when it changes
        torch.use_deterministic_algorithms(False)
        torch.backends.cudnn.deterministic = False


def worker_seed_sequence(base_seed: int, epoch: int, worker_id: int) -> np.random.SeedSequence:
    """Independent, reproducible streams for every (run seed, epoch, worker) triple."""
    return np.random.SeedSequence([base_seed % 2**32, epoch, worker_id])


def seed_worker(base_seed: int, epoch: int, worker_id: int) -> None:
    """Seed this process's python / numpy / torch RNGs for one data-loader worker."""
    sequence = worker_seed_sequence(base_seed, epoch, worker_id)
    words = sequence.generate_state(4, dtype=np.uint32)
    np.random.seed(words)
    random.seed(int.from_bytes(words.tobytes(), "little"))
    torch.manual_seed(int(sequence.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)))


class WorkerInit:
    """`worker_init_fn` for torch DataLoader. A class (not a closure) so it pickles for spawned
    workers. `epoch` is an int or a zero-argument callable read when the workers start, so
    each epoch's fresh workers draw new augmentations."""

    def __init__(self, base_seed: int, epoch: EpochSource = 0):
        self.base_seed = base_seed
        self.epoch = epoch

    def __call__(self, worker_id: int) -> None:
        import cv2

        cv2.setNumThreads(0)  # OpenCV's own thread pool fights the loader's worker processes
        epoch = self.epoch() if callable(self.epoch) else self.epoch
        seed_worker(self.base_seed, int(epoch), worker_id)


def make_worker_init(base_seed: int, epoch_getter_or_int: EpochSource = 0) -> WorkerInit:
    """The DataLoader `worker_init_fn` seeding each worker from (base seed, epoch, worker id)."""
    return WorkerInit(base_seed, epoch_getter_or_int)
