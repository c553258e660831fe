"""Converters on the real samples (skipped when ../shared/data is absent) and hand-built cases."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io
from PIL import Image

from semipose.data.coco_format import load_person_records
from semipose.data.converters import CONVERTERS, aic_to_coco, lsp_to_coco, mpii_to_coco
from semipose.data.errors import AnnotationError
from semipose.data.images import read_image_rgb
from semipose.data.keypoints import AIC14, COCO17, LSP14, MPII16

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TESTDATA = DATA / "mmpose_testdata"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data absent: {path}")
    return path


def _loads_back(coco: dict, image_dir: Path, tmp_path: Path, meta):
    """What a user does next: write the json and load it for training."""
    json_path = tmp_path / "converted.json"
    json_path.write_text(json.dumps(coco))
    records, loaded_meta, report = load_person_records(json_path, image_dir)
    assert loaded_meta == meta and all(r.image_path.exists() for r in records)
    return records, report


def draw_overlay(record, meta, out_path: Path) -> None:
    """Skeleton, joints (right side red, left blue) and box on the image, saved as PNG."""
    image = np.ascontiguousarray(read_image_rgb(record.image_path)[:, :, ::-1])
    points = record.keypoints
    for i, j in meta.skeleton:
        if points[i, 2] > 0 and points[j, 2] > 0:
            cv2.line(image, tuple(int(round(c)) for c in points[i, :2]),
                     tuple(int(round(c)) for c in points[j, :2]), (0, 255, 0), 1, cv2.LINE_AA)
    for name, (x, y, v) in zip(meta.names, points):
        if v > 0:
            colour = (0, 0, 255) if name.startswith("right") else (255, 0, 0)
            cv2.circle(image, (int(round(x)), int(round(y))), 3 if v == 2 else 2, colour, -1)
    x, y, w, h = record.bbox
    cv2.rectangle(image, (int(x), int(y)), (int(x + w), int(y + h)), (0, 255, 255), 1)
    assert cv2.imwrite(str(out_path), image)


@pytest.mark.shared_data
def test_lsp_real_sample(tmp_path):
    joints_mat = _need(DATA / "lsp" / "joints.mat")
    image_dir = DATA / "lsp" / "images"
    coco = CONVERTERS["lsp"](joints_mat, image_dir)
    raw = scipy.io.loadmat(str(joints_mat))["joints"]  # (3, 14, N), 1-based, 0 = visible
    assert len(coco["images"]) == len(coco["annotations"]) == raw.shape[2] == 1000
    records, report = _loads_back(coco, image_dir, tmp_path, LSP14)
    assert report.kept == 1000
    for n in (0, 1, 499, 999):
        record = records[n]
        assert record.image_path.name == f"im{n + 1:04d}.jpg"
        width, height = record.image_wh
        inside = ((raw[0, :, n] - 1 >= -0.5) & (raw[0, :, n] - 1 <= width - 0.5)
                  & (raw[1, :, n] - 1 >= -0.5) & (raw[1, :, n] - 1 <= height - 0.5))
        expected_v = np.where(raw[2, :, n] == 0, 2, 1) * inside
        np.testing.assert_array_equal(record.keypoints[:, 2], expected_v)
        np.testing.assert_allclose(record.keypoints[inside, 0], raw[0, inside, n] - 1, atol=1e-3)
        np.testing.assert_allclose(record.keypoints[inside, 1], raw[1, inside, n] - 1, atol=1e-3)
        x, y, w, h = record.bbox
        labelled = record.keypoints[record.keypoints[:, 2] > 0]
        assert (labelled[:, 0] >= x).all() and (labelled[:, 0] <= x + w).all()
        assert (labelled[:, 1] >= y).all() and (labelled[:, 1] <= y + h).all()
    occluded_share = np.mean([(r.keypoints[:, 2] == 1).mean() for r in records])
    assert 0.03 < occluded_share < 0.12  # the README: about 7 % of joints flagged occluded
    draw_overlay(records[0], LSP14, tmp_path / "lsp_overlay.png")


def _write_lsp(tmp_path, joints, sizes):
    image_dir = tmp_path / "images"
    image_dir.mkdir()
    for n, size in enumerate(sizes):
        Image.new("RGB", size).save(image_dir / f"im{n + 1:04d}.jpg")
    scipy.io.savemat(str(tmp_path / "joints.mat"), {"joints": joints})
    return tmp_path / "joints.mat", image_dir


def test_lsp_hand_built_flags_layouts_and_outside_joints(tmp_path):
    person = np.stack([np.linspace(11, 24, 14), np.linspace(21, 47, 14), np.zeros(14)])
    person[2, 3] = 1              # occluded in the original convention
    person[0, 5] = 41             # x = 40 (0-based) is outside a 40-px-wide image
    joints = person[:, :, None]   # (3, 14, 1)
    mat, image_dir = _write_lsp(tmp_path, joints, [(40, 60)])
    keypoints = np.array(lsp_to_coco(mat, image_dir)["annotations"][0]["keypoints"]).reshape(14, 3)
    np.testing.assert_allclose(keypoints[0], [10, 20, 2])
    assert keypoints[3, 2] == 1 and list(keypoints[5]) == [0, 0, 0]
    extended = lsp_to_coco(mat, image_dir, extended=True, image_name="im{:04d}.jpg")["annotations"][0]
    extended_keypoints = np.array(extended["keypoints"]).reshape(14, 3)
    assert extended_keypoints[3, 2] == 2                       # flag 1 = visible there
    assert list(extended_keypoints[0]) == [0, 0, 0]            # flag 0 = nobody placed it
    scipy.io.savemat(str(mat), {"joints": joints.transpose(1, 0, 2)})  # LSP-extended layout
    again = lsp_to_coco(mat, image_dir)["annotations"][0]["keypoints"]
    np.testing.assert_allclose(again, keypoints.reshape(-1))


def test_lsp_extended_five_digit_names_and_unplaced_joints(tmp_path):
    person = np.stack([np.linspace(11, 24, 14), np.linspace(21, 47, 14), np.ones(14)], axis=1)
    person[4] = [0.0, -26.1, 0.0]   # as in LSPET: a joint nobody placed
    image_dir = tmp_path / "images"
    image_dir.mkdir()
    for n in (1, 2):
        Image.new("RGB", (40, 60)).save(image_dir / f"im{n:05d}.jpg")
    scipy.io.savemat(str(tmp_path / "joints.mat"), {"joints": np.stack([person, person], axis=2)})
    coco = lsp_to_coco(tmp_path / "joints.mat", image_dir, extended=True)
    assert [image["file_name"] for image in coco["images"]] == ["im00001.jpg", "im00002.jpg"]
    keypoints = np.array(coco["annotations"][1]["keypoints"]).reshape(14, 3)
    assert list(keypoints[4]) == [0, 0, 0] and (keypoints[np.arange(14) != 4, 2] == 2).all()
    x, y, w, h = coco["annotations"][1]["bbox"]
    assert y >= 20 - 0.1 * 26 - 1e-6   # the box ignores the unplaced joint at y = -27
    with pytest.raises(ValueError, match="image name pattern"):
        lsp_to_coco(tmp_path / "joints.mat", image_dir, extended=True, image_name="im.jpg")


@pytest.mark.shared_data
def test_lspet_real_file(tmp_path):
    lspet = _need(DATA / "lspet" / "joints.mat")
    coco = lsp_to_coco(lspet, lspet.parent / "images", extended=True)
    assert len(coco["annotations"]) == 10000
    visible = np.array([a["keypoints"] for a in coco["annotations"]]).reshape(-1, 14, 3)[:, :, 2] > 0
    assert 0.85 < visible.mean() < 0.9   # the README: 88 % of joints flagged visible


@pytest.mark.parametrize("joints, match", [
    (np.zeros((3, 13, 1)), "shape"), (np.full((3, 14, 1), 2.0), "flags"),
    (np.full((3, 14, 1), np.nan), "NaN")])
def test_lsp_bad_joints_are_annotation_errors(tmp_path, joints, match):
    mat, image_dir = _write_lsp(tmp_path, joints, [(40, 60)])
    with pytest.raises(AnnotationError, match=match):
        lsp_to_coco(mat, image_dir)


@pytest.mark.shared_data
def test_mpii_real_sample(tmp_path):
    list_json = _need(TESTDATA / "mpii" / "test_mpii.json")
    entries = json.loads(list_json.read_text())
    coco = CONVERTERS["mpii"](list_json, list_json.parent)
    records, report = _loads_back(coco, list_json.parent, tmp_path, MPII16)
    assert report.kept == len(entries) == 5
    for record, entry in zip(records, entries):
        assert record.image_path.name == entry["image"]
        vis = np.array(entry["joints_vis"]) > 0
        np.testing.assert_array_equal(record.keypoints[:, 2], np.where(vis, 2, 0))
        np.testing.assert_allclose(record.keypoints[vis, :2],
                                   np.array(entry["joints"])[vis] - 1, atol=1e-3)
        side, (cx, cy) = 200 * entry["scale"], np.array(entry["center"]) - 1
        cy += 15 * entry["scale"]
        width, height = record.image_wh
        x1, y1 = max(cx - side / 2, 0), max(cy - side / 2, 0)
        x2, y2 = min(cx + side / 2, width), min(cy + side / 2, height)
        np.testing.assert_allclose(record.bbox, [x1, y1, x2 - x1, y2 - y1], atol=1e-2)
    draw_overlay(records[1], MPII16, tmp_path / "mpii_overlay.png")


def test_mpii_bad_entries(tmp_path):
    Image.new("RGB", (50, 50)).save(tmp_path / "a.jpg")
    good = {"image": "a.jpg", "joints": [[10, 10]] * 16, "joints_vis": [1] * 16,
            "center": [25, 25], "scale": 0.2}
    path = tmp_path / "list.json"
    for field, value in [("joints", [[1, 2]] * 15), ("joints_vis", [2] * 16),
                         ("scale", -1), ("image", "../a.jpg"), ("center", "middle")]:
        path.write_text(json.dumps([good, dict(good, **{field: value})]))
        with pytest.raises(AnnotationError, match=f"'{field}': entry 1"):
            mpii_to_coco(path, tmp_path)


def _coco_sample_to_raw_aic(coco: dict) -> list:
    """The inverse of the converter, applied to mmpose's already-converted AIC sample."""
    to_aic = {2: 1, 1: 2, 0: 3}
    raw = []
    for image in coco["images"]:
        people = [a for a in coco["annotations"] if a["image_id"] == image["id"]]
        keypoint_sets, boxes = {}, {}
        for n, ann in enumerate(people, start=1):
            values = list(ann["keypoints"])
            values[2::3] = [to_aic[v] for v in values[2::3]]
            x, y, w, h = ann["bbox"]
            keypoint_sets[f"human{n}"], boxes[f"human{n}"] = values, [x, y, x + w, y + h]
        raw.append({"image_id": Path(image["file_name"]).stem,
                    "keypoint_annotations": keypoint_sets, "human_annotations": boxes})
    return raw


