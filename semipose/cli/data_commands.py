"""`semipose synth`, `convert`, `split`, `cache`: making and preparing datasets (and their crop cache)."""
from __future__ import annotations

import json
from pathlib import Path

from semipose.cli.command import Command


def _add_synth_arguments(parser):
    parser.add_argument("out_dir", help="output folder (images/ and annotations/{train,val}.json)")
    parser.add_argument("--people", type=int, default=5000, help="training people to generate (default 5000)")
    parser.add_argument("--val-people", type=int, default=None, help="validation people (default: people / 10)")
    parser.add_argument("--seed", type=int, default=0, help="same seed -> identical files")
    parser.add_argument("--unlabelled-only", action="store_true",
                        help="images + a detection file with jittered boxes, no keypoints")
    parser.add_argument("--multiview", type=int, metavar="CAMERAS", default=None,
                        help="a calibrated multi-view studio with this many cameras: --people is the number "
                             "of frames; writes cameras.json, frames.json (3D truth in mm)")


def _run_synth(args):
    if args.multiview is not None:
        from semipose.data.synth.studio import generate_studio
        print(json.dumps(generate_studio(args.out_dir, args.people, args.seed, num_cameras=args.multiview), indent=1))
        return
    from semipose.data.synth import generate_dataset
    summary = generate_dataset(args.out_dir, args.people, args.seed, val_people=args.val_people,
                               unlabelled_only=args.unlabelled_only)
    print(json.dumps(summary, indent=1, default=str))


def _add_convert_arguments(parser):
    parser.add_argument("format", choices=["lsp", "mpii", "aic", "coco", "crowdpose", "h36m"],
                        help="source format (h36m: the multi-view pose code's h36m_*.pkl; OUT is a folder)")
    parser.add_argument("source", help="joints.mat (lsp), list json (mpii), json (aic: AIC's own or COCO-form; "
                                       "coco; crowdpose), pkl (h36m)")
    parser.add_argument("images", help="the image folder the annotations refer to")
    parser.add_argument("out", help="COCO keypoint json to write")
    parser.add_argument("--lsp-extended", action="store_true",
                        help="lsp: LSP-extended (LSPET): flag 1 = visible, 0 = not annotated, files im00001.jpg")
    parser.add_argument("--image-name", default=None,
                        help="lsp: file-name pattern of image n (default im{:04d}.jpg, LSPET im{:05d}.jpg)")
    parser.add_argument("--pck-only", action="store_true",
                        help="coco: a keypoint set without OKS sigmas is written with \"sigmas\": null "
                             "(PCK evaluation only; train with eval.metric=PCK)")


def _run_convert(args):
    from semipose.data.converters import CONVERTERS
    if args.format != "lsp" and (args.lsp_extended or args.image_name):
        raise ValueError("--lsp-extended and --image-name are options of the lsp format")
    if args.format != "coco" and args.pck_only:
        raise ValueError("--pck-only is an option of the coco format (the others know their layout)")
    if args.format == "h36m":
        from semipose.data.converters.h36m import h36m_to_multiview
        print(json.dumps(h36m_to_multiview(args.source, args.images, args.out)))
        return
    options = {"extended": args.lsp_extended, "image_name": args.image_name} if args.format == "lsp" else {}
    options = {"pck_only": True} if args.pck_only else options
    coco = CONVERTERS[args.format](args.source, args.images, **options)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(coco))
    print(f"wrote {out}: {len(coco['images'])} images, {_training_people(coco, args.images, out)}")


def _training_people(coco: dict, images, source) -> str:
    """'N people for training' and what the loader drops (crowd regions, people without keypoints)."""
    from semipose.data.coco_format import records_from_coco_dict
    records, _, report = records_from_coco_dict(coco, images, str(source), for_training=True)
    dropped = [f"{count} {reason.replace('_', ' ')}" for reason, count in sorted(report.skipped.items())]
    return f"{len(records)} people for training" + (f" ({len(coco['annotations'])} annotations; not used: "
                                                      f"{', '.join(dropped)})" if dropped else "")


