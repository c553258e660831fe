"""Each method owns its config: the shipped YAML files load, an option a method does not have is
refused at load time, a new method is its module + a registry line; and the easy->hard loss
equals an independent float64 computation of L = L_s + lambda || f(I_h) - T(f(I_e)) ||^2."""
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from semipose import api, codec
from semipose.config import MethodConfig
from semipose.configtools import ConfigError
from semipose.methods import METHODS, build_method, method_config
from semipose.methods.base import MethodContext
from semipose.methods.easy_hard import EasyHard, EasyHardConfig, Pair

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").rglob("*.yaml"))
K, INPUT_WH, HEATMAP_WH = 3, (24, 32), (6, 8)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda path: path.name)
def test_every_shipped_config_loads_with_its_methods_options(path):
    config = api.load_config(str(path))
    assert type(config.method) is METHODS[config.method.name][1]


def test_a_flat_method_section_keeps_loading_where_its_keys_are_the_methods(tmp_path):
    path = tmp_path / "old.yaml"
    path.write_text("method:\n  name: datadistill\n  rampup: [10, 20]\n  teacher_checkpoint: t.pt\n"
                    "  distill_views: 2\n  hard: {joint_cutout: {num_joints: 5}}\n")
    method = api.load_config(str(path)).method
    assert (method.rampup, method.distill_views, method.hard.joint_cutout.num_joints) == ((10, 20), 2, 5)


def test_an_option_of_another_method_is_an_error_naming_the_key_and_its_owner(tmp_path):
    path = tmp_path / "wrong.yaml"
    path.write_text("method: {name: single, ema_decay: 0.99}\n")
    with pytest.raises(ConfigError) as error:
        api.load_config(str(path))
    message = str(error.value)
    assert error.value.key == "method.ema_decay"
    assert "method 'single' has no option 'ema_decay'; it is an option of consistency" in message
    assert "(its options: name, unsup_weight, rampup, hard)" in message
    with pytest.raises(ConfigError, match="method 'supervised' has no option 'hard'"):
        api.load_config(None, ["method.hard.mask_out_of_view=false"])


def test_the_saved_config_of_a_run_loads_back_to_the_same_method_config(tmp_path):
    import yaml
    from semipose.configtools import to_dict
    config = api.load_config(None, ["method.name=dual", "method.second_model.name=tiny", "method.second_model.width=8"])
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(to_dict(config)))
    assert api.load_config(str(path)) == config


# ----------------------------------------------------------------------------- a new method


@dataclass
class TwoViewsConfig(EasyHardConfig):
    name: str = "two_views"


class TwoViews(EasyHard):
    """Two independent hard views of each unlabelled image, both taught by the network itself."""
    views_share_draw = False

    def pairs(self):
        return [Pair("main", "main"), Pair("main", "main")]


