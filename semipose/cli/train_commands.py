"""`semipose train` and `semipose eval`."""
from __future__ import annotations

from semipose.cli.command import Command

OVERRIDES_HELP = "overrides as key.sub=value, e.g. train.lr=5e-4 data.num_labelled=1000 method.name=dual"


def _add_train_arguments(parser):
    parser.add_argument("config", help="a YAML config (see configs/)")
    parser.add_argument("overrides", nargs="*", help=OVERRIDES_HELP)
    parser.add_argument("--resume", metavar="CHECKPOINT", help="continue from this checkpoint")


def _run_train(args):
    from semipose.api import load_config, train
    overrides = list(args.overrides) + ([f"train.resume={args.resume}"] if args.resume else [])
    train(load_config(args.config, overrides))


def _add_eval_arguments(parser):
    parser.add_argument("config", help="the YAML config the model was trained with (or its resolved config.yaml)")
    parser.add_argument("overrides", nargs="*", help="checkpoint=PATH (required) and " + OVERRIDES_HELP)
    parser.add_argument("--out", help="write the metrics here as JSON")
    parser.add_argument("--device", help="auto, cpu, cuda, cuda:N (default: the config's train.device)")
    parser.add_argument("--multiview", metavar="FRAMES.json",
                        help="a multi-view set (semipose.data.multiview): evaluate on its images, add JDR and MPJPE")
    parser.add_argument("--ransac-px", type=float, default=None,
                        help="--multiview: triangulate with RANSAC over views at this reprojection threshold (px)")
    boxes = parser.add_mutually_exclusive_group()
    boxes.add_argument("--detections", metavar="BOXES.json",
                       help="person boxes (COCO results) for the validation images instead of ground-truth boxes")
    boxes.add_argument("--detector", metavar="MODEL.onnx", help="find the validation people with this ONNX detector")


def _run_eval(args):
    from semipose.api import evaluate, load_config
    checkpoint = [o.split("=", 1)[1] for o in args.overrides if o.startswith("checkpoint=")]
    if not checkpoint:
        raise ValueError("semipose eval needs checkpoint=PATH")
    overrides = [o for o in args.overrides if not o.startswith("checkpoint=")]
    overrides += [f"data.val.detections={args.detections}"] if args.detections else []
    overrides += [f"data.val.detector.model={args.detector}"] if args.detector else []
    multiview = None
    if args.multiview:
        from semipose.data.multiview import load_multiview
        multiview = load_multiview(args.multiview)
        overrides += [f"data.val.json={multiview.coco_json}", f"data.val.images={multiview.image_dir}"]
    evaluate(load_config(args.config, overrides), checkpoint[0], out_json=args.out, print_table=True,
             device=args.device, multiview=multiview, ransac_px=args.ransac_px)


TRAIN = Command(
    "train", "train a pose model (supervised or semi-supervised)",
    "Train with a YAML config; any field can be overridden on the command line.\n\n"
    "examples:\n  semipose train configs/cpu/synth_supervised.yaml\n"
    "  semipose train configs/cpu/synth_supervised.yaml method.name=dual train.iterations=2000 train.run_dir=runs/dual\n"
    "  semipose train configs/coco/r18_1k_dual_jc.yaml --resume runs/coco_r18_1k_dual_jc/last.pt train.lr=5e-4",
    _add_train_arguments, _run_train)

EVAL = Command(
    "eval", "evaluate a checkpoint on the validation set",
    "examples:\n  semipose eval configs/cpu/synth_supervised.yaml checkpoint=runs/synth_supervised/best.pt\n"
    "  semipose eval configs/coco/r18_1k_supervised.yaml checkpoint=best.pt eval.flip_test=true --out metrics.json\n"
    "  semipose eval RUN/config.yaml checkpoint=RUN/best.pt --detections person_dets.json --device cuda\n"
    "  semipose eval RUN/config.yaml checkpoint=RUN/best.pt --multiview data/studio/frames.json",
    _add_eval_arguments, _run_eval)
