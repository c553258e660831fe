"""Supervised training (the baseline): L = L_s on the labelled batch, one network "main".
Its config is the base MethodConfig: it has no options of its own."""
from __future__ import annotations

from typing import Optional

from semipose.methods.base import Method, MethodContext, StepOutput, step_part
from semipose.methods.common import annotated_joint_weight, labelled_loss, response_logs


class Supervised(Method):
    uses_unlabelled = False

    def __init__(self, config, context: MethodContext):
        super().__init__(config, context)
        self.register_buffer("joint_weight", annotated_joint_weight(context), persistent=False)

    def training_step(self, labelled: dict, unlabelled: Optional[dict], step: int) -> StepOutput:
        with step_part("labelled"):
            loss_sup, heatmaps = labelled_loss(self.networks["main"], labelled)
        with step_part("loss"):
            logs = {"loss_sup": loss_sup.detach()}
            logs.update(response_logs(self.joint_weight, labelled=heatmaps))
        return StepOutput(loss_sup, logs)
