"""DataDistill (Radosavovic et al. 2018, as the paper's baseline in Sec. 5).

The fixed teacher predicts on method.distill_views transforms of the easy view (view 0 is the
easy view itself; the others are "Affine 30" jitters, every other one also mirrored); each
prediction is mapped back into the easy frame and they are averaged (the same argmax as the
sum, with responses on the usual 0..1 scale). The per-joint peak is mapped exactly into the hard
frame (T_e->h on points) and re-rendered there as a Gaussian of the run's sigma: the student
learns from these clean targets on its hard view (+ L_s). Joints whose peak leaves the hard
canvas get weight 0; no pixel mask is needed because the rendered target is complete.
"""
from __future__ import annotations

import torch

from semipose import codec, geometry
from semipose.augment.hard_view import HardView, heatmap_easy_to_hard, sample_easy_to_hard, warp_to_hard
from semipose.augment.jitter import AFFINE_30
from semipose.methods.pseudopose import PseudoPose

DISTILL_JITTER = AFFINE_30  # teacher-view transforms: the paper's "easy" strength


class DataDistill(PseudoPose):
    def _view_affines(self, count: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        """(V * N, 2, 3) easy -> view affines, view-major, and which of them mirror the crop (V * N,)."""
        views, input_wh = self.config.distill_views, self.context.input_size
        affines = sample_easy_to_hard(views * count, DISTILL_JITTER, input_wh, self.rng, device)
        affines[:count] = torch.eye(2, 3, device=device)
        view_index = torch.arange(views, device=device).repeat_interleave(count)
        mirrored = (view_index % 2 == 1) & (self.context.flip_permutation is not None)
        mirror = torch.as_tensor(geometry.hflip_affine(input_wh[0]), dtype=affines.dtype).to(device)
        mirrored_affines = geometry.batch_compose(mirror.expand_as(affines), affines)
        return torch.where(mirrored[:, None, None], mirrored_affines, affines), mirrored

    def teacher_heatmaps(self, easy_images: torch.Tensor) -> torch.Tensor:
        count = easy_images.shape[0]
        affines, mirrored = self._view_affines(count, easy_images.device)
        views = warp_to_hard(easy_images.repeat(self.config.distill_views, 1, 1, 1), affines, self.context.input_size)
        heatmaps = self.teacher(views)
        if self.context.flip_permutation is not None:
            # A mirrored view swaps left and right: channel k there is joint perm[k] here.
            swapped = heatmaps[:, list(self.context.flip_permutation)]
            heatmaps = torch.where(mirrored[:, None, None, None], swapped, heatmaps)
        back = heatmap_easy_to_hard(geometry.batch_invert(affines), self.context.input_size, self.context.heatmap_size,
                                    self.context.convention)
        in_easy_frame = geometry.warp_batch(heatmaps, back.to(heatmaps.dtype), heatmaps.shape[-2:])
        return in_easy_frame.reshape(self.config.distill_views, count, *heatmaps.shape[1:]).mean(dim=0)

    def hard_targets(self, teacher_easy: torch.Tensor, hard: HardView):
        peaks, _ = codec.decode(teacher_easy, refine="quarter")
        hard_peaks = geometry.batch_apply_to_points(hard.heatmap_easy_to_hard.to(peaks.dtype), peaks)
        heatmap_hw = teacher_easy.shape[-2:]
        targets = codec.render_heatmaps(hard_peaks, heatmap_hw, self.context.sigma)
        joint_weight = self.joint_weight * codec.inside_heatmap(hard_peaks, heatmap_hw).to(targets.dtype)
        return targets, joint_weight, None
