"""`semipose models`: the registered models with parameters and GFLOPs."""
from __future__ import annotations

from semipose.cli.command import Command


def _add_arguments(parser):
    parser.add_argument("names", nargs="*", help="models to list (default: all registered)")
    parser.add_argument("--input", default="256x192", help="input size HxW for GFLOPs (default 256x192)")
    parser.add_argument("--keypoints", type=int, default=17, help="number of heatmaps K (default 17)")


def _run(args):
    from semipose.evaluation.report import format_table
    from semipose.models import MODELS
    from semipose.models.flops import model_table
    try:
        height, width = (int(v) for v in args.input.lower().split("x"))
    except ValueError:
        raise ValueError(f"--input must look like 256x192 (height x width), got {args.input!r}") from None
    rows = model_table(args.names or list(MODELS), (height, width), num_keypoints=args.keypoints)
    print(format_table(rows, title=f"models at {height}x{width}, K={args.keypoints}"))


MODELS = Command(
    "models", "list models with parameter counts and GFLOPs",
    "examples:\n  semipose models\n  semipose models hrnet_w48 --input 384x288\n"
    "  semipose models simplebaseline_resnet50 tiny --input 128x96",
    _add_arguments, _run)
