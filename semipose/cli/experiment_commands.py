"""`semipose compare` (several methods, one table) and `semipose ladder` (accuracy vs perturbation)."""
from __future__ import annotations

from pathlib import Path

from semipose.cli.command import Command


def _add_compare_arguments(parser):
    parser.add_argument("config", help="the base YAML config (dataset, split, model, schedule)")
    parser.add_argument("overrides", nargs="*", help="overrides applied to every run, key.sub=value")
    parser.add_argument("--runs", nargs="+", required=True,
                        help="LABEL (= method.name=LABEL) or LABEL:key=value,key=value per run")
    parser.add_argument("--out", default="runs/compare", help="folder for the runs, the table and the curves")
    parser.add_argument("--print-commands", action="store_true",
                        help="only print the `semipose train` command of each run (for a cluster)")
    parser.add_argument("--collect", action="store_true",
                        help="train nothing: build the table from the finished runs in --out")
    parser.add_argument("--seeds", nargs="+", type=int,
                        help="repeat the comparison with train.seed=K in --out/seedK and write "
                             "seeds_summary.md (mean +- std, paired difference to the first run)")
    parser.add_argument("--upper", metavar="LABEL",
                        help="with --seeds: the all-labels run of --runs; the summary then states each "
                             "gain as the fraction of the label gap (upper - first run) it closes")


def _run_compare(args):
    from semipose.engine.compare import parse_variant, run_comparison, run_seeds
    variants, out = [parse_variant(r) for r in args.runs], Path(args.out)
    if args.upper and not args.seeds:
        raise SystemExit("--upper needs --seeds (the gap is stated per seed)")
    if args.seeds:
        if run_seeds(args.config, list(args.overrides), variants, out, args.seeds,
                     print_only=args.print_commands, collect_only=args.collect, upper=args.upper):
            print((out / "seeds_summary.md").read_text())
        return
    rows = run_comparison(args.config, list(args.overrides), variants, out,
                          print_only=args.print_commands, collect_only=args.collect)
    if rows:
        print((out / "comparison.md").read_text())


def _add_ladder_arguments(parser):
    parser.add_argument("config", help="the config the checkpoint was trained with")
    parser.add_argument("overrides", nargs="*", help="checkpoint=PATH (required) and key.sub=value overrides")
    parser.add_argument("--joint-cutout", type=int, default=5, help="k of the JC rung (default 5)")
    parser.add_argument("--randaugment", type=float, default=20.0, help="M of the RA rung (default 20)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="also write the rows as JSON here")


def _run_ladder(args):
    from torch.utils.data import DataLoader
    from semipose.api import load_config, networks_from_payload
    from semipose.data.build import build_validation
    from semipose.engine.checkpoint import load_checkpoint
    from semipose.evaluation.ladder import ladder_steps, run_ladder
    from semipose.evaluation.report import format_table, write_json
    from semipose.evaluation.scoring import score_predictions
    checkpoint = [o.split("=", 1)[1] for o in args.overrides if o.startswith("checkpoint=")]
    if not checkpoint:
        raise ValueError("semipose ladder needs checkpoint=PATH")
    from semipose.engine.conventions import checkpoint_convention, with_convention
    payload = load_checkpoint(checkpoint[0])
    config = with_convention(load_config(args.config, [o for o in args.overrides if not o.startswith("checkpoint=")]),
                             checkpoint_convention(payload))
    val, val_gt = build_validation(config.data)
    network = next(iter(networks_from_payload(payload, config, val.meta.num_keypoints).values()))
    loader = DataLoader(val, batch_size=config.eval.batch_size, num_workers=config.data.workers)
    score = lambda predictions: score_predictions(predictions, val.records, val.meta, val_gt, config.eval)  # noqa
    rows = run_ladder(network, loader, score, None, config.eval, tuple(config.data.input_size),
                      config.data.heatmap_size, val.meta.num_keypoints,
                      ladder_steps(args.joint_cutout, args.randaugment), seed=args.seed,
                      convention=config.data.pixel_convention)
    main = "AP" if config.eval.metric == "AP" else f"PCK@{config.eval.pck_alpha:g}"
    print(format_table([{"perturbation": r["perturbation"], main: r[main]} for r in rows],
                       title=f"accuracy under test-time perturbation: {checkpoint[0]}"))
    if args.out:
        write_json(Path(args.out), rows)


COMPARE = Command(
    "compare", "run several methods on one dataset/split and tabulate them",
    "examples:\n  semipose compare configs/cpu/synth_ssl.yaml --runs supervised consistency single dual\n"
    "  semipose compare configs/coco/r18_1k_supervised.yaml --runs supervised \\\n"
    "      dual_jc:method.name=dual,method.hard.joint_cutout.num_joints=5 --print-commands\n"
    "  (run the printed commands on the cluster, then the same line with --collect for the table)\n"
    "  semipose compare configs/cpu/lsp_ssl.yaml --runs supervised single --seeds 0 1 2 --out runs/lsp_seeds",
    _add_compare_arguments, _run_compare)

LADDER = Command(
    "ladder", "accuracy of a checkpoint under test-time perturbations (choose an easy/hard pair)",
    "examples:\n  semipose ladder configs/cpu/synth_supervised.yaml checkpoint=runs/synth_supervised/best.pt\n"
    "  semipose ladder configs/coco/r18_1k_supervised.yaml checkpoint=best.pt --joint-cutout 5 --randaugment 20",
    _add_ladder_arguments, _run_ladder)
