"""`semipose predict`: images or a video -> COCO results json + skeletons drawn on the pictures."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from semipose.cli.command import Command


def _add_arguments(parser):
    parser.add_argument("config", help="the config the checkpoint was trained with")
    parser.add_argument("overrides", nargs="*", help="checkpoint=PATH (required) and key.sub=value overrides")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--images", help="a folder of images, or one image file")
    source.add_argument("--video", help="a video file (anything OpenCV's FFmpeg reads)")
    boxes = parser.add_argument_group("where the people are (choose one)")
    boxes.add_argument("--detector", metavar="MODEL.onnx", help="an ONNX person detector (YOLOX / RTMDet export)")
    boxes.add_argument("--detector-preset", choices=["yolox", "rtmdet"], default="yolox",
                       help="the detector's input normalisation (default yolox: raw 0..255)")
    boxes.add_argument("--detections", help="person boxes (COCO results format); needs --image-json")
    boxes.add_argument("--image-json", help="COCO json listing the images the detections refer to")
    boxes.add_argument("--whole-image", action="store_true", help="each whole image/frame is one person (crops)")
    parser.add_argument("--score-threshold", type=float, default=None,
                        help="drop person boxes below this score (default: 0.3 for --detector, 0 for --detections)")
    parser.add_argument("--smooth", action="store_true", help="video: One-Euro smoothing of each person's keypoints")
    parser.add_argument("--smooth-min-cutoff", type=float, default=1.0, help="One-Euro min cut-off in Hz (lower: smoother)")
    parser.add_argument("--smooth-beta", type=float, default=0.05, help="One-Euro speed coefficient (higher: less lag)")
    parser.add_argument("--device", help="auto, cpu, cuda, cuda:N (default: the config's train.device)")
    parser.add_argument("--out", default="predictions", help="output folder (results.json, drawn/ or drawn.mp4)")


def _box_source(args) -> str:
    chosen = [name for name, given in (("--detector", args.detector), ("--detections", args.detections),
                                       ("--whole-image", args.whole_image)) if given]
    if len(chosen) > 1:
        raise ValueError(f"choose one source of person boxes, got {' and '.join(chosen)}")
    if not chosen:
        raise ValueError("where are the people? give --detector MODEL.onnx (an ONNX person detector), "
                         "--detections BOXES.json --image-json IMAGES.json, or --whole-image when every "
                         "image is one person's crop")
    if args.video and args.detections:
        raise ValueError("--detections refers to image ids of a COCO json; for --video use --detector or --whole-image")
    return chosen[0]


def _predictor(args):
    from semipose.api import Predictor, load_config
    from semipose.config import DetectorConfig
    checkpoint = [o.split("=", 1)[1] for o in args.overrides if o.startswith("checkpoint=")]
    if not checkpoint:
        raise ValueError("semipose predict needs checkpoint=PATH")
    config = load_config(args.config, [o for o in args.overrides if not o.startswith("checkpoint=")])
    detector = None
    if args.detector:
        threshold = 0.3 if args.score_threshold is None else args.score_threshold
        detector = DetectorConfig(args.detector, args.detector_preset, score_threshold=threshold)
    return Predictor(config, checkpoint[0], device=args.device, detector=detector), config


def _image_records(args, predictor, source: str):
    from semipose.data.coco_format import (image_files, load_coco_json, records_from_detections,
                                           records_from_image_folder)
    from semipose.data.person_detector import records_from_detector
    meta = predictor.meta
    if source == "--detections":
        if not args.image_json:
            raise ValueError("--detections needs --image-json (the COCO json that gives each image id its file)")
        return records_from_detections(args.detections, load_coco_json(args.image_json), args.images,
                                       score_thr=args.score_threshold or 0.0, meta=meta)[0]
    if source == "--detector":
        images = list(enumerate(image_files(args.images), start=1))
        return records_from_detector(images, predictor.detector, meta.num_keypoints)[0]
    return records_from_image_folder(args.images, meta=meta)


def _predict_images(args, predictor, config, source: str, out: Path):
    from semipose.data.images import read_image_rgb
    from semipose.evaluation.inference import to_coco_results
    from semipose.evaluation.oks import rescore
    from semipose.evaluation.report import write_json
    records = _image_records(args, predictor, source)
    predictions = predictor.predict_records(records)
    results = rescore(to_coco_results(predictions, nms_area=config.eval.nms_area),
                     vis_thr=config.eval.keypoint_score_threshold)
    file_names = {record.image_id: record.image_path.name for record in records}
    for result in results:
        result["file_name"] = file_names[result["image_id"]]
    people = defaultdict(list)
    for record, keypoints in zip(records, predictions["keypoints"]):
        people[record.image_path].append(keypoints)
    for path, keypoints in people.items():  # drawn/ keeps each file's whole name: a.jpg and a.png both stay
        _write_drawing(read_image_rgb(path), keypoints, predictor.meta, out / "drawn" / path.name)
    write_json(out / "results.json", results, indent=None)
    print(f"{len(results)} people in {len(people)} images -> {out / 'results.json'}, drawn in {out / 'drawn'}")


def _write_drawing(image_rgb, keypoints, meta, path: Path):
    import cv2
    import numpy as np
    from semipose.engine.plots import draw_skeleton
    drawn = draw_skeleton(image_rgb, np.asarray(keypoints).reshape(-1, meta.num_keypoints, 3), meta.skeleton,
                          keypoint_names=meta.names)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR)):
        raise OSError(f"{path}: could not write the drawn image")


def _run(args):
    source = _box_source(args)
    predictor, config = _predictor(args)
    out = Path(args.out)
    if args.video:
        from semipose.cli.predict_video import predict_video
        predict_video(args, predictor, out)
    else:
        _predict_images(args, predictor, config, source, out)


PREDICT = Command(
    "predict", "predict keypoints on images or a video (COCO results json + drawn skeletons)",
    "examples:\n"
    "  semipose predict configs/cpu/synth_supervised.yaml checkpoint=runs/synth_supervised/best.pt \\\n"
    "      --images photo.jpg --detector yolox_m_humanart.onnx\n"
    "  semipose predict RUN/config.yaml checkpoint=RUN/best.pt --video clip.mp4 --detector det.onnx --smooth\n"
    "  semipose predict RUN/config.yaml checkpoint=RUN/best.pt --images crops/ --whole-image --device cuda\n"
    "  semipose predict configs/coco/r18_1k_supervised.yaml checkpoint=pose.pth --images val2017 \\\n"
    "      --detections person_dets.json --image-json person_keypoints_val2017.json --out preds",
    _add_arguments, _run)
