"""Pixel conventions: an ideal model of the reference convention (SimpleBaseline / HRNet / the
paper's code: crop centre at (W/2, H/2), x_in = 4 x_hm) decodes to the true joints when the
reference convention is used for crops, decoding and the flip test; semipose's own exact
convention would put it about 1.5 input pixels down-right. The checkpoint carries its convention."""
import numpy as np
import pytest
import torch

from semipose import codec, geometry
from semipose.config import EvalConfig
from semipose.engine.checkpoint import save_checkpoint
from semipose.engine.conventions import HeatmapConventionAdapter, checkpoint_convention, resolve_run_convention
from semipose.api import load_config
from semipose.evaluation.inference import heatmaps_to_image_points, predict_heatmaps

INPUT_WH, HEATMAP_WH = (192, 256), (48, 64)
FLIP_PERMUTATION = [1, 0, 2]   # joints 0 and 1 are a left/right pair


def coordinate_crops(image_to_input: np.ndarray) -> torch.Tensor:
    """(N, 2, H, W) float64 crops whose pixels hold their own image coordinates (x, y): exactly
    what warping an image of its coordinates would give, without interpolation error."""
    us, vs = np.meshgrid(np.arange(INPUT_WH[0]), np.arange(INPUT_WH[1]))
    grid = np.stack([us, vs], axis=-1).astype(np.float64)
    crops = [geometry.apply_to_points(geometry.invert(affine), grid).transpose(2, 0, 1) for affine in image_to_input]
    return torch.from_numpy(np.stack(crops))


class IdealReferenceModel:
    """Reads the crop's input -> image map from its pixels (so it follows a mirrored input too)
    and draws each true joint at x_hm = x_in / 4, where the reference code's training puts it."""

    def __init__(self, joints_image: np.ndarray):
        self.joints = torch.from_numpy(joints_image)   # (N, K, 2) image pixels

    def __call__(self, crops: torch.Tensor) -> torch.Tensor:
        origin = crops[:, :, 0, 0]
        linear = torch.stack([crops[:, :, 0, 1] - origin, crops[:, :, 1, 0] - origin], dim=-1)  # (N, 2, 2)
        input_to_image = torch.cat([linear, origin[..., None]], dim=-1)
        joints_input = geometry.batch_apply_to_points(geometry.batch_invert(input_to_image), self.joints)
        mirrored = linear[:, 0, 0] < 0            # a mirrored crop: its left joint is the right one
        joints_input = torch.where(mirrored[:, None, None], joints_input[:, FLIP_PERMUTATION], joints_input)
        return codec.render_heatmaps(joints_input / 4.0, HEATMAP_WH[::-1], sigma=2.0)


def people(count: int = 24, seed: int = 0):
    rng = np.random.default_rng(seed)
    boxes = np.c_[rng.uniform(0, 400, (count, 2)), rng.uniform(40, 300, (count, 2))]
    affines, joints = [], []
    for box in boxes:
        center, size = geometry.box_to_center_size(box, INPUT_WH[0] / INPUT_WH[1])
        affines.append(geometry.crop_affine(center, size, 0.0, INPUT_WH, convention="reference"))
        joints.append(box[:2] + rng.uniform(0.15, 0.85, (3, 2)) * box[2:])   # inside the box
    return np.stack(affines), np.stack(joints)


@pytest.mark.parametrize("flip_test", [False, True])
def test_an_ideal_reference_model_decodes_to_the_true_joints(flip_test):
    affines, joints = people()
    model = IdealReferenceModel(joints)
    config = EvalConfig(flip_test=flip_test, refine="dark")
    heatmaps = predict_heatmaps(model, coordinate_crops(affines), FLIP_PERMUTATION, config, "reference")
    points = heatmaps_to_image_points(heatmaps, torch.from_numpy(affines), INPUT_WH, "dark", "reference")
    error = np.linalg.norm(points[..., :2].double().numpy() - joints, axis=-1)
    # one input pixel is size / 192 image pixels here: compare in input pixels
    scale = np.linalg.norm(affines[:, 0, :2], axis=-1)[:, None]
    assert (error * scale).max() < 0.05
    exact = heatmaps_to_image_points(heatmaps, torch.from_numpy(affines), INPUT_WH, "dark", "exact")
    bias = (exact[..., :2].double().numpy() - points[..., :2].double().numpy()) * scale[..., None]
    np.testing.assert_allclose(bias, 1.5, atol=1e-3)   # what decoding it as "exact" would cost


def test_flip_test_offset_is_the_stride_minus_one_for_the_reference_convention():
    assert geometry.flip_test_offset(INPUT_WH, HEATMAP_WH, "exact") == 0
    assert geometry.flip_test_offset(INPUT_WH, HEATMAP_WH, "reference") == -3
    # the reference crop centre: the box centre lands on (W/2, H/2)
    affine = geometry.crop_affine((50.0, 60.0), (96.0, 128.0), 0.0, INPUT_WH, convention="reference")
    np.testing.assert_allclose(geometry.apply_to_points(affine, [50.0, 60.0]), [96.0, 128.0])


def test_checkpoints_carry_their_convention(tmp_path):
    assert checkpoint_convention({"final_layer.weight": torch.zeros(1)}) == "reference"   # a public file
    assert checkpoint_convention({"method": {}, "config": {"data": {}}}) == "exact"        # older semipose
    assert checkpoint_convention({"method": {}, "config": {"data": {"convention": "reference"}}}) == "reference"
    public = tmp_path / "public.pth"
    save_checkpoint(public, {"final_layer.weight": torch.zeros(1)})
    assert resolve_run_convention(load_config(None, [f"model.checkpoint={public}"])).data.convention == "reference"
    assert resolve_run_convention(load_config(None, [f"model.checkpoint={public}", "data.convention=exact"])
                                  ).data.convention == "exact"
    assert resolve_run_convention(load_config(None, [])).data.convention == "exact"


def test_a_reference_teacher_is_resampled_into_the_exact_convention():
    affines, joints = people(4, seed=1)
    crops = coordinate_crops(affines)
    teacher = HeatmapConventionAdapter(IdealReferenceModel(joints), "reference", "exact")
    points = heatmaps_to_image_points(teacher(crops), torch.from_numpy(affines), INPUT_WH, "dark", "exact")
    scale = np.linalg.norm(affines[:, 0, :2], axis=-1)[:, None]
    assert (np.linalg.norm(points[..., :2].double().numpy() - joints, axis=-1) * scale).max() < 0.1
