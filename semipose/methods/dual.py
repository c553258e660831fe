"""Ours (Dual), paper Sec. 4.2 / Eq. 7: two networks teach each other's hard view.

L = 0.5 L_s(a) + 0.5 L_s(b) + lambda (||a(I_h) - T(b(I_e))||^2 + ||b(I_h) - T(a(I_e))||^2),
teachers detached (no_grad, train mode: batch-norm statistics update as in the reference),
one optimizer over both. Both hard views share the RandAugment draw and the affine; with Joint
Cutout, network a's hard image is masked at network b's predicted joints and vice versa.
Network b is built from method.second_model (default: the same architecture); each
build_network call gives a fresh initialisation, so the two start different.
"""
from __future__ import annotations

from typing import Optional

import torch

from semipose.augment.hard_view import HardViewBuilder
from semipose.methods.base import Method, MethodContext, StepOutput, step_part
from semipose.methods.losses import heatmap_mse
from semipose.methods.supervised import (AugmentRng, annotated_joint_weight, labelled_loss, require_unlabelled,
                                        response_logs, semi_supervised_output)


class Dual(AugmentRng, Method):
    uses_unlabelled = True

    def __init__(self, config, context: MethodContext):
        super().__init__(config, context)
        self.networks["a"] = context.build_network(None)
        self.networks["b"] = context.build_network(config.second_model)
        self.register_buffer("joint_weight", annotated_joint_weight(context), persistent=False)
        self.hard_views = HardViewBuilder(config.hard, context)
        self.init_rng(context.seed)

    def loss_terms(self, labelled: dict, unlabelled: Optional[dict]) -> dict:
        """The four loss terms of Eq. 7 (unweighted) and the heatmaps behind the response logs."""
        easy = require_unlabelled(unlabelled, self.config.name)
        net_a, net_b = self.networks["a"], self.networks["b"]
        with step_part("labelled"):
            sup_a, labelled_a = labelled_loss(net_a, labelled)
            sup_b, labelled_b = labelled_loss(net_b, labelled)
        with torch.no_grad():
            with step_part("teacher"):
                teacher_a, teacher_b = net_a(easy), net_b(easy)
            with step_part("views"):
                joints_of = self.hard_views.cutout_joints
                hard_for_a, hard_for_b = self.hard_views.build_many(
                    easy, [joints_of(teacher_b), joints_of(teacher_a)], self.rng)
                target_for_a = hard_for_a.warp_heatmaps(teacher_b)
                target_for_b = hard_for_b.warp_heatmaps(teacher_a)
        with step_part("student"):
            student_a, student_b = net_a(hard_for_a.images), net_b(hard_for_b.images)
        with step_part("loss"):
            return {
                "sup_a": sup_a, "sup_b": sup_b,
                "unsup_a": heatmap_mse(student_a, target_for_a, self.joint_weight, hard_for_a.heatmap_mask),
                "unsup_b": heatmap_mse(student_b, target_for_b, self.joint_weight, hard_for_b.heatmap_mask),
                "labelled": torch.cat([labelled_a, labelled_b]), "teacher": torch.cat([teacher_a, teacher_b]),
                "student": torch.cat([student_a, student_b]),
            }

    def training_step(self, labelled: dict, unlabelled: Optional[dict], step: int) -> StepOutput:
        terms = self.loss_terms(labelled, unlabelled)
        loss_sup = 0.5 * (terms["sup_a"] + terms["sup_b"])
        loss_unsup = terms["unsup_a"] + terms["unsup_b"]
        # Responses are the mean over both networks (equal batches, so one concatenated mean).
        responses = response_logs(self.joint_weight, labelled=terms["labelled"], teacher=terms["teacher"],
                                  student=terms["student"])
        extra = {f"loss_{name}": terms[name].detach() for name in ("sup_a", "sup_b", "unsup_a", "unsup_b")}
        return semi_supervised_output(loss_sup, loss_unsup, self.unsup_weight(step), responses, extra)

    def eval_networks(self) -> dict:
        net_a, net_b = self.networks["a"], self.networks["b"]
        return {"a": net_a, "b": net_b, "mean": lambda images: 0.5 * (net_a(images) + net_b(images))}
