"""`tiny`: a narrow encoder-decoder pose net for CPU demos and tests (~0.85M params at width 32).

A stride-4 stem, three residual stages at strides 4, 8 and 16 (widths w, 2w, 4w), then two
deconvolutions back to stride 4, each added to the encoder features of the same resolution
(U-Net style skips: at 64x48 inputs the stride-16 map is only 4x3, so fine localisation has to
come from the skips), a 3x3 smoothing conv and the 1x1 `final_layer`.
"""

from __future__ import annotations

from torch import Tensor, nn

from .common import check_input_size
from .resnet import BasicBlock, conv3x3, init_kaiming, make_layer


def conv_bn_relu(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(conv3x3(in_channels, out_channels, stride),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


def upsample_x2(in_channels: int, out_channels: int) -> nn.Sequential:
    """ConvTranspose2d 4x4 stride 2 (exactly doubles H and W) -> BN -> ReLU."""
    return nn.Sequential(
        nn.ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class TinyPoseNet(nn.Module):
    """images (N, 3, H, W) -> heatmaps (N, K, H/4, W/4); H and W must be multiples of 16."""

    input_multiple = 16
    backbone_prefixes = ("stem", "stage1", "stage2", "stage3")
    final_layer_name = "final_layer"

    def __init__(self, num_keypoints: int, width: int = 32) -> None:
        super().__init__()
        if width < 4:
            raise ValueError(f"tiny: width must be at least 4, got {width}")
        self.stem = nn.Sequential(conv_bn_relu(3, width // 2, stride=2),
                                  conv_bn_relu(width // 2, width, stride=2))
        self.stage1 = make_layer(BasicBlock, width, width, 1)
        self.stage2 = make_layer(BasicBlock, width, 2 * width, 2, stride=2)
        self.stage3 = make_layer(BasicBlock, 2 * width, 4 * width, 2, stride=2)
        self.up_to_stride8 = upsample_x2(4 * width, 2 * width)
        self.up_to_stride4 = upsample_x2(2 * width, width)
        self.smooth = conv_bn_relu(width, width)
        self.final_layer = nn.Conv2d(width, num_keypoints, kernel_size=1)
        init_kaiming(self)
        # Flat initial heatmaps, as in the reference heads: a small, stable first MSE loss.
        nn.init.normal_(self.final_layer.weight, std=0.001)
        nn.init.zeros_(self.final_layer.bias)

    def forward(self, images: Tensor) -> Tensor:
        check_input_size(images, self.input_multiple, "tiny")
        stride4 = self.stage1(self.stem(images))
        stride8 = self.stage2(stride4)
        stride16 = self.stage3(stride8)
        decoded = self.up_to_stride8(stride16) + stride8
        decoded = self.up_to_stride4(decoded) + stride4
        return self.final_layer(self.smooth(decoded))
