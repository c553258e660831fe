"""What the methods share: the labelled loss, the joint weight of unlabelled targets, the
heatmap-response logs (the paper's collapse signal, Fig. 3), L = L_s + lambda L_u and the saved
augmentation generator.

Log values are detached 0-dim tensors (and plain floats for `unsup_weight`): converting them with
float() forces a device sync, so the engine does that only on the steps it actually logs.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from semipose.methods.base import MethodContext, StepOutput
from semipose.methods.losses import heatmap_mse, heatmap_response


def labelled_loss(network, labelled: dict):
    """(L_s, predicted heatmaps) on a labelled batch: visibility-weighted heatmap MSE."""
    heatmaps = network(labelled["image"])
    return heatmap_mse(heatmaps, labelled["heatmaps"], labelled["target_weight"]), heatmaps


def annotated_joint_weight(context: MethodContext) -> torch.Tensor:
    """(K,) float: 1 for joints the labelled set annotates (unlabelled targets count only there)."""
    return torch.as_tensor(context.labelled_joints, dtype=torch.bool).float()


def require_unlabelled(unlabelled: Optional[dict], method_name: str) -> torch.Tensor:
    """The easy-view images of the unlabelled batch, with a clear error when there is none."""
    if unlabelled is None or "image" not in unlabelled:
        raise ValueError(f"method {method_name!r} needs an unlabelled batch with an 'image' entry "
                         f"(is data.unlabelled empty?)")
    return unlabelled["image"]


def response_logs(joint_weight: torch.Tensor, labelled: Optional[torch.Tensor] = None,
                  teacher: Optional[torch.Tensor] = None, student: Optional[torch.Tensor] = None) -> dict:
    """Mean heatmap response over the annotated joints, per stream, plus per-joint unlabelled values.

    Keys: response_labelled, response_unlabelled_teacher, response_unlabelled_student, and
    response_unlabelled_{teacher,student}/j{k} for every joint k.
    """
    logs = {}
    streams = {"response_labelled": labelled, "response_unlabelled_teacher": teacher,
               "response_unlabelled_student": student}
    weight = joint_weight.float()
    for key, heatmaps in streams.items():
        if heatmaps is None:
            continue
        per_joint = heatmap_response(heatmaps)
        logs[key] = (per_joint * weight).sum() / weight.sum().clamp_min(1.0)
        if key != "response_labelled":
            logs.update({f"{key}/j{k}": value for k, value in enumerate(per_joint.unbind())})
    return logs


class AugmentRng:
    """Mixin: `self.rng`, the numpy Generator behind a method's on-device augmentation draws, saved in
    the method's state_dict (as torch "extra state") so a resumed run draws what it would have drawn."""

    def init_rng(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def get_extra_state(self) -> dict:
        return {"augment_rng": self.rng.bit_generator.state}

    def set_extra_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state["augment_rng"]


def semi_supervised_output(loss_sup: torch.Tensor, loss_unsup: torch.Tensor, unsup_weight: float,
                           responses: dict, extra_logs: Optional[dict] = None) -> StepOutput:
    """L = L_s + lambda L_u, with the loss terms and heatmap responses every SSL method logs."""
    logs = {"loss_sup": loss_sup.detach(), "loss_unsup": loss_unsup.detach(), "unsup_weight": unsup_weight,
            **(extra_logs or {}), **responses}
    return StepOutput(loss_sup + unsup_weight * loss_unsup, logs)
