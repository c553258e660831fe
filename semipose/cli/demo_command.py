"""`semipose demo` (what `make demo` runs): synthetic people -> supervised vs SSL -> table + PNGs."""
from __future__ import annotations

from pathlib import Path

from semipose.cli.command import Command

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "cpu" / "synth_demo.yaml"
# single with Joint Cutout 5 (the paper's "Single + JC"): the hard view that gives the gain here
DEMO_RUNS = ["supervised", "consistency", "single:method.name=single,method.hard.joint_cutout.num_joints=5"]


def _add_arguments(parser):
    parser.add_argument("--data", default="data/synth", help="synthetic data folder (generated if missing)")
    parser.add_argument("--out", default="runs/demo", help="runs, table and curves go here")
    parser.add_argument("--people", type=int, default=5000, help="training people to generate")
    parser.add_argument("--runs", nargs="+", default=DEMO_RUNS, help=f"runs to compare (default {DEMO_RUNS})")
    parser.add_argument("--config", default=str(DEMO_CONFIG), help="base config of the runs")
    parser.add_argument("overrides", nargs="*", help="extra overrides for every run, e.g. train.iterations=300")


def _run(args):
    from semipose.data.synth import generate_dataset
    from semipose.engine.compare import parse_variant, run_comparison
    data = Path(args.data)
    if not (data / "annotations" / "train.json").exists():
        print(f"generating {args.people} synthetic people in {data} ...")
        generate_dataset(data, args.people, seed=0, val_people=max(100, args.people // 10))
    paths = [f"data.train.images={data}/images/train", f"data.train.json={data}/annotations/train.json",
             f"data.val.images={data}/images/val", f"data.val.json={data}/annotations/val.json"]
    out = Path(args.out)
    run_comparison(args.config, paths + list(args.overrides), [parse_variant(r) for r in args.runs], out)
    print((out / "comparison.md").read_text())
    print(f"pictures: {out}/response_curves.png, {out}/<run>/training_curves.png, "
          f"{out}/<run>/heatmap_response.png, {out}/<run>/predictions.png")


DEMO = Command(
    "demo", "the main job on built-in synthetic people: supervised vs semi-supervised",
    "Generates synthetic people (once), trains the demo runs on 2 CPU cores, and writes a table\n"
    "and PNGs (response curves, training curves, predicted skeletons).\n\n"
    "examples:\n  semipose demo\n  semipose demo --runs supervised dual train.iterations=600",
    _add_arguments, _run)
