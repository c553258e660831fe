"""Naive consistency (paper Sec. 3.1-3.2, Eq. 2): the baseline that collapses.

Two views of each unlabelled image are drawn from the SAME distribution: independent jitters
(method.hard.affine) of the easy crop, warped on the device. The first view's heatmaps, mapped
into the second view's frame (compose(T_2, inverse(T_1)), rescaled to heatmap pixels), are the
target for the second view's heatmaps, and the gradient flows through BOTH. Options:
- ema_decay: a mean teacher (Tarvainen & Valpola): the first view goes through an EMA copy of the
  network, updated after every optimizer step, without gradient and outside `networks`;
- confidence_threshold: joints whose target peak (the first view's max response) is below it get
  weight 0;
- foreground_weight: target pixels above FOREGROUND_LEVEL (0.1, i.e. within about 2.1 sigma of a
  Gaussian of peak 1) are weighted by this factor, the rest by 1.
"""
from __future__ import annotations

import copy
from typing import Optional

import torch

from semipose import geometry
from semipose.augment.hard_view import map_heatmaps_to_hard, sample_easy_to_hard, warp_to_hard
from semipose.methods.base import MethodContext, StepOutput
from semipose.methods.losses import heatmap_mse
from semipose.methods.supervised import (AugmentRng, Supervised, labelled_loss, require_unlabelled,
                                        response_logs, semi_supervised_output)

FOREGROUND_LEVEL = 0.1


class Consistency(AugmentRng, Supervised):
    uses_unlabelled = True

    def __init__(self, config, context: MethodContext):
        super().__init__(config, context)
        self.init_rng(context.seed)
        self.ema_teacher = None
        if config.ema_decay is not None:
            self.ema_teacher = copy.deepcopy(self.networks["main"]).requires_grad_(False)

    def _two_views(self, easy: torch.Tensor):
        """Images of both views and the affine from the first view's crop to the second's."""
        input_wh, jitter = self.context.input_size, self.config.hard.affine
        to_first = sample_easy_to_hard(easy.shape[0], jitter, input_wh, self.rng, easy.device)
        to_second = sample_easy_to_hard(easy.shape[0], jitter, input_wh, self.rng, easy.device)
        first_to_second = geometry.batch_compose(to_second, geometry.batch_invert(to_first))
        return warp_to_hard(easy, to_first, input_wh), warp_to_hard(easy, to_second, input_wh), first_to_second

    def _weights(self, targets: torch.Tensor, in_view: torch.Tensor):
        """(joint weight (N, K), pixel weight or None) from the options; no gradient through them."""
        targets = targets.detach()
        joint_weight = self.joint_weight.expand(targets.shape[0], -1)
        if self.config.confidence_threshold is not None:
            confident = targets.flatten(-2).amax(dim=-1) >= self.config.confidence_threshold
            joint_weight = joint_weight * confident.to(joint_weight.dtype)
        pixel_weight = in_view if self.config.hard.mask_out_of_view else None
        if self.config.foreground_weight is not None:
            foreground = torch.where(targets > FOREGROUND_LEVEL, self.config.foreground_weight, 1.0)
            pixel_weight = foreground if pixel_weight is None else foreground * pixel_weight
        return joint_weight, pixel_weight

    def training_step(self, labelled: dict, unlabelled: Optional[dict], step: int) -> StepOutput:
        easy = require_unlabelled(unlabelled, self.config.name)
        network = self.networks["main"]
        loss_sup, labelled_heatmaps = labelled_loss(network, labelled)
        first_images, second_images, first_to_second = self._two_views(easy)
        if self.ema_teacher is None:
            first_heatmaps = network(first_images)
        else:
            with torch.no_grad():
                first_heatmaps = self.ema_teacher(first_images)
        second_heatmaps = network(second_images)
        targets, in_view = map_heatmaps_to_hard(first_heatmaps, first_to_second, self.context.input_size,
                                                self.context.heatmap_size, self.context.convention)
        joint_weight, pixel_weight = self._weights(targets, in_view)
        loss_unsup = heatmap_mse(second_heatmaps, targets, joint_weight, pixel_weight)
        responses = response_logs(self.joint_weight, labelled=labelled_heatmaps, teacher=first_heatmaps,
                                  student=second_heatmaps)
        return semi_supervised_output(loss_sup, loss_unsup, self.unsup_weight(step), responses)

    def after_optimizer_step(self, step: int) -> None:
        if self.ema_teacher is None:
            return
        decay = self.config.ema_decay
        with torch.no_grad():
            for teacher_param, param in zip(self.ema_teacher.parameters(), self.networks["main"].parameters()):
                teacher_param.lerp_(param, 1.0 - decay)
            for teacher_buffer, buffer in zip(self.ema_teacher.buffers(), self.networks["main"].buffers()):
                teacher_buffer.copy_(buffer)
