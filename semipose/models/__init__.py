"""Top-down heatmap pose models (images (N, 3, H, W) -> heatmaps (N, K, H/4, W/4)),
their name registry, checkpoint-compatible loading and parameter / GFLOPs counts."""

from .common import InputSizeError
from .flops import count_gflops, count_macs, count_parameters, model_table
from .hrnet import PoseHRNet
from .loading import CheckpointError, CheckpointMismatchError, LoadReport, load_weights
from .registry import MODELS, UnknownModelError, build_model
from .resnet import ResNet
from .simple_baseline import SimpleBaseline
from .tiny import TinyPoseNet

__all__ = [
    "MODELS", "build_model", "UnknownModelError", "InputSizeError",
    "ResNet", "SimpleBaseline", "PoseHRNet", "TinyPoseNet",
    "load_weights", "LoadReport", "CheckpointError", "CheckpointMismatchError",
    "count_parameters", "count_macs", "count_gflops", "model_table",
]