@pytest.mark.shared_data
def test_aic_round_trip_on_the_real_sample(tmp_path):
    coco_sample = json.loads(_need(TESTDATA / "aic" / "test_aic.json").read_text())
    raw_path = tmp_path / "keypoint_train_annotations.json"
    raw_path.write_text(json.dumps(_coco_sample_to_raw_aic(coco_sample)))
    coco = CONVERTERS["aic"](raw_path, TESTDATA / "aic")
    records, report = _loads_back(coco, TESTDATA / "aic", tmp_path, AIC14)
    expected = [a for image in coco_sample["images"] for a in coco_sample["annotations"]
                if a["image_id"] == image["id"]]
    assert report.kept == len(expected) == 9
    for record, ann in zip(records, expected):
        np.testing.assert_array_equal(record.keypoints.reshape(-1), ann["keypoints"])
        np.testing.assert_allclose(record.bbox, ann["bbox"])
    draw_overlay(records[0], AIC14, tmp_path / "aic_overlay.png")


def test_aic_hand_built_visibility_order_and_errors(tmp_path):
    Image.new("RGB", (100, 100)).save(tmp_path / "abc.jpg")
    values = [10, 20, 1, 11, 21, 2, 12, 22, 3] + [30, 40, 1] * 11
    entry = {"image_id": "abc", "keypoint_annotations": {"human10": values, "human2": values},
             "human_annotations": {"human10": [5, 5, 50, 60], "human2": [1, 2, 3, 4]}}
    path = tmp_path / "aic.json"
    path.write_text(json.dumps([entry]))
    coco = aic_to_coco(path, tmp_path)
    assert [a["aic_human"] for a in coco["annotations"]] == ["human2", "human10"]
    assert coco["annotations"][1]["bbox"] == [5, 5, 45, 55]
    assert coco["annotations"][0]["keypoints"][:9] == [10, 20, 2, 11, 21, 1, 0, 0, 0]
    for change in ({"keypoint_annotations": {"human2": values}},
                   {"keypoint_annotations": {"human10": values[:-1] + [4], "human2": values}},
                   {"human_annotations": {"human10": [5, 5, 50], "human2": [1, 2, 3, 4]}},
                   {"image_id": 7}):
        path.write_text(json.dumps([dict(entry, **change)]))
        with pytest.raises(AnnotationError, match="entry 0"):
            aic_to_coco(path, tmp_path)


