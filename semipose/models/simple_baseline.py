"""SimpleBaseline (Xiao et al., 2018): a ResNet, three 4x4 deconvolutions, a 1x1 heatmap conv.

State-dict names follow the published checkpoints: the ResNet at top level (`conv1.weight`,
`layer1.0.conv1.weight`, ...), the head as `deconv_layers.{0,3,6}` (ConvTranspose2d) with
BatchNorm at `deconv_layers.{1,4,7}`, and `final_layer` (1x1 conv with bias).
"""

from __future__ import annotations

from torch import Tensor, nn

from .common import check_input_size, init_pose_head
from .resnet import ResNet


def deconv_stack(in_channels: int, channels: int, num_layers: int) -> nn.Sequential:
    """`num_layers` x (ConvTranspose2d 4x4 stride 2 -> BN -> ReLU): each doubles H and W."""
    layers: list[nn.Module] = []
    for _ in range(num_layers):
        layers += [
            nn.ConvTranspose2d(in_channels, channels, kernel_size=4, stride=2, padding=1,
                               output_padding=0, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
        ]
        in_channels = channels
    return nn.Sequential(*layers)


class SimpleBaseline(ResNet):
    """images (N, 3, H, W) -> heatmaps (N, K, H/4, W/4); H and W must be multiples of 32.

    Subclasses `ResNet` so the backbone's parameters sit at the top level of the state dict,
    exactly where the published SimpleBaseline checkpoints put them.
    """

    input_multiple = 32
    final_layer_name = "final_layer"

    def __init__(self, num_keypoints: int, depth: int = 50, deconv_channels: int = 256) -> None:
        super().__init__(depth)  # kaiming init for the backbone
        self.deconv_layers = deconv_stack(self.out_channels, deconv_channels, num_layers=3)
        self.final_layer = nn.Conv2d(deconv_channels, num_keypoints, kernel_size=1)
        init_pose_head(self.deconv_layers)
        init_pose_head(self.final_layer)

    def forward(self, images: Tensor) -> Tensor:
        check_input_size(images, self.input_multiple, f"simplebaseline_resnet{self.depth}")
        return self.final_layer(self.deconv_layers(self.forward_features(images)))

