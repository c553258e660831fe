"""The comparison table: headline metrics plus the final heatmap responses (the collapse)."""
from __future__ import annotations

import json

import pytest

from semipose.experiments.compare import final_responses, parse_variant, write_comparison


def write_log(path, labelled, unlabelled):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        for step, (low, high) in enumerate(zip(labelled, unlabelled)):
            record = {"kind": "train", "step": step, "response_labelled": low}
            if high is not None:
                record["response_unlabelled_student"] = high
            handle.write(json.dumps(record) + "\n")
        handle.write(json.dumps({"kind": "val", "step": len(labelled), "main/AP": 0.5}) + "\n")


def test_final_responses_average_the_last_records_and_their_ratio(tmp_path):
    log = tmp_path / "consistency" / "log.jsonl"
    write_log(log, [0.1, 0.5, 0.5, 0.6, 0.6], [0.1, 0.4, 0.2, 0.1, 0.1])
    means = final_responses(log, last=4)
    assert means["response L"] == pytest.approx(0.55)
    assert means["response U"] == pytest.approx(0.2)
    assert means["U / L"] == pytest.approx(0.2 / 0.55)


def test_supervised_run_has_no_unlabelled_response(tmp_path):
    log = tmp_path / "supervised" / "log.jsonl"
    write_log(log, [0.3, 0.4], [None, None])
    assert final_responses(log) == {"response L": pytest.approx(0.35), "response U": None, "U / L": None}


def test_table_lists_runs_metrics_responses_and_commands(tmp_path):
    write_log(tmp_path / "single" / "log.jsonl", [0.4, 0.4], [0.3, 0.3])
    rows = [{"run": "single", "main/AP": 0.25, **final_responses(tmp_path / "single" / "log.jsonl"),
             "collapse": "ok", "command": "semipose train c.yaml method.name=single"}]
    write_comparison(rows, tmp_path, ["single"])
    table = (tmp_path / "comparison.md").read_text().splitlines()
    assert table[0] == "| run | main/AP | response L | response U | U / L | collapse |"
    assert table[2] == "| single | 0.2500 | 0.4000 | 0.3000 | 0.7500 | ok |"
    assert "`semipose train c.yaml method.name=single`" in table[-1]
    assert (tmp_path / "response_curves.png").stat().st_size > 0
    assert json.loads((tmp_path / "comparison.json").read_text())[0]["U / L"] == pytest.approx(0.75)


def test_variant_syntax():
    assert parse_variant("dual").overrides == ["method.name=dual"]
    jc = parse_variant("dual_jc:method.name=dual,method.hard.joint_cutout.num_joints=5")
    assert jc.label == "dual_jc" and jc.overrides[1] == "method.hard.joint_cutout.num_joints=5"
    with pytest.raises(ValueError, match="bad run"):
        parse_variant("a/b")


def test_collect_builds_the_table_from_finished_runs(tmp_path):
    from semipose.experiments.compare import run_comparison
    for label, ap in (("supervised", 0.2), ("single", 0.3)):
        write_log(tmp_path / label / "log.jsonl", [0.4], [None if label == "supervised" else 0.36])
        (tmp_path / label / "metrics.json").write_text(json.dumps(
            {"final": {"main/AP": ap, "main/AP/nose": 0.9}, "collapse_state": "ok"}))
    rows = run_comparison("c.yaml", [], [parse_variant("supervised"), parse_variant("single")], tmp_path,
                          collect_only=True)
    assert [(row["run"], row["main/AP"], row["response U"]) for row in rows] == [
        ("supervised", 0.2, None), ("single", 0.3, pytest.approx(0.36))]
    assert "main/AP/nose" not in rows[0]
    with pytest.raises(FileNotFoundError, match="dual"):
        run_comparison("c.yaml", [], [parse_variant("dual")], tmp_path, collect_only=True)


def test_seeds_summary_gives_mean_std_and_paired_difference_to_the_baseline(tmp_path):
    from semipose.experiments.compare import run_seeds
    results = {0: {"supervised": 0.40, "dual": (0.42, 0.41)}, 1: {"supervised": 0.44, "dual": (0.43, 0.47)}}
    for seed, runs in results.items():
        for label, value in runs.items():
            run_dir = tmp_path / f"seed{seed}" / label
            write_log(run_dir / "log.jsonl", [0.5], [None if label == "supervised" else 0.25])
            final = ({"main/PCK@0.2": value} if label == "supervised"
                     else {"a/PCK@0.2": value[0], "b/PCK@0.2": value[1]})
            (run_dir / "metrics.json").write_text(json.dumps({"final": final, "collapse_state": "ok"}))
    summary = run_seeds("c.yaml", [], [parse_variant("supervised"), parse_variant("dual")], tmp_path, [0, 1],
                        collect_only=True)
    assert summary["reference"] == "main/PCK@0.2"
    supervised = summary["runs"]["supervised"]["columns"]["main/PCK@0.2"]
    assert supervised["mean"] == pytest.approx(0.42) and supervised["std"] == pytest.approx(0.04 / 2 ** 0.5)
    dual = summary["runs"]["dual"]
    # differences a: +0.02, -0.01; b: +0.01, +0.03
    assert dual["vs_baseline"]["a/PCK@0.2"]["mean"] == pytest.approx(0.005)
    assert dual["vs_baseline"]["a/PCK@0.2"]["wins"] == 1
    assert dual["vs_baseline"]["b/PCK@0.2"]["std"] == pytest.approx(0.02 / 2 ** 0.5)
    assert dual["vs_baseline"]["b/PCK@0.2"]["wins"] == 2
    assert dual["columns"]["U / L"]["mean"] == pytest.approx(0.5)
    table = (tmp_path / "seeds_summary.md").read_text()
    assert "| dual | b/PCK@0.2 | 2 | 0.4400 +- 0.0424 | 0.4100, 0.4700 | +0.0200 +- 0.0141 (2/2) |" in table
    assert (tmp_path / "seed1" / "comparison.md").exists()
