"""Models: shapes over the whole registry, published sizes, checkpoint names and safe loading."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from semipose.models import (MODELS, CheckpointError, CheckpointMismatchError, InputSizeError,
                             build_model, count_macs, load_weights, model_table)

SMALL_MODELS = ("tiny", "simplebaseline_resnet18", "hrnet_w32")  # cheap enough for backward
K = 5


def small_input_hw(model: nn.Module) -> tuple[int, int]:
    multiple = model.input_multiple
    return (2 * multiple, multiple) if multiple >= 32 else (64, 48)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_forward_gives_stride4_heatmaps_and_small_models_backpropagate(name):
    torch.manual_seed(0)
    model = build_model(name, K)
    height, width = small_input_hw(model)
    images = torch.randn(2, 3, height, width)
    if name not in SMALL_MODELS:
        with torch.no_grad():
            assert model(images).shape == (2, K, height // 4, width // 4)
        return
    heatmaps = model(images)
    assert heatmaps.shape == (2, K, height // 4, width // 4)
    heatmaps.square().mean().backward()
    unused = [n for n, p in model.named_parameters() if p.grad is None]
    assert not unused, f"parameters outside the graph: {unused[:5]}"


@pytest.mark.parametrize("width", [16, 32])
@pytest.mark.parametrize("height_width", [(64, 48), (128, 96)])
def test_tiny_works_at_demo_sizes(width, height_width):
    model = build_model("tiny", 17, width=width)
    assert 0.1e6 < sum(p.numel() for p in model.parameters()) < 2e6
    assert model(torch.zeros(2, 3, *height_width)).shape == (2, 17, *[s // 4 for s in height_width])


def test_tiny_fits_a_fixed_batch_quickly():
    torch.manual_seed(0)
    model = build_model("tiny", 3)
    images = torch.randn(8, 3, 64, 48)
    targets = torch.zeros(8, 3, 16, 12)
    targets[:, 0, 4, 3] = targets[:, 1, 10, 8] = targets[:, 2, 12, 2] = 1.0
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(40):
        loss = (model(images) - targets).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]


def test_input_size_that_is_not_a_multiple_is_refused_clearly():
    with pytest.raises(InputSizeError, match="multiples of 16"):
        build_model("tiny", K)(torch.zeros(1, 3, 60, 48))


def test_unknown_model_and_option_are_clear_errors():
    with pytest.raises(ValueError, match="Did you mean 'hrnet_w32'.*tiny"):
        build_model("hrnet_w31", K)
    with pytest.raises(ValueError, match="no option.*widht.*width"):
        build_model("tiny", K, widht=8)


# --- sizes -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, input_hw, params_m, gflops", [
    ("simplebaseline_resnet50", (256, 192), 34.0, 8.9),    # SimpleBaseline / HRNet papers
    ("simplebaseline_resnet152", (256, 192), 68.6, 15.7),
    ("hrnet_w32", (256, 192), 28.5, 7.1),
    ("hrnet_w48", (384, 288), 63.6, 32.9),
])
def test_published_parameter_and_gflops_counts(name, input_hw, params_m, gflops):
    (row,) = model_table([name], input_hw, num_keypoints=17)
    assert abs(row["params_m"] - params_m) <= 0.1
    assert abs(row["gflops"] - gflops) <= 0.15
    assert row["heatmap_hw"] == (input_hw[0] // 4, input_hw[1] // 4)


def test_macs_of_hand_built_layers():
    # conv 3->8 3x3 on 10x12: 8*3*9 weights x 120 positions; the deconv 8->2 4x4 stride 2
    # doubles to 20x24: 8*2*16 weights x 480 positions (the papers' convention); linear 10->4.
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ConvTranspose2d(8, 2, 4, 2, 1),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 4))
    assert count_macs(model, (10, 12)) == 8 * 3 * 9 * 120 + 8 * 2 * 16 * 480 + 2 * 4


# --- checkpoint names ------------------------------------------------------------------------

def torchvision_resnet_state_dict(depth: int) -> dict[str, torch.Tensor]:
    """Names and shapes of torchvision's `resnet{depth}` ImageNet file, written out by hand
    from the architecture (not from our model), filled with distinct random values."""
    bottleneck = depth >= 50
    blocks = {18: (2, 2, 2, 2), 50: (3, 4, 6, 3)}[depth]
    shapes: dict[str, tuple[int, ...]] = {"conv1.weight": (64, 3, 7, 7)}

    def batch_norm(prefix, channels):
        for suffix in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{prefix}.{suffix}"] = (channels,)
        shapes[f"{prefix}.num_batches_tracked"] = ()

    batch_norm("bn1", 64)
    in_channels = 64
    for stage, (planes, count) in enumerate(zip((64, 128, 256, 512), blocks), start=1):
        out_channels = planes * 4 if bottleneck else planes
        for index in range(count):
            block = f"layer{stage}.{index}"
            if bottleneck:
                convs = [(planes, in_channels, 1), (planes, planes, 3), (out_channels, planes, 1)]
            else:
                convs = [(planes, in_channels, 3), (planes, planes, 3)]
            for number, (cout, cin, kernel) in enumerate(convs, start=1):
                shapes[f"{block}.conv{number}.weight"] = (cout, cin, kernel, kernel)
                batch_norm(f"{block}.bn{number}", cout)
            if index == 0 and (stage > 1 or in_channels != out_channels):
                shapes[f"{block}.downsample.0.weight"] = (out_channels, in_channels, 1, 1)
                batch_norm(f"{block}.downsample.1", out_channels)
            in_channels = out_channels
    shapes["fc.weight"], shapes["fc.bias"] = (1000, in_channels), (1000,)
    generator = torch.Generator().manual_seed(depth)
    return {key: (torch.tensor(7) if not shape else torch.randn(shape, generator=generator))
            for key, shape in shapes.items()}


@pytest.mark.parametrize("depth", [18, 50])
def test_torchvision_imagenet_file_loads_into_simplebaseline_backbone(depth, tmp_path):
    imagenet = torchvision_resnet_state_dict(depth)
    path = tmp_path / f"resnet{depth}-imagenet.pth"
    torch.save(imagenet, path)
    model = build_model(f"simplebaseline_resnet{depth}", K)
    head_before = model.final_layer.weight.clone()
    report = load_weights(model, path, mode="backbone")
    assert sorted(report.unexpected) == ["fc.bias", "fc.weight"]
    assert not report.missing and not report.mismatched
    state = model.state_dict()
    for key, value in imagenet.items():
        if not key.startswith("fc."):
            assert torch.equal(state[key], value), key
    assert torch.equal(model.final_layer.weight, head_before)


def test_backbone_file_missing_a_key_is_refused():
    imagenet = torchvision_resnet_state_dict(18)
    del imagenet["layer3.0.downsample.0.weight"]
    with pytest.raises(CheckpointMismatchError, match="layer3.0.downsample.0.weight"):
        load_weights(build_model("simplebaseline_resnet18", K), imagenet, mode="backbone")


def test_hrnet_has_the_official_pose_hrnet_names():
    with torch.device("meta"):
        state = build_model("hrnet_w32", 17).state_dict()
    expected_shapes = {
        "conv2.weight": (64, 64, 3, 3),
        "layer1.0.downsample.0.weight": (256, 64, 1, 1),
        "transition1.0.0.weight": (32, 256, 3, 3),
        "transition1.1.0.0.weight": (64, 256, 3, 3),
        "stage2.0.branches.1.3.conv2.weight": (64, 64, 3, 3),
        "stage2.0.fuse_layers.1.0.0.0.weight": (64, 32, 3, 3),
        "transition3.3.0.0.weight": (256, 128, 3, 3),
        "stage3.3.fuse_layers.2.0.1.0.weight": (128, 32, 3, 3),
        "stage4.1.fuse_layers.3.0.2.0.weight": (256, 32, 3, 3),
        "stage4.2.fuse_layers.0.3.0.weight": (32, 256, 1, 1),
        "final_layer.weight": (17, 32, 1, 1),
    }
    for key, shape in expected_shapes.items():
        assert tuple(state[key].shape) == shape, key
    assert not any(key.startswith("stage4.2.fuse_layers.1") for key in state)
    assert not any(key.startswith(("transition2.0", "transition3.1")) for key in state)


# --- strict / partial loading ----------------------------------------------------------------

def saved_tiny(tmp_path: Path, num_keypoints: int = K, edit=None, name="tiny.pth") -> Path:
    torch.manual_seed(1)
    state = build_model("tiny", num_keypoints).state_dict()
    if edit:
        edit(state)
    path = tmp_path / name
    torch.save(state, path)
    return path


def test_strict_round_trip_through_wrapped_data_parallel_checkpoint(tmp_path):
    torch.manual_seed(1)
    source = build_model("tiny", K).eval()
    wrapped = {"epoch": 3, "state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}}
    torch.save(wrapped, tmp_path / "wrapped.pth")
    target = build_model("tiny", K).eval()
    report = load_weights(target, tmp_path / "wrapped.pth")
    assert not report.skipped
    images = torch.randn(1, 3, 64, 48)
    assert torch.equal(source(images), target(images))


def test_semipose_training_checkpoint_fine_tunes_from_its_first_network(tmp_path):
    """`model.checkpoint=runs/x/best.pt` of a dual run starts from network A, e.g. synthetic
    pre-training for a dataset with other keypoints (head mismatch allowed)."""
    torch.manual_seed(2)
    network_a, network_b = build_model("tiny", 17).eval(), build_model("tiny", 17).eval()
    method_state = {f"networks.{name}.{key}": value for name, network in (("a", network_a), ("b", network_b))
                    for key, value in network.state_dict().items()}
    torch.save({"iteration": 10, "method": method_state, "config": {"model": {"name": "tiny"}}},
               tmp_path / "dual.pt")
    model = build_model("tiny", K)
    report = load_weights(model, tmp_path / "dual.pt", allow_head_mismatch=True)
    assert sorted(report.mismatched) == ["final_layer.bias", "final_layer.weight"]
    assert torch.equal(model.stage3[1].conv2.weight, network_a.stage3[1].conv2.weight)
    assert not torch.equal(model.stage3[1].conv2.weight, network_b.stage3[1].conv2.weight)


@pytest.mark.parametrize("edit, key", [
    (lambda state: state.pop("stage2.1.conv1.weight"), "stage2.1.conv1.weight"),
    (lambda state: state.update({"extra_head.weight": torch.zeros(3)}), "extra_head.weight"),
])
def test_strict_load_names_the_missing_or_unexpected_key(tmp_path, edit, key):
    path = saved_tiny(tmp_path, edit=edit)
    with pytest.raises(CheckpointMismatchError) as error:
        load_weights(build_model("tiny", K), path, mode="strict")
    assert key in str(error.value) and str(path) in str(error.value)


def test_other_number_of_keypoints_fails_strict_unless_head_mismatch_allowed(tmp_path):
    path = saved_tiny(tmp_path, num_keypoints=17)
    with pytest.raises(CheckpointMismatchError, match="final_layer.weight"):
        load_weights(build_model("tiny", K), path)
    model = build_model("tiny", K)
    head_before = model.final_layer.weight.clone()
    report = load_weights(model, path, allow_head_mismatch=True)
    assert sorted(report.mismatched) == ["final_layer.bias", "final_layer.weight"]
    assert torch.equal(model.final_layer.weight, head_before)
    assert torch.equal(model.stage3[1].conv2.weight, torch.load(path, weights_only=True)["stage3.1.conv2.weight"])


def test_head_mismatch_allowance_does_not_cover_other_layers(tmp_path):
    def widen(state):
        state["smooth.0.weight"] = torch.zeros(40, 32, 3, 3)
    path = saved_tiny(tmp_path, edit=widen)
    with pytest.raises(CheckpointMismatchError, match="smooth.0.weight"):
        load_weights(build_model("tiny", K), path, allow_head_mismatch=True)


def test_partial_load_reports_what_it_skipped(tmp_path):
    def damage(state):
        state.pop("stem.0.0.weight")
        state["leftover.bias"] = torch.zeros(2)
    path = saved_tiny(tmp_path, num_keypoints=17, edit=damage)
    model = build_model("tiny", K)
    report = load_weights(model, path, mode="partial")
    assert report.missing == ["stem.0.0.weight"]
    assert report.unexpected == ["leftover.bias"]
    assert report.mismatched["final_layer.weight"] == ((17, 32, 1, 1), (K, 32, 1, 1))
    assert "stem.0.0.weight" in report.summary() and "leftover.bias" in report.summary()
    assert torch.equal(model.stage1[0].conv1.weight, torch.load(path, weights_only=True)["stage1.0.conv1.weight"])


# --- unsafe / broken files -------------------------------------------------------------------

class CreatesMarkerFile:
    """Unpickling this would call open(marker, "w"): proof that arbitrary code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_pickled_object_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.pth"
    torch.save({"conv1.weight": torch.zeros(1), "payload": CreatesMarkerFile(marker)}, path)
    with pytest.raises(CheckpointError, match="evil.pth"):
        load_weights(build_model("tiny", K), path)
    assert not marker.exists()


def test_truncated_or_absent_file_is_a_checkpoint_error(tmp_path):
    path = saved_tiny(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="tiny.pth"):
        load_weights(build_model("tiny", K), path)
    with pytest.raises(CheckpointError, match="absent.pth"):
        load_weights(build_model("tiny", K), tmp_path / "absent.pth")
