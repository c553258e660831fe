"""Data: keypoint sets, COCO-format loading, top-down samples, converters, splits, synthetic people."""
