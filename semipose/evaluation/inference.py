"""Run a network over top-down samples and turn heatmaps into keypoints in image coordinates."""
from __future__ import annotations

from typing import Callable, Iterable, Optional

import numpy as np
import torch

from semipose import codec, geometry
from semipose.config import EvalConfig
from semipose.data.batch_prep import prepare_images


def heatmaps_to_image_points(heatmaps: torch.Tensor, image_to_input: torch.Tensor, input_wh, refine: str,
                             convention: str = "exact"):
    """Decode (N, K, h, w) heatmaps and map the peaks back through each crop: (N, K, 3) x, y, score."""
    coords, scores = codec.decode(heatmaps.float(), refine=refine)
    heatmap_wh = (heatmaps.shape[-1], heatmaps.shape[-2])
    heatmap_to_input = torch.as_tensor(geometry.invert(geometry.resize_affine(input_wh, heatmap_wh, convention)),
                                       dtype=torch.float64)
    input_to_image = geometry.batch_invert(image_to_input.double())
    to_image = geometry.batch_compose(input_to_image, heatmap_to_input.expand(len(coords), 2, 3))
    points = geometry.batch_apply_to_points(to_image, coords.double())
    return torch.cat([points, scores.double()[..., None]], dim=-1).float()


def mirror_for_flip_test(images: torch.Tensor, offset: int) -> torch.Tensor:
    """Images mirrored x -> W - 1 - x + offset (geometry.flip_test_offset); the columns shifted
    in are 0, the normalised mean colour."""
    mirrored = images.flip(-1)
    if offset == 0:
        return mirrored
    shifted = torch.zeros_like(mirrored)
    if offset < 0:
        shifted[..., :offset] = mirrored[..., -offset:]
    else:
        shifted[..., offset:] = mirrored[..., :-offset]
    return shifted


@torch.no_grad()
def predict_heatmaps(network: Callable, images: torch.Tensor, flip_permutation, config: EvalConfig,
                     convention: str = "exact"):
    heatmaps = network(images)
    if config.flip_test and flip_permutation is not None:
        input_wh, heatmap_wh = (images.shape[-1], images.shape[-2]), (heatmaps.shape[-1], heatmaps.shape[-2])
        offset = geometry.flip_test_offset(input_wh, heatmap_wh, convention)
        mirrored = network(mirror_for_flip_test(images, offset))
        heatmaps = 0.5 * (heatmaps + codec.flip_back(mirrored, flip_permutation))
    return heatmaps


def predict_people(network: Callable, batches: Iterable[dict], flip_permutation, config: EvalConfig,
                   device="cpu", perturb: Optional[Callable] = None, convention: str = "exact") -> dict:
    """All predictions over a loader of evaluation samples, as arrays keyed like the samples
    (uint8 crops are normalised on the device by semipose.data.batch_prep).

    `perturb(images, image_to_input) -> (images, image_to_input)` alters each batch of crops
    first (the test-time perturbations of `semipose ladder`).
    """
    keypoints, image_ids, ann_ids, box_scores, areas, crop_areas = [], [], [], [], [], []
    for batch in batches:
        images, image_to_input = prepare_images(batch["image"], device), batch["image_to_input"]
        if perturb is not None:
            images, image_to_input = perturb(images, image_to_input.to(device))
        heatmaps = predict_heatmaps(network, images, flip_permutation, config, convention)
        input_wh = (images.shape[-1], images.shape[-2])
        keypoints.append(heatmaps_to_image_points(heatmaps.cpu(), image_to_input.cpu(), input_wh, config.refine,
                                                  convention))
        image_ids.append(batch["image_id"])
        ann_ids.append(batch["ann_id"])
        box_scores.append(batch["box_score"])
        areas.append(batch["area"])
        crop_areas.append(batch["crop_area"])
    cat = lambda parts: torch.cat(parts).numpy()  # noqa: E731
    return {"keypoints": cat(keypoints), "image_id": cat(image_ids), "ann_id": cat(ann_ids),
            "box_score": cat(box_scores), "area": cat(areas),
            "crop_area": cat(crop_areas)}


def predict_boxes(network: Callable, image_rgb: np.ndarray, boxes_xywh, meta, data_config, eval_config: EvalConfig,
                  device="cpu") -> np.ndarray:
    """(M, K, 3) keypoints x, y, score in image pixels for the M person boxes (x, y, w, h) of one
    RGB uint8 image (K and the flip test's left/right pairs from `meta`, a KeypointMeta); M = 0
    gives an empty (0, K, 3) array without running the network."""
    from semipose.data.topdown import crop_person
    boxes = np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4) if len(boxes_xywh) else np.zeros((0, 4))
    input_wh = tuple(data_config.input_size)
    crops, affines = [], []
    for box in boxes:
        center, size = geometry.box_to_center_size(box, input_wh[0] / input_wh[1], data_config.padding)
        crop, affine = crop_person(image_rgb, center, size, 0.0, input_wh, convention=data_config.pixel_convention)
        crops.append(crop)
        affines.append(torch.from_numpy(affine).float())
    if not crops:
        return np.zeros((0, meta.num_keypoints, 3), np.float32)
    convention = data_config.pixel_convention
    heatmaps = predict_heatmaps(network, prepare_images(torch.stack(crops), device), meta.flip_test_permutation(),
                                eval_config, convention)
    return heatmaps_to_image_points(heatmaps.cpu(), torch.stack(affines), input_wh, eval_config.refine,
                                    convention).numpy()


NMS_AREA_KEYS = {"crop": "crop_area", "record": "area"}


def to_coco_results(predictions: dict, category_id: int = 1, nms_area: str = "crop") -> list[dict]:
    """COCO results format; `score` is the box score, `box_score` kept for rescoring.

    `area` (used by OKS-NMS only; COCOeval never sees it) is the padded crop's area for
    nms_area="crop" (the reference: prod(scale * 200)), else the record's own area (the
    segmentation area of a ground-truth person, the box area of a detection)."""
    results = []
    areas = predictions[NMS_AREA_KEYS[nms_area]]
    for keypoints, image_id, box_score, area in zip(predictions["keypoints"], predictions["image_id"],
                                                    predictions["box_score"], areas):
        results.append({"image_id": int(image_id), "category_id": category_id,
                        "keypoints": np.round(keypoints.astype(np.float64), 3).reshape(-1).tolist(),
                        "score": float(box_score), "box_score": float(box_score), "area": float(area)})
    return results
