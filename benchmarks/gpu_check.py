"""The GPU check: on one CUDA device, what a training run would get (run by benchmarks/gpu_check.sh).

    python benchmarks/gpu_check.py --out DIR [--budget-s 450] [--device cuda] [--quick]

Sections, each timed and each allowed to fail on its own (its error goes in the table):
- steps: R18 (SimpleBaseline) and HRNet-W32 at 256x192, batch 64 (+64 unlabelled): the bare
  model, its easy->hard floor, the supervised, single and dual steps, in fp32, bf16 autocast,
  bf16 + channels_last and bf16 + channels_last + torch.compile (steps on fixed batches:
  benchmarks/step_speed.py's time_limit / time_steps);
- loader: samples/s of the run's DataLoader with 4, 8 and 16 workers, from JPEGs and from the
  person-crop cache, against what the R18 single bf16 step consumes;
- cli: a one-process torchrun NCCL DDP training run (a few steps), then `semipose eval` and
  `semipose predict` on CUDA with its checkpoint.
Sections run in this order while the time budget lasts; what is left is marked "skipped: budget".
--device cpu --quick runs the same code on the tiny model at small sizes (the CPU smoke test).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, default_collate

sys.path.insert(0, str(Path(__file__).resolve().parent))
import step_speed  # noqa: E402  (benchmarks/ is a folder of scripts, not a package)

from semipose.api import load_config  # noqa: E402
from semipose.data.build import build_datasets, training_records  # noqa: E402
from semipose.data.crop_cache import build_cache  # noqa: E402
from semipose.data.synth import generate_dataset  # noqa: E402
from semipose.engine.trainer import Trainer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FULL = {"models": ["simplebaseline_resnet18", "hrnet_w32"], "input": [192, 256], "batch": 64, "people": 600,
        "image": (640, 480), "workers": [4, 8, 16], "steps": 5, "warmup": 2, "loader_batches": 12}
QUICK = {"models": ["tiny"], "input": [48, 64], "batch": 4, "people": 40, "image": (320, 240), "workers": [1],
         "steps": 1, "warmup": 1, "loader_batches": 2}
VARIANTS = {"fp32": [], "bf16": ["train.amp=bf16"], "bf16+channels_last": ["train.amp=bf16", "train.channels_last=true"],
            "bf16+cl+compile": ["train.amp=bf16", "train.channels_last=true", "train.compile=true"]}
METHODS = ["supervised", "single", "dual"]


class Budget:
    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds

    def left(self) -> float:
        return self.deadline - time.monotonic()


def step_args(folder: Path, device: str, sizes: dict, model: str, extra: list) -> argparse.Namespace:
    overrides = [f"model.name={model}", f"data.input_size={sizes['input']}", f"train.batch_size={sizes['batch']}",
                 f"train.unlabelled_batch_size={sizes['batch']}", f"train.device={device}", "data.workers=0",
                 "data.check_images=false", *extra]
    return argparse.Namespace(config=str(step_speed.DEFAULT_CONFIG), overrides=overrides)


def measure_steps(folder: Path, scratch: Path, device: str, sizes: dict, budget: Budget) -> list:
    rows = []
    for model in sizes["models"]:
        for variant, extra in VARIANTS.items():
            if device != "cuda" and variant != "fp32":
                continue  # bf16 autocast and compile are the GPU's options
            rows.append(variant_row(folder, scratch, device, sizes, model, variant, extra, budget))
    return rows


def variant_row(folder, scratch, device, sizes, model, variant, extra, budget: Budget) -> dict:
    row = {"section": "step", "model": model, "variant": variant}
    if budget.left() < 30:
        return {**row, "error": "skipped: budget"}
    try:
        args = step_args(folder, device, sizes, model, extra)
        base = step_speed.make_config(args, folder, "supervised", scratch / "limit", scratch / "teacher.pt")
        keypoints = 17
        row["ms_limit"] = 1e3 * step_speed.time_limit(base, keypoints, sizes["steps"], sizes["warmup"])
        row["ms_floor"] = 1e3 * step_speed.time_limit(base, keypoints, sizes["steps"], sizes["warmup"], ssl_floor=True)
        for method in METHODS:
            trainer = Trainer(step_speed.make_config(args, folder, method, scratch / f"{model}-{method}",
                                                     scratch / "teacher.pt"))
            seconds, _ = step_speed.time_steps(trainer, sizes["steps"], sizes["warmup"], with_data=False)
            row[f"ms_{method}"] = 1e3 * seconds
        row["single_over_floor"] = row["ms_single"] / row["ms_floor"]
        row["samples_per_s_single"] = 2 * sizes["batch"] / (row["ms_single"] / 1e3)
    except Exception as error:  # one failing variant (say, compile) must not hide the others
        row["error"] = f"{type(error).__name__}: {error}"[:300]
    return row


def loader_rate(dataset, workers: int, batch: int, batches: int) -> float:
    """Samples/s a DataLoader with `workers` workers delivers (after its first batch)."""
    draws = [(index % len(dataset), index) for index in range(batch * (batches + 1))]
    loader = DataLoader(draws, batch_size=batch, num_workers=workers, collate_fn=lambda items: default_collate(
        [dataset[item] for item in items]), pin_memory=torch.cuda.is_available(), persistent_workers=False)
    iterator = iter(loader)
    next(iterator)
    started = time.perf_counter()
    count = sum(len(batch_["image"]) for batch_ in iterator)
    return count / (time.perf_counter() - started)


def measure_loader(folder: Path, scratch: Path, sizes: dict, budget: Budget, demand: float | None) -> list:
    overrides = [f"data.{split}.images={folder}/images/{split}" for split in ("train", "val")]
    overrides += [f"data.{split}.json={folder}/annotations/{split}.json" for split in ("train", "val")]
    overrides += [f"data.input_size={sizes['input']}", "data.check_images=false"]
    data = load_config(None, overrides).data
    started = time.process_time()
    summary = build_cache(scratch / "crops", training_records(data), data)
    build_s = time.process_time() - started
    sources = {"jpeg": overrides, "cache": overrides + [f"data.crop_cache={scratch / 'crops'}"]}
    rows = []
    for source, source_overrides in sources.items():
        dataset = build_datasets(load_config(None, source_overrides).data, seed=0, need_unlabelled=False).labelled
        for workers in sizes["workers"]:
            row = {"section": "loader", "source": source, "workers": workers}
            if budget.left() < 20:
                rows.append({**row, "error": "skipped: budget"})
                continue
            try:
                row["samples_per_s"] = loader_rate(dataset, workers, sizes["batch"], sizes["loader_batches"])
                if demand:
                    row["fraction_of_single_bf16_demand"] = row["samples_per_s"] / demand
            except Exception as error:
                row["error"] = f"{type(error).__name__}: {error}"[:300]
            rows.append(row)
    rows.append({"section": "cache", "people": summary["people"],
                 "mib_per_1000_people": summary["bytes"] / 2 ** 20 * 1000 / summary["people"],
                 "build_cpu_s_per_1000_people": build_s * 1000 / summary["people"]})
    return rows


def run_cli(name: str, command: list, budget: Budget, env: dict) -> dict:
    row = {"section": "cli", "what": name}
    if budget.left() < 30:
        return {**row, "error": "skipped: budget"}
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=max(budget.left() - 10, 10), env=env)
        row.update({"rc": done.returncode, "s": time.perf_counter() - started})
        if done.returncode != 0:
            row["error"] = (done.stderr or done.stdout).strip()[-300:]
    except subprocess.TimeoutExpired:
        row["error"] = "timed out: budget"
    return row


def measure_cli(folder: Path, scratch: Path, device: str, sizes: dict, budget: Budget) -> list:
    run_dir = scratch / "ddp_run"
    data = [f"data.{split}.images={folder}/images/{split}" for split in ("train", "val")]
    data += [f"data.{split}.json={folder}/annotations/{split}.json" for split in ("train", "val")]
    config = [str(step_speed.DEFAULT_CONFIG), *data, "data.num_labelled=null", "model.name=simplebaseline_resnet18"
              if device == "cuda" else "model.name=tiny", f"data.input_size={sizes['input']}", f"train.device={device}"]
    train = ["method.name=single", "train.iterations=4", "train.val_every=4", "train.checkpoint_every=4",
             f"train.batch_size={sizes['batch']}", f"train.run_dir={run_dir}", "train.auto_resume=false"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=1"]
    rows = [run_cli("ddp train, 1 process (nccl on cuda)", torchrun + ["-m", "semipose", "train", *config, *train],
                    budget, env)]
    checkpoint = next(iter(sorted(run_dir.rglob("*.pt"))), None)
    if checkpoint is None:
        return rows + [{"section": "cli", "what": what, "error": "no checkpoint from the training run"}
                       for what in ("eval", "predict")]
    semipose = [sys.executable, "-m", "semipose"]
    rows.append(run_cli("eval", semipose + ["eval", *config, f"checkpoint={checkpoint}", "--device", device,
                                            "--out", str(scratch / "eval.json")], budget, env))
    rows.append(run_cli("predict", semipose + ["predict", *config, f"checkpoint={checkpoint}", "--device", device,
                                               "--images", f"{folder}/images/val", "--whole-image",
                                               "--out", str(scratch / "predictions")], budget, env))
    return rows


def single_bf16_demand(step_rows: list) -> float | None:
    for row in step_rows:
        if row.get("variant") in ("bf16", "fp32") and "samples_per_s_single" in row:
            return row["samples_per_s_single"]
    return None


def print_table(result: dict) -> None:
    print(f"GPU check {result['date']}: {result['device_name']}, torch {result['torch']}, "
          f"{result['seconds']:.0f} s")
    print(f"{'what':<44}{'limit':>8}{'floor':>8}{'sup':>8}{'single':>8}{'dual':>8}{'single/floor':>13}  (ms/step)")
    for row in result["rows"]:
        if row["section"] == "step":
            name = f"{row['model']} {row['variant']}"
            cells = "".join(f"{row[key]:>8.1f}" if key in row else f"{'-':>8}"
                            for key in ("ms_limit", "ms_floor", "ms_supervised", "ms_single", "ms_dual"))
            ratio = f"{row['single_over_floor']:>13.2f}" if "single_over_floor" in row else ""
            print(f"{name:<44}{cells}{ratio}  {row.get('error', '')}")
        elif row["section"] == "loader":
            rate = f"{row['samples_per_s']:.0f} samples/s" if "samples_per_s" in row else ""
            share = (f" = {row['fraction_of_single_bf16_demand']:.2f} x the single step's demand"
                     if "fraction_of_single_bf16_demand" in row else "")
            print(f"{'loader ' + row['source'] + ', ' + str(row['workers']) + ' workers':<44}{rate}{share}  "
                  f"{row.get('error', '')}")
        elif row["section"] == "cache":
            print(f"{'crop cache':<44}{row['mib_per_1000_people']:.0f} MiB, "
                  f"{row['build_cpu_s_per_1000_people']:.1f} s CPU per 1000 people")
        else:
            status = "ok" if row.get("rc") == 0 else "FAILED"
            print(f"{row['what']:<44}{status} {row.get('s', 0):.1f} s  {row.get('error', '')}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for gpu_check.json")
    parser.add_argument("--budget-s", type=float, default=450)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--quick", action="store_true", help="tiny model, small sizes (a smoke test)")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print(f"gpu_check: skipped: torch {torch.__version__} sees no CUDA device")
        return 0
    started, budget, sizes = time.perf_counter(), Budget(args.budget_s), QUICK if args.quick else FULL
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        folder = scratch / "synth"
        generate_dataset(folder, sizes["people"], seed=0, val_people=8, image_size=sizes["image"])
        rows = measure_steps(folder, scratch, args.device, sizes, budget)
        rows += measure_loader(folder, scratch, sizes, budget, single_bf16_demand(rows))
        rows += measure_cli(folder, scratch, args.device, sizes, budget)
    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "torch": torch.__version__, "rows": rows,
              "device_name": torch.cuda.get_device_name() if args.device == "cuda" else args.device,
              "cpu_count": os.cpu_count(), "seconds": time.perf_counter() - started, "sizes": sizes}
    print_table(result)
    (out / "gpu_check.json").write_text(json.dumps(result, indent=2))
    print(f"wrote {out / 'gpu_check.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
