"""Ours (Single), paper Sec. 3.3: one network teaches its own hard view from its easy view.

L = L_s + lambda(step) * || f(I_h) - T_e->h(f(I_e)).detach() ||^2, the unlabelled term weighted
1 on every joint the labelled set annotates and masked to the pixels the easy view can see
(method.hard.mask_out_of_view). The teacher pass runs under no_grad but in train mode, so its
batch-norm statistics update as in the reference code. The labelled, teacher and student
batches go through the network separately (as in the reference), so each is normalised by its
own batch statistics.

PseudoPose and DataDistill subclass this and only change where the targets come from.
"""
from __future__ import annotations

from typing import Optional

import torch

from semipose.augment.hard_view import HardView, HardViewBuilder
from semipose.methods.base import MethodContext, StepOutput, step_part
from semipose.methods.losses import heatmap_mse
from semipose.methods.supervised import (AugmentRng, Supervised, labelled_loss, require_unlabelled,
                                        response_logs, semi_supervised_output)


class Single(AugmentRng, Supervised):
    uses_unlabelled = True

    def __init__(self, config, context: MethodContext):
        super().__init__(config, context)
        self.hard_views = HardViewBuilder(config.hard, context)
        self.init_rng(context.seed)

    def teacher_heatmaps(self, easy_images: torch.Tensor) -> torch.Tensor:
        """Teacher signal on the easy view (called under no_grad): the network itself."""
        return self.networks["main"](easy_images)

    def hard_targets(self, teacher_easy: torch.Tensor, hard: HardView):
        """(targets on the hard view, joint weight, pixel weight or None) from the teacher's heatmaps."""
        return hard.warp_heatmaps(teacher_easy), self.joint_weight, hard.heatmap_mask

    def training_step(self, labelled: dict, unlabelled: Optional[dict], step: int) -> StepOutput:
        easy = require_unlabelled(unlabelled, self.config.name)
        network = self.networks["main"]
        with step_part("labelled"):
            loss_sup, labelled_heatmaps = labelled_loss(network, labelled)
        with torch.no_grad():
            with step_part("teacher"):
                teacher_easy = self.teacher_heatmaps(easy)
            with step_part("views"):
                hard = self.hard_views.build(easy, self.hard_views.cutout_joints(teacher_easy), self.rng)
                targets, joint_weight, pixel_weight = self.hard_targets(teacher_easy, hard)
        with step_part("student"):
            student_hard = network(hard.images)
        with step_part("loss"):
            loss_unsup = heatmap_mse(student_hard, targets, joint_weight, pixel_weight)
            responses = response_logs(self.joint_weight, labelled=labelled_heatmaps, teacher=teacher_easy,
                                      student=student_hard)
        return semi_supervised_output(loss_sup, loss_unsup, self.unsup_weight(step), responses)
