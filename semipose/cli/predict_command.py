"""`semipose predict`: images -> COCO results json + images with skeletons drawn."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from semipose.cli.command import Command


def _add_arguments(parser):
    parser.add_argument("config", help="the config the checkpoint was trained with")
    parser.add_argument("overrides", nargs="*", help="checkpoint=PATH (required) and key.sub=value overrides")
    parser.add_argument("--images", required=True, help="a folder of images")
    parser.add_argument("--detections", help="person boxes (COCO results format); needs --image-json")
    parser.add_argument("--image-json", help="COCO json listing the images the detections refer to")
    parser.add_argument("--score-threshold", type=float, default=0.0, help="drop detections below this score")
    parser.add_argument("--out", default="predictions", help="output folder (results.json, drawn/)")


def _records(args, meta):
    from semipose.data.coco_format import load_coco_json, records_from_detections, records_from_image_folder
    if args.detections:
        if not args.image_json:
            raise ValueError("--detections needs --image-json (the COCO json that gives each image id its file)")
        records, _ = records_from_detections(args.detections, load_coco_json(args.image_json), args.images,
                                             score_thr=args.score_threshold, meta=meta)
        return records
    return records_from_image_folder(args.images, meta=meta)


def _run(args):
    from semipose.api import Predictor, load_config
    from semipose.data.images import read_image_rgb
    from semipose.engine.plots import draw_skeleton
    from semipose.evaluation.inference import to_coco_results
    from semipose.evaluation.oks import rescore
    import cv2
    import numpy as np
    checkpoint = [o.split("=", 1)[1] for o in args.overrides if o.startswith("checkpoint=")]
    if not checkpoint:
        raise ValueError("semipose predict needs checkpoint=PATH")
    config = load_config(args.config, [o for o in args.overrides if not o.startswith("checkpoint=")])
    predictor = Predictor(config, checkpoint[0])
    records = _records(args, predictor.meta)
    predictions = predictor.predict_records(records)
    results = rescore(to_coco_results(predictions), vis_thr=config.eval.keypoint_score_threshold)
    out = Path(args.out)
    (out / "drawn").mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results))
    people = defaultdict(list)
    for record, keypoints in zip(records, predictions["keypoints"]):
        people[record.image_path].append(keypoints)
    for path, keypoints in people.items():
        drawn = draw_skeleton(read_image_rgb(path), np.stack(keypoints), predictor.meta.skeleton,
                              keypoint_names=predictor.meta.names)
        cv2.imwrite(str(out / "drawn" / (Path(path).stem + ".jpg")), cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR))
    print(f"{len(results)} people in {len(people)} images -> {out / 'results.json'}, drawn in {out / 'drawn'}")


PREDICT = Command(
    "predict", "predict keypoints on images (COCO results json + drawn skeletons)",
    "examples:\n  semipose predict configs/cpu/synth_supervised.yaml checkpoint=runs/synth_supervised/best.pt --images photos/\n"
    "  semipose predict configs/coco_r50.yaml checkpoint=pose.pth --images val2017 \\\n"
    "      --detections person_dets.json --image-json person_keypoints_val2017.json --out preds",
    _add_arguments, _run)
