"""PseudoPose (paper Sec. 5, Eq. 8): a fixed, separately trained teacher labels the easy view.

L = L_s + lambda || f(I_h) - T_e->h(f_t(I_e)) ||^2 with the same hard view as Ours (Single).
The teacher comes from method.teacher_checkpoint (architecture method.teacher_model, default the
run's model), runs in eval mode under no_grad, is kept out of `networks` (never optimised) and
stays in eval mode when the method is put in train mode.
"""
from __future__ import annotations

import torch
from torch import nn

from semipose.config import ConfigValueError
from semipose.methods.base import MethodContext
from semipose.methods.single import Single


def load_frozen_teacher(config, context: MethodContext) -> nn.Module:
    if not config.teacher_checkpoint:
        raise ConfigValueError(f"method.teacher_checkpoint: method {config.name!r} needs the checkpoint of a "
                               f"trained (e.g. supervised) teacher")
    teacher = context.load_network(config.teacher_checkpoint, config.teacher_model)
    teacher.requires_grad_(False)
    return teacher.eval()


class PseudoPose(Single):
    def __init__(self, config, context: MethodContext):
        super().__init__(config, context)
        self.teacher = load_frozen_teacher(config, context)

    def train(self, mode: bool = True):
        super().train(mode)
        self.teacher.eval()  # a fixed teacher: batch-norm statistics frozen too
        return self

    def teacher_heatmaps(self, easy_images: torch.Tensor) -> torch.Tensor:
        return self.teacher(easy_images)
