"""The easy -> hard step (paper Sec. 3.3, 4.2, 5), of which Single, Dual, PseudoPose and DataDistill
are configurations:

    L = mean_s L_s(s) + lambda(step) * sum_(s, t) || s(I_h) - T_e->h(t(I_e)) ||^2

over the method's pairs (student s, teacher t). A student is a trained network (a key of
`networks`); a teacher is a function of the easy-view images, run under no_grad (`teachers_of_easy`:
the network itself, the other network, a frozen network, an ensemble). Single is
[(main, main)], Dual [(a, b), (b, a)], PseudoPose [(main, frozen teacher)], DataDistill
[(main, ensemble)] with re-rendered targets (`hard_targets`).

Each pair has its own hard view of the same unlabelled images. With `views_share_draw` (the
default, the reference's dual) all views share one RandAugment draw and affine and differ only in
Joint Cutout (each cut at its own teacher's joints); a method that wants several independent hard
views per image (MultiAugs-style) lists several pairs and sets views_share_draw = False.

The unlabelled term is weighted 1 on every joint the labelled set annotates and masked to the
pixels the easy view can see (method.hard.mask_out_of_view). Teachers that are trained networks
run in train mode, so their batch-norm statistics update as in the reference code. The labelled,
teacher and student batches go through a network separately (as in the reference), so each is
normalised by its own batch statistics.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import torch

from semipose.augment.hard_view import HardView, HardViewBuilder
from semipose.config import HardViewConfig, MethodConfig
from semipose.config_rules import check_hard_view
from semipose.methods.base import Method, MethodContext, StepOutput, step_part
from semipose.methods.common import (AugmentRng, annotated_joint_weight, labelled_loss, require_unlabelled,
                                     response_logs, semi_supervised_output)
from semipose.methods.losses import heatmap_mse


@dataclass
class EasyHardConfig(MethodConfig):
    """Options of every easy -> hard method: the hard view."""
    hard: HardViewConfig = field(default_factory=HardViewConfig)

    def check(self, key: str) -> None:
        super().check(key)
        check_hard_view(self.hard, f"{key}.hard")


@dataclass(frozen=True)
class Pair:
    student: str   # a key of `networks`: learns on the hard view
    teacher: str   # a key of `teachers_of_easy()`: labels the easy view


class EasyHard(AugmentRng, Method):
    uses_unlabelled = True
    views_share_draw = True

    def __init__(self, config: EasyHardConfig, context: MethodContext):
        super().__init__(config, context)
        self.register_buffer("joint_weight", annotated_joint_weight(context), persistent=False)
        self.hard_views = HardViewBuilder(config.hard, context.input_size, context.heatmap_size,
                                          context.labelled_joints, context.convention)
        self.init_rng(context.seed)

    def pairs(self) -> list[Pair]:
        raise NotImplementedError

    def teachers_of_easy(self) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
        """Name -> easy images -> heatmaps, in the order they run (default: the trained networks)."""
        return dict(self.networks.items())

    def hard_targets(self, teacher_easy: torch.Tensor, hard: HardView):
        """(targets on the hard view, joint weight, pixel weight or None) from a teacher's heatmaps."""
        return hard.warp_heatmaps(teacher_easy), self.joint_weight, hard.heatmap_mask

    def loss_terms(self, labelled: dict, unlabelled: Optional[dict]) -> "EasyHardTerms":
        """The unweighted loss terms (L_s per student, L_u per pair) and the heatmaps behind the logs."""
        easy = require_unlabelled(unlabelled, self.config.name)
        pairs = self.pairs()
        students = list(dict.fromkeys(pair.student for pair in pairs))
        with step_part("labelled"):
            supervised = {name: labelled_loss(self.networks[name], labelled) for name in students}
        with torch.no_grad():
            with step_part("teacher"):
                wanted = {pair.teacher for pair in pairs}
                teacher_easy = {name: teach(easy) for name, teach in self.teachers_of_easy().items()
                                if name in wanted}
            with step_part("views"):
                views = self._hard_views(easy, [teacher_easy[pair.teacher] for pair in pairs])
                targets = [self.hard_targets(teacher_easy[pair.teacher], view) for pair, view in zip(pairs, views)]
        with step_part("student"):
            student_hard = [self.networks[pair.student](view.images) for pair, view in zip(pairs, views)]
        with step_part("loss"):
            unsupervised = [heatmap_mse(predicted, *target) for predicted, target in zip(student_hard, targets)]
        return EasyHardTerms(pairs, {name: loss for name, (loss, _) in supervised.items()}, unsupervised,
                             torch.cat([heatmaps.detach() for _, heatmaps in supervised.values()]),
                             torch.cat(list(teacher_easy.values())), torch.cat([h.detach() for h in student_hard]))

    def training_step(self, labelled: dict, unlabelled: Optional[dict], step: int) -> StepOutput:
        terms = self.loss_terms(labelled, unlabelled)
        with step_part("loss"):
            responses = response_logs(self.joint_weight, labelled=terms.labelled, teacher=terms.teacher,
                                      student=terms.student)
        extra = terms.logs() if len(terms.pairs) > 1 else None
        return semi_supervised_output(terms.loss_sup(), terms.loss_unsup(), self.unsup_weight(step), responses, extra)

    def _hard_views(self, easy: torch.Tensor, teacher_heatmaps: list[torch.Tensor]) -> list[HardView]:
        if self.views_share_draw:
            return self.hard_views.build(easy, teacher_heatmaps, self.rng)
        return [self.hard_views.build(easy, [heatmaps], self.rng)[0] for heatmaps in teacher_heatmaps]


@dataclass
class EasyHardTerms:
    pairs: list[Pair]
    supervised: dict[str, torch.Tensor]   # L_s of each student
    unsupervised: list[torch.Tensor]      # L_u of each pair
    labelled: torch.Tensor                # heatmaps behind the response logs: every student's on the
    teacher: torch.Tensor                 # labelled batch, every teacher's on the easy view, every
    student: torch.Tensor                 # student's on its hard view

    def loss_sup(self) -> torch.Tensor:
        """The mean over the students (dual: 0.5 L_s(a) + 0.5 L_s(b))."""
        values = list(self.supervised.values())
        return _sum(values) / len(values) if len(values) > 1 else values[0]

    def loss_unsup(self) -> torch.Tensor:
        return _sum(self.unsupervised)

    def logs(self) -> dict:
        """loss_sup_<student> and loss_unsup_<student> (or _<pair index> when a student has several views)."""
        logs = {f"loss_sup_{name}": loss.detach() for name, loss in self.supervised.items()}
        by_student = len(self.supervised) == len(self.pairs)
        logs.update({f"loss_unsup_{pair.student if by_student else index}": loss.detach()
                     for index, (pair, loss) in enumerate(zip(self.pairs, self.unsupervised))})
        return logs


def _sum(values: list[torch.Tensor]) -> torch.Tensor:
    total = values[0]
    for value in values[1:]:
        total = total + value
    return total
