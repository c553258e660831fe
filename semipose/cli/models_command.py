"""`semipose models`: the registered models with parameters and GFLOPs."""
from __future__ import annotations

import argparse

from semipose.cli.command import Command


def _add_arguments(parser):
    parser.add_argument("names", nargs="*", help="models to list (default: all registered)")
    parser.add_argument("--input-size", nargs=2, type=int, default=[192, 256], metavar=("W", "H"),
                        help="input width and height for GFLOPs, in the order of data.input_size (default 192 256)")
    parser.add_argument("--input", help=argparse.SUPPRESS)  # the old HxW spelling: refused with a pointer
    parser.add_argument("--keypoints", type=int, default=17, help="number of heatmaps K (default 17)")


def _run(args):
    from semipose.evaluation.report import format_table
    from semipose.models import MODELS
    from semipose.models.flops import model_table
    if args.input:
        raise ValueError(f"--input {args.input}: give --input-size W H, width first as in data.input_size "
                         "(256x192 is --input-size 192 256)")
    width, height = args.input_size
    rows = [_width_first(row) for row in model_table(args.names or list(MODELS), (height, width),
                                                     num_keypoints=args.keypoints)]
    print(format_table(rows, title=f"models at data.input_size=[{width}, {height}] (W, H), K={args.keypoints}"))


def _width_first(row: dict) -> dict:
    """model_table's (H, W) sizes shown as [W, H], the order of data.input_size."""
    (height, width), (heat_h, heat_w) = row.pop("input_hw"), row.pop("heatmap_hw")
    return {"name": row.pop("name"), "input_size": [width, height], "heatmap_size": [heat_w, heat_h], **row}


MODELS = Command(
    "models", "list models with parameter counts and GFLOPs",
    "examples:\n  semipose models\n  semipose models hrnet_w48 --input-size 288 384\n"
    "  semipose models simplebaseline_resnet50 tiny --input-size 96 128",
    _add_arguments, _run)
