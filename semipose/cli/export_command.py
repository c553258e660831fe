"""`semipose export`: a checkpoint's network as an ONNX file, checked against torch with onnxruntime."""
from __future__ import annotations

from pathlib import Path

from semipose.cli.command import Command

RANDOM_CHECK_CROPS = 2


def _add_arguments(parser):
    parser.add_argument("config", help="the config the checkpoint was trained with")
    parser.add_argument("overrides", nargs="*", help="checkpoint=PATH (required) and key.sub=value overrides")
    parser.add_argument("--format", choices=["onnx"], default="onnx", help="output format (onnx)")
    parser.add_argument("--out", help="the file to write (default: the checkpoint's name with .onnx)")
    parser.add_argument("--network", help="which network of a checkpoint with several (dual: a, b or mean; default mean)")
    parser.add_argument("--dynamic-batch", action="store_true", help="any batch size N (default: N fixed to 1)")
    parser.add_argument("--opset", type=int, default=None, help="ONNX opset (default 17)")
    parser.add_argument("--check-images", metavar="DIR|FILE",
                        help="also check parity on these images (each whole image as one crop)")


def _chosen_network(networks: dict, name):
    """(name, network): the one asked for, else the average of several, else the only one."""
    if name is None:
        name = "mean" if "mean" in networks else next(iter(networks))
    if name not in networks:
        raise ValueError(f"--network {name}: this checkpoint has {', '.join(networks)}")
    return name, networks[name]


def _check_crops(check_images, input_wh):
    """float32 (N, 3, H, W) 0..255 crops: random ones, plus each given image warped whole to the input."""
    import numpy as np
    crops = [np.random.default_rng(0).uniform(0, 255, (RANDOM_CHECK_CROPS, 3, input_wh[1], input_wh[0]))]
    if check_images:
        from semipose import geometry
        from semipose.data.coco_format import image_files
        from semipose.data.images import read_image_rgb
        from semipose.data.topdown import crop_person
        for path in image_files(check_images):
            image = read_image_rgb(path)
            center, size = geometry.box_to_center_size([0, 0, image.shape[1], image.shape[0]],
                                                       input_wh[0] / input_wh[1], 1.0)
            crops.append(crop_person(image, center, size, 0.0, input_wh)[0].numpy()[None])
    return np.concatenate(crops).astype(np.float32)


def _max_difference(path, network, crops, dynamic_batch: bool) -> float:
    """The largest onnxruntime-vs-torch heatmap difference over the crops (one at a time for a fixed batch of 1)."""
    from semipose.models.onnx_export import check_parity
    if dynamic_batch:
        return check_parity(path, network, crops)
    return max(check_parity(path, network, crop[None]) for crop in crops)


def _run(args):
    from semipose.api import checkpoint_networks, load_config
    from semipose.models.onnx_export import DEFAULT_OPSET, PARITY_TOLERANCE, export_onnx
    checkpoint = [o.split("=", 1)[1] for o in args.overrides if o.startswith("checkpoint=")]
    if not checkpoint:
        raise ValueError("semipose export needs checkpoint=PATH")
    config = load_config(args.config, [o for o in args.overrides if not o.startswith("checkpoint=")])
    _, networks, _ = checkpoint_networks(config, checkpoint[0])
    name, network = _chosen_network(networks, args.network)
    input_wh = tuple(config.data.input_size)
    out = Path(args.out) if args.out else Path(checkpoint[0]).with_suffix(".onnx")
    export_onnx(network, out, (input_wh[1], input_wh[0]), dynamic_batch=args.dynamic_batch,
                opset=args.opset or DEFAULT_OPSET)
    crops = _check_crops(args.check_images, input_wh)
    difference = _max_difference(out, network, crops, args.dynamic_batch)
    batch = "N" if args.dynamic_batch else "1"
    print(f"wrote {out}: network {name}, input images float32 ({batch}, 3, {input_wh[1]}, {input_wh[0]}) RGB 0..255, "
          f"output heatmaps; onnxruntime vs torch on {len(crops)} crops: max abs heatmap diff {difference:.2e} "
          f"(limit {PARITY_TOLERANCE:g}). Decoding the peaks stays outside the graph: see docs/export.md")


EXPORT = Command(
    "export", "export a checkpoint's network to ONNX (checked against torch with onnxruntime)",
    "The graph takes RGB crops 0..255 (normalisation inside) and returns heatmaps; decoding them\n"
    "(argmax + quarter offset, back through the crop's affine) stays outside: docs/export.md.\n\n"
    "examples:\n  semipose export RUN/config.yaml checkpoint=RUN/best.pt --format onnx --dynamic-batch\n"
    "  semipose export RUN/config.yaml checkpoint=RUN/best.pt --network a --out pose_a.onnx\n"
    "  semipose export configs/coco/r18_1k_supervised.yaml checkpoint=best.pt --check-images val2017_few/",
    _add_arguments, _run)