@pytest.mark.shared_data
def test_coco_passes_through_unchanged(tmp_path):
    json_path = _need(TESTDATA / "coco" / "test_coco.json")
    coco = CONVERTERS["coco"](json_path, json_path.parent)
    assert coco == json.loads(json_path.read_text())
    records, _ = _loads_back(coco, json_path.parent, tmp_path, COCO17)
    draw_overlay(records[0], COCO17, tmp_path / "coco_overlay.png")
    assert cv2.imread(str(tmp_path / "coco_overlay.png")).shape[:2] == records[0].image_wh[::-1]


@pytest.mark.shared_data
def test_aic_accepts_the_coco_form_file(tmp_path):
    json_path = _need(TESTDATA / "aic" / "test_aic.json")
    coco = CONVERTERS["aic"](json_path, json_path.parent)
    category = coco["categories"][0]
    assert category["sigmas"] == list(AIC14.sigmas) and category["flip_pairs"] == [list(p) for p in AIC14.flip_pairs]
    records, report = _loads_back(coco, json_path.parent, tmp_path, AIC14)
    original = json.loads(json_path.read_text())["annotations"]
    assert report.kept == sum(1 for a in original if a["num_keypoints"] > 0) == 9
    assert {tuple(r.keypoints.reshape(-1)) for r in records} == {tuple(a["keypoints"]) for a in original}