class Pooled(nn.Module):
    """f(I) = a * avgpool4(first channel) + b in every joint channel: two parameters, no batch norm,
    so the teacher pass (train mode, no gradient) is the same function as the student's."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Parameter(torch.tensor(0.7)), nn.Parameter(torch.tensor(0.05))

    def forward(self, images):
        return (self.a * F.avg_pool2d(images[:, :1], 4) + self.b).repeat(1, K, 1, 1)


def _context():
    return MethodContext(num_keypoints=K, input_size=INPUT_WH, heatmap_size=HEATMAP_WH, flip_permutation=None,
                         labelled_joints=torch.tensor([True, True, False]), sigma=1.0,
                         build_network=lambda model=None: Pooled(), load_network=None, seed=5)


def _batches(seed=0):
    generator = torch.Generator().manual_seed(seed)
    points = torch.rand(4, K, 2, generator=generator) * torch.tensor([5.0, 7.0])
    labelled = {"image": torch.rand(4, 3, 32, 24, generator=generator),
                "heatmaps": codec.render_heatmaps(points, (8, 6), 1.0), "target_weight": torch.ones(4, K)}
    return labelled, {"image": torch.rand(4, 3, 32, 24, generator=generator)}


def test_a_new_method_is_its_module_plus_a_registry_line(monkeypatch):
    monkeypatch.setitem(METHODS, "two_views", (TwoViews, TwoViewsConfig))
    monkeypatch.setitem(MethodConfig.variants, "two_views", TwoViewsConfig)
    config = api.load_config(None, ["method.name=two_views", "method.hard.joint_cutout.num_joints=1"])
    assert type(config.method) is TwoViewsConfig
    method = build_method(config.method, _context())
    terms = method.loss_terms(*_batches())
    assert len(terms.unsupervised) == 2 and not torch.equal(terms.unsupervised[0], terms.unsupervised[1])
    logs = method.training_step(*_batches(), step=0).logs
    assert {"loss_unsup_0", "loss_unsup_1", "loss_sup_main"} <= set(logs)


# ----------------------------------------------------------------------------- the loss, independently


def _bilinear(image: np.ndarray, source_to_destination: np.ndarray) -> np.ndarray:
    """(C, H, W) float64 warped by a 2x3 source->destination affine; zeros outside (pixel centres at integers)."""
    height, width = image.shape[-2:]
    inverse = np.linalg.inv(np.vstack([source_to_destination, [0.0, 0.0, 1.0]]))[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    sx = inverse[0, 0] * xs + inverse[0, 1] * ys + inverse[0, 2]
    sy = inverse[1, 0] * xs + inverse[1, 1] * ys + inverse[1, 2]
    x0, y0 = np.floor(sx).astype(int), np.floor(sy).astype(int)
    out = np.zeros_like(image)
    for dx in (0, 1):
        for dy in (0, 1):
            xi, yi = x0 + dx, y0 + dy
            weight = (1 - np.abs(sx - xi)) * (1 - np.abs(sy - yi))
            inside = (xi >= 0) & (xi < width) & (yi >= 0) & (yi < height)
            out += np.where(inside, weight, 0.0) * image[:, yi.clip(0, height - 1), xi.clip(0, width - 1)]
    return out


def _pooled64(network: Pooled, images: np.ndarray) -> np.ndarray:
    n, _, h, w = images.shape
    pooled = images[:, :1].reshape(n, 1, h // 4, 4, w // 4, 4).mean(axis=(3, 5))
    return np.repeat(network.a.item() * pooled + network.b.item(), K, axis=1)


def test_single_loss_equals_an_independent_float64_computation(monkeypatch):
    method = build_method(method_config("single", rampup=(0, 4)), _context())
    seen = []
    build = method.hard_views.build
    monkeypatch.setattr(method.hard_views, "build", lambda *args: seen.extend(build(*args)) or seen[-1:])
    labelled, unlabelled = _batches()
    loss = method.training_step(labelled, unlabelled, step=1).loss

    network, joint_weight = method.networks["main"], np.array([1.0, 1.0, 0.0])
    predicted = _pooled64(network, labelled["image"].double().numpy())
    loss_sup = 0.5 * np.mean(labelled["target_weight"].numpy()[:, :, None, None]
                             * (predicted - labelled["heatmaps"].double().numpy()) ** 2)
    to_heatmap = np.array([[0.25, 0.0, 0.5 / 4 - 0.5], [0.0, 0.25, 0.5 / 4 - 0.5], [0.0, 0.0, 1.0]])
    squared = []
    for image, easy_to_hard in zip(unlabelled["image"].double().numpy(), seen[0].easy_to_hard.double().numpy()):
        hard_image = _bilinear(image, easy_to_hard)
        heatmap_affine = (to_heatmap @ np.vstack([easy_to_hard, [0, 0, 1]]) @ np.linalg.inv(to_heatmap))[:2]
        target = _bilinear(_pooled64(network, image[None])[0], heatmap_affine)
        in_view = _bilinear(np.ones((1, 8, 6)), heatmap_affine) > 0.999
        student = _pooled64(network, hard_image[None])[0]
        squared.append(joint_weight[:, None, None] * in_view * (student - target) ** 2)
    loss_unsup = 0.5 * np.mean(squared)
    assert loss_unsup > 1e-4                               # the views differ: the term is not trivially 0
    assert float(loss) == pytest.approx(loss_sup + 0.25 * loss_unsup, rel=1e-5)


def test_a_pseudopose_config_without_its_teacher_is_refused_when_loaded():
    with pytest.raises(ConfigError, match="method.teacher_checkpoint must be the checkpoint of a trained"):
        api.load_config(None, ["method.name=pseudopose"])
