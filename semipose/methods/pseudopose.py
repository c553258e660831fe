"""PseudoPose (paper Sec. 5, Eq. 8): a fixed, separately trained teacher labels the easy view.

L = L_s + lambda || f(I_h) - T_e->h(f_t(I_e)) ||^2: the easy -> hard step (methods/easy_hard.py)
with the pair (main, teacher). The teacher comes from method.teacher_checkpoint (architecture
method.teacher_model, default the run's model), runs in eval mode under no_grad, is kept out of
`networks` (never optimised) and stays in eval mode when the method is put in train mode.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from torch import nn

from semipose.config import ModelConfig
from semipose.config_rules import require
from semipose.methods.base import MethodContext
from semipose.methods.easy_hard import EasyHard, EasyHardConfig, Pair


@dataclass
class PseudoPoseConfig(EasyHardConfig):
    name: str = "pseudopose"
    teacher_checkpoint: Optional[str] = None              # a trained (e.g. supervised) run's checkpoint
    teacher_model: Optional[ModelConfig] = None           # architecture of that teacher (default: model)

    def check(self, key: str) -> None:
        super().check(key)
        require(bool(self.teacher_checkpoint), f"{key}.teacher_checkpoint",
                f"the checkpoint of a trained (e.g. supervised) teacher for method {self.name!r}",
                self.teacher_checkpoint)


def load_frozen_teacher(config: PseudoPoseConfig, context: MethodContext) -> nn.Module:
    teacher = context.load_network(config.teacher_checkpoint, config.teacher_model)
    teacher.requires_grad_(False)
    return teacher.eval()


class PseudoPose(EasyHard):
    frozen_children = ("teacher",)

    def __init__(self, config: PseudoPoseConfig, context: MethodContext):
        super().__init__(config, context)
        self.teacher = load_frozen_teacher(config, context)

    def teachers_of_easy(self) -> dict:
        return {"teacher": self.teacher}

    def pairs(self) -> list[Pair]:
        return [Pair("main", "teacher")]
