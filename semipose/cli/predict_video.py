"""`semipose predict --video`: every frame of a video -> COCO results with frame ids, a drawn mp4,
and the frames/s the whole pipeline (decode, detect, pose, draw, encode) ran at."""
from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

log = logging.getLogger("semipose")
LOG_EVERY_S = 10.0  # seconds between progress lines


def frame_results(frame_index: int, file_name: str, boxes: np.ndarray, keypoints: np.ndarray, track_ids,
                  vis_thr: float) -> list[dict]:
    """COCO results of one frame: image_id and `frame` are the 0-based frame index; `score` is the
    box score rescored by the confident joints (as for images), `track_id` present when smoothed."""
    from semipose.evaluation.oks import rescore
    results = []
    for person, (box, points) in enumerate(zip(boxes, keypoints)):
        result = {"image_id": frame_index, "frame": frame_index, "file_name": file_name, "category_id": 1,
                  "bbox": np.round(box[:4].astype(np.float64), 2).tolist(),
                  "keypoints": np.round(points.astype(np.float64), 3).reshape(-1).tolist(),
                  "score": float(box[4])}
        if track_ids is not None:
            result["track_id"] = int(track_ids[person])
        results.append(result)
    return rescore(results, vis_thr=vis_thr)


def predict_video(args, predictor, out: Path) -> dict:
    """Run `predictor` over args.video; writes out/results.json and out/<name>_drawn.mp4."""
    from semipose.data.video import VideoInfo, VideoWriter
    from semipose.engine.plots import draw_skeleton
    from semipose.engine.run_log import estimate_eta
    from semipose.evaluation.report import write_json
    from semipose.evaluation.smoothing import KeypointSmoother
    info = VideoInfo(args.video)
    smoother = KeypointSmoother(info.fps, args.smooth_min_cutoff, args.smooth_beta) if args.smooth else None
    drawn_path = out / f"{info.path.stem}_drawn.mp4"
    meta, results, frames, people = predictor.meta, [], 0, 0
    started = last_line = time.perf_counter()
    with VideoWriter(drawn_path, info.fps, info.size_wh) as writer:
        for frame_rgb, boxes, keypoints, track_ids in predictor.predict_video(
                info.path, whole_image=args.whole_image, smoothing=smoother):
            results += frame_results(frames, info.path.name, boxes, keypoints, track_ids,
                                     predictor.config.eval.keypoint_score_threshold)
            writer.write(draw_skeleton(frame_rgb, keypoints, meta.skeleton, keypoint_names=meta.names)
                         if len(keypoints) else frame_rgb)
            frames, people = frames + 1, people + len(keypoints)
            if time.perf_counter() - last_line > LOG_EVERY_S:
                last_line, elapsed = time.perf_counter(), time.perf_counter() - started
                eta = estimate_eta(frames, info.frame_count, elapsed) if info.frame_count else None
                log.info("video: frame %d/%s, %.1f frames/s%s", frames, info.frame_count or "?", frames / elapsed,
                         f", ETA {eta:.0f} s" if eta is not None else "")
    seconds = time.perf_counter() - started
    write_json(out / "results.json", results, indent=None)
    summary = {"frames": frames, "people": people, "seconds": seconds, "frames_per_second": frames / seconds}
    log.info("video: %d frames, %d people in %.1f s: %.2f frames/s (decode, detect, pose, draw, encode)",
             frames, people, seconds, summary["frames_per_second"])
    print(f"{people} people in {frames} frames ({summary['frames_per_second']:.2f} frames/s) -> "
          f"{out / 'results.json'}, drawn in {drawn_path}")
    return summary