@pytest.mark.shared_data
def test_crowdpose_gets_its_own_layout_and_published_sigmas(tmp_path, capsys):
    from semipose.cli.main import main
    from semipose.data.keypoints import CROWDPOSE14
    json_path = _need(TESTDATA / "crowdpose" / "test_crowdpose.json")
    original = json.loads(json_path.read_text())
    # the released file names CrowdPose's joints but carries COCO-17's skeleton (indices up to 17)
    assert max(max(pair) for pair in original["categories"][0]["skeleton"]) == 17
    out = tmp_path / "crowdpose.json"
    assert main(["convert", "crowdpose", str(json_path), str(json_path.parent), str(out)]) == 0
    category = json.loads(out.read_text())["categories"][0]
    # crowdpose-api's sigmas, written out here: COCO's body joints (shoulder .079 ... ankle .089), head/neck .079
    assert category["sigmas"] == pytest.approx([.079, .079, .072, .072, .062, .062, .107, .107, .087, .087,
                                                .089, .089, .079, .079])
    assert category["flip_pairs"] == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11]]
    assert max(max(pair) for pair in category["skeleton"]) == 14
    records, _ = _loads_back(json.loads(out.read_text()), json_path.parent, tmp_path, CROWDPOSE14)
    usable = [a for a in original["annotations"] if not a.get("iscrowd") and a["num_keypoints"] > 0]
    assert len(records) == len(usable)
    printed = capsys.readouterr().out
    assert f"{len(usable)} people for training" in printed
    assert ("not used" in printed) == (len(usable) < len(original["annotations"]))


def test_a_set_without_sigmas_converts_with_pck_only(tmp_path, capsys):
    from semipose.cli.main import main
    Image.new("RGB", (100, 80)).save(tmp_path / "a.jpg")
    keypoints = [10, 20, 2, 30, 40, 2, 0, 0, 0]
    coco = {"images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 80}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [5, 5, 50, 60], "area": 3000,
                             "iscrowd": 0, "num_keypoints": 2, "keypoints": keypoints},
                            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [0, 0, 90, 70], "area": 6300,
                             "iscrowd": 1, "num_keypoints": 2, "keypoints": keypoints},
                            {"id": 3, "image_id": 1, "category_id": 1, "bbox": [50, 5, 20, 30], "area": 600,
                             "iscrowd": 0, "num_keypoints": 0, "keypoints": [0] * 9}],
            "categories": [{"id": 1, "name": "person", "keypoints": ["beak", "left_wing", "right_wing"],
                            "skeleton": [[1, 2], [1, 3]]}]}
    source = tmp_path / "birds.json"
    source.write_text(json.dumps(coco))
    out = tmp_path / "out.json"
    assert main(["convert", "coco", str(source), str(tmp_path), str(out)]) == 2
    err = capsys.readouterr().err
    assert "birds.json" in err and "--pck-only" in err
    assert main(["convert", "coco", str(source), str(tmp_path), str(out), "--pck-only"]) == 0
    category = json.loads(out.read_text())["categories"][0]
    assert category["sigmas"] is None and category["flip_pairs"] == [[1, 2]]
    assert "1 people for training (3 annotations; not used: 1 crowd, 1 no keypoints)" in capsys.readouterr().out
    assert main(["convert", "lsp", str(source), str(tmp_path), str(out), "--pck-only"]) == 2
