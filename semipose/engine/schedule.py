"""Iteration bookkeeping: epochs <-> iterations, the step learning-rate schedule, boundaries."""
from __future__ import annotations

import bisect
from dataclasses import dataclass

from semipose.config import TrainConfig


@dataclass
class Schedule:
    total: int                      # iterations of the whole run
    unit: int                       # iterations per epoch, or 1 when the config counts iterations
    lr_steps: tuple[int, ...]       # iterations at which the learning rate drops
    lr_factor: float

    @classmethod
    def from_config(cls, train: TrainConfig, iterations_per_epoch: int) -> "Schedule":
        unit = 1 if train.iterations else iterations_per_epoch
        total = train.iterations or train.epochs * iterations_per_epoch
        steps = tuple(sorted(int(round(step * unit)) for step in train.lr_steps))
        return cls(total=total, unit=unit, lr_steps=steps, lr_factor=train.lr_factor)

    def lr(self, iteration: int, base_lr: float) -> float:
        return base_lr * self.lr_factor ** bisect.bisect_right(self.lr_steps, iteration)

    def is_boundary(self, iteration: int, every: int) -> bool:
        """True after the last iteration of every `every`-th epoch (or iteration), and at the end."""
        return iteration == self.total or (every > 0 and iteration % (every * self.unit) == 0)
