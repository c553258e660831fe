"""Model names -> constructors.

Each is called as `constructor(num_keypoints, **options)` and returns a module mapping
images (N, 3, H, W) to heatmaps (N, K, H/4, W/4).
"""

from __future__ import annotations

import difflib
import inspect
from functools import partial
from typing import Any, Callable

from torch import nn

from .hrnet import PoseHRNet
from .simple_baseline import SimpleBaseline
from .tiny import TinyPoseNet

MODELS: dict[str, Callable[..., nn.Module]] = {
    **{f"simplebaseline_resnet{depth}": partial(SimpleBaseline, depth=depth)
       for depth in (18, 34, 50, 101, 152)},
    "hrnet_w32": partial(PoseHRNet, width=32),
    "hrnet_w48": partial(PoseHRNet, width=48),
    "tiny": TinyPoseNet,
}


class UnknownModelError(ValueError):
    """A model name or option that the registry does not know."""


def _options_of(constructor: Callable[..., nn.Module]) -> list[str]:
    """The keyword options a constructor accepts beyond `num_keypoints` (minus fixed ones)."""
    fixed = constructor.keywords if isinstance(constructor, partial) else {}
    names = list(inspect.signature(constructor).parameters)
    return [name for name in names if name != "num_keypoints" and name not in fixed]


def build_model(name: str, num_keypoints: int, **options: Any) -> nn.Module:
    """Build the registered model `name` with `num_keypoints` heatmap channels."""
    if name not in MODELS:
        close = difflib.get_close_matches(name, MODELS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UnknownModelError(f"unknown model {name!r}.{hint} Known models: "
                                f"{', '.join(sorted(MODELS))}")
    if isinstance(num_keypoints, bool) or not isinstance(num_keypoints, int) or num_keypoints < 1:
        raise ValueError(f"model {name!r}: num_keypoints must be a positive int, "
                         f"got {num_keypoints!r}")
    constructor = MODELS[name]
    allowed = _options_of(constructor)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise UnknownModelError(f"model {name!r} has no option(s) {', '.join(unknown)}; "
                                f"its options are: {', '.join(allowed) or '(none)'}")
    return constructor(num_keypoints, **options)
