"""Pose HRNet (Sun et al., 2019) W32 / W48 with the official `pose_hrnet` state-dict names.

Layout: a stride-4 stem (`conv1, bn1, conv2, bn2`), `layer1` (4 Bottlenecks of 64), then three
stages of parallel branches at strides 4, 8, 16, 32 with widths (W, 2W, 4W, 8W). `transitionN`
adapts the previous stage's branches (and spawns a new, half-resolution one); each stage is a
sequence of `HighResolutionModule`s: 4 BasicBlocks per branch (`branches`) followed by an
exchange between all branches (`fuse_layers`). The last module keeps only the stride-4 output,
which `final_layer` (1x1 conv) turns into heatmaps.
"""

from __future__ import annotations

from torch import Tensor, nn

from .common import check_input_size, init_pose_head
from .resnet import BasicBlock, Bottleneck, conv1x1, conv3x3, make_layer

# (modules, branches) of stages 2-4; every branch has 4 BasicBlocks.
STAGE_LAYOUT = ((1, 2), (4, 3), (3, 4))
BLOCKS_PER_BRANCH = 4
HRNET_BACKBONE_PREFIXES = ("conv1", "bn1", "conv2", "bn2", "layer1", "transition1", "stage2",
                           "transition2", "stage3", "transition3", "stage4")


def conv_bn(in_channels: int, out_channels: int, stride: int, relu: bool) -> nn.Sequential:
    """3x3 conv -> BN (-> ReLU): the unit of the transitions and downward fuse paths."""
    layers: list[nn.Module] = [conv3x3(in_channels, out_channels, stride),
                               nn.BatchNorm2d(out_channels)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def fuse_path(channels: list[int], source: int, target: int) -> nn.Module | None:
    """Map branch `source`'s features to branch `target`'s resolution and width.

    Up (coarser source): 1x1 conv + BN + nearest upsampling. Down (finer source): one strided
    3x3 conv per halving, keeping the source width until the last one. Same branch: identity,
    stored as None so the official indices (`fuse_layers.i.j`) stay in place.
    """
    if source == target:
        return None
    if source > target:
        return nn.Sequential(conv1x1(channels[source], channels[target]),
                             nn.BatchNorm2d(channels[target]),
                             nn.Upsample(scale_factor=2 ** (source - target), mode="nearest"))
    halvings = target - source
    return nn.Sequential(*[
        conv_bn(channels[source], channels[target] if step == halvings - 1 else channels[source],
                stride=2, relu=step < halvings - 1)
        for step in range(halvings)])


class HighResolutionModule(nn.Module):
    """Parallel residual branches, then every output branch sums all (resampled) branches."""

    def __init__(self, channels: list[int], multi_scale_output: bool = True) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            make_layer(BasicBlock, width, width, BLOCKS_PER_BRANCH) for width in channels)
        outputs = len(channels) if multi_scale_output else 1
        self.fuse_layers = nn.ModuleList(
            nn.ModuleList(fuse_path(channels, source, target) for source in range(len(channels)))
            for target in range(outputs))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, features: list[Tensor]) -> list[Tensor]:
        features = [branch(x) for branch, x in zip(self.branches, features)]
        fused = []
        for paths in self.fuse_layers:
            total = sum(x if path is None else path(x) for path, x in zip(paths, features))
            fused.append(self.relu(total))
        return fused


def transition(previous: list[int], current: list[int]) -> nn.ModuleList:
    """Adapt existing branches whose width changes; grow new ones from the coarsest branch."""
    layers: list[nn.Module | None] = []
    for index, width in enumerate(current):
        if index < len(previous):
            same = width == previous[index]
            layers.append(None if same else conv_bn(previous[index], width, stride=1, relu=True))
        else:
            extra = index + 1 - len(previous)
            layers.append(nn.Sequential(*[
                conv_bn(previous[-1], width if step == extra - 1 else previous[-1], 2, relu=True)
                for step in range(extra)]))
    return nn.ModuleList(layers)


def apply_transition(layers: nn.ModuleList, features: list[Tensor]) -> list[Tensor]:
    outputs = []
    for index, layer in enumerate(layers):
        source = features[index] if index < len(features) else features[-1]
        outputs.append(source if layer is None else layer(source))
    return outputs


def make_stage(channels: list[int], num_modules: int, multi_scale_output: bool) -> nn.Sequential:
    """`num_modules` modules; only the last one may drop all but the highest-resolution output."""
    return nn.Sequential(*[
        HighResolutionModule(channels, multi_scale_output or index < num_modules - 1)
        for index in range(num_modules)])


class PoseHRNet(nn.Module):
    """images (N, 3, H, W) -> heatmaps (N, K, H/4, W/4); H and W must be multiples of 32."""

    input_multiple = 32
    backbone_prefixes = HRNET_BACKBONE_PREFIXES
    final_layer_name = "final_layer"

    def __init__(self, num_keypoints: int, width: int = 32) -> None:
        super().__init__()
        self.width = width
        self.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.conv2 = nn.Conv2d(64, 64, kernel_size=3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = make_layer(Bottleneck, 64, 64, 4)
        previous = [64 * Bottleneck.expansion]
        for stage, (num_modules, num_branches) in enumerate(STAGE_LAYOUT, start=2):
            channels = [width * 2 ** branch for branch in range(num_branches)]
            last_stage = stage == 1 + len(STAGE_LAYOUT)
            self.add_module(f"transition{stage - 1}", transition(previous, channels))
            self.add_module(f"stage{stage}", make_stage(channels, num_modules, not last_stage))
            previous = channels
        self.final_layer = nn.Conv2d(width, num_keypoints, kernel_size=1)
        init_pose_head(self)

    def forward(self, images: Tensor) -> Tensor:
        check_input_size(images, self.input_multiple, f"hrnet_w{self.width}")
        features = self.relu(self.bn1(self.conv1(images)))
        features = self.layer1(self.relu(self.bn2(self.conv2(features))))
        branches = [features]
        for stage in range(2, 2 + len(STAGE_LAYOUT)):
            branches = apply_transition(getattr(self, f"transition{stage - 1}"), branches)
            branches = getattr(self, f"stage{stage}")(branches)
        return self.final_layer(branches[0])