def _add_split_arguments(parser):
    parser.add_argument("json", help="the annotated COCO keypoint json to split")
    parser.add_argument("out_dir", help="writes labelled.json, unlabelled.json, manifest.json here")
    parser.add_argument("--labelled", type=int, required=True, help="number of labelled people N")
    parser.add_argument("--mode", choices=["first", "random"], default="first",
                        help="first: the first N people in json order (the paper's protocol); random: seeded")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--exclude-labelled", action="store_true",
                        help="unlabelled set without the labelled people (the paper's code keeps them)")


def _run_split(args):
    from semipose.data.splits import write_split
    manifest = write_split(args.out_dir, args.json, args.labelled, args.mode, args.seed,
                           unlabelled_includes_labelled=not args.exclude_labelled)
    print(json.dumps({k: v for k, v in manifest.items() if k != "labelled_ann_ids"}, indent=1))


def _add_cache_arguments(parser):
    parser.add_argument("config", help="the run's YAML config (its data section: which people, which crops)")
    parser.add_argument("overrides", nargs="*", help="key.sub=value overrides, as for `semipose train`")
    parser.add_argument("--out", help="cache folder (default: the config's data.crop_cache)")


def _run_cache(args):
    import time

    from semipose.api import load_config
    from semipose.data.build import training_records
    from semipose.data.crop_cache import build_cache
    data = load_config(args.config, args.overrides).data
    folder = args.out or data.crop_cache
    if not folder:
        raise ValueError(f"{args.config}: data.crop_cache is not set; give the cache folder with --out DIR "
                         f"or data.crop_cache=DIR")
    records = training_records(data)
    started, cpu_started = time.perf_counter(), time.process_time()
    summary = build_cache(folder, records, data)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    per_thousand = 1000 / max(summary["people"], 1)
    print(f"wrote {folder}: {summary['people']} people, {summary['bytes'] / 2**20:.1f} MiB, {seconds:.1f} s "
          f"({cpu_seconds:.1f} s of CPU); per 1000 people {summary['bytes'] * per_thousand / 2**20:.1f} MiB, "
          f"{cpu_seconds * per_thousand:.1f} s of CPU; train with data.crop_cache={folder}")


SYNTH = Command("synth", "generate synthetic people (COCO-17 json + images)",
                "examples:\n  semipose synth data/synth --people 5000 --seed 0\n"
                "  semipose synth data/synth_unlabelled --people 20000 --seed 1 --unlabelled-only\n"
                "  semipose synth data/studio --people 200 --seed 2 --multiview 4",
                _add_synth_arguments, _run_synth)
CONVERT = Command("convert", "convert LSP / MPII / AI Challenger / CrowdPose annotations to COCO json",
                  "examples:\n  semipose convert lsp lsp/joints.mat lsp/images data/lsp.json\n"
                  "  semipose convert lsp lspet/joints.mat lspet/images data/lspet.json --lsp-extended\n"
                  "  semipose convert mpii mpii/train.json mpii/images data/mpii_train.json\n"
                  "  semipose convert crowdpose crowdpose_train.json crowdpose/images data/crowdpose_train.json\n"
                  "  semipose convert coco my_set.json my_images data/my_set.json --pck-only",
                  _add_convert_arguments, _run_convert)
SPLIT = Command("split", "split an annotated set into labelled and unlabelled people",
                "examples:\n  semipose split annotations/person_keypoints_train2017.json splits/1k --labelled 1000\n"
                "  semipose split data/lsp.json splits/lsp10 --labelled 100 --mode random --seed 3",
                _add_split_arguments, _run_split)
CACHE = Command("cache", "decode every training person once into a person-crop cache (data.crop_cache)",
                "examples:\n  semipose cache configs/coco_1k.yaml data.crop_cache=cache/coco_1k\n"
                "  semipose cache run.yaml --out /fast/disk/crops   # then train with data.crop_cache=/fast/disk/crops",
                _add_cache_arguments, _run_cache)
