"""Training-step speed: the bare model (the limit), the supervised step and each SSL method's step.

    python benchmarks/step_speed.py [--config configs/cpu/synth_demo.yaml] [--methods supervised single dual]
                                    [--steps 5] [--warmup 2] [--repeats 3] [--json step_speed.json]
                                    [--no-data] [--breakdown] [overrides...]

e.g. the CPU demo size:   python benchmarks/step_speed.py --image-size 320x256
     R18 at 256x192:      python benchmarks/step_speed.py model.name=simplebaseline_resnet18 \\
                              data.input_size=[192,256] train.batch_size=8
     on a GPU:            ... train.device=cuda data.workers=8 train.amp=bf16 train.channels_last=true

Synthetic COCO-format people are generated in a temporary folder (or --data). For every method
the real run is built (semipose.engine.trainer.Trainer: data, method, optimizer, speed options)
and its step (`Trainer._step`: forward, backward, optimizer, the finite-loss check) is timed:

- data excluded: one labelled (+ unlabelled) batch, prepared on the device once, stepped on again;
- data included: batches from the run's own stream loaders (workers) through prepare_batch, as in
  `Trainer.fit`; "data wait" is the time spent getting and preparing the batches.

The limit is the bare network: forward + MSE + backward + Adam on a random batch of the same size.
The easy->hard floor is the same with the passes such a step cannot avoid: labelled forward and
backward, the teacher's forward without gradient, the hard view's forward and backward.
For each method, the loader's side: the samples/s its step consumes (images per step over the
step without data), the samples/s one loader worker produces for its mix of labelled and
unlabelled samples (CPU seconds of fetch + collate with one thread, `--worker-samples` per
dataset), and so the workers (cores) needed to keep it fed; data.crop_cache=DIR times the cache.
Each measurement is the median over --repeats runs of --steps steps (after --warmup steps, which
also absorb the loader workers' start-up). Images per step: the labelled batch plus, for SSL
methods, the unlabelled batch.

Clocks: `--clock wall` (default) is what a training run sees. On a CPU shared with other jobs,
wall time of multi-threaded torch swings several-fold (its threads wait for each other whenever
one is descheduled); `--clock cpu --threads 1` then times the main process's own CPU seconds
(time.process_time): the model's work plus everything the main process does for the data
(receiving batches, prepare_batch), but not the workers' decoding, which runs on other cores.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import torch
from torch.utils.data import default_collate

from semipose.api import load_config
from semipose.data.synth import generate_dataset
from semipose.engine.setup import apply_speed_options, build_network
from semipose.engine.trainer import Trainer, _to_device
from semipose.methods.base import STEP_PART_PREFIX

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "cpu" / "synth_demo.yaml"
TEACHER_METHODS = {"pseudopose", "datadistill"}


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_config(args, folder: Path, method: str, run_dir: Path, teacher: Path):
    paths = [f"data.{split}.images={folder}/images/{split}" for split in ("train", "val")]
    paths += [f"data.{split}.json={folder}/annotations/{split}.json" for split in ("train", "val")]
    never = 10 ** 9  # no validation or checkpoint inside the timed steps
    overrides = paths + ["data.num_labelled=null", f"method.name={method}", f"train.run_dir={run_dir}",
                         f"train.iterations={never}", f"train.val_every={never}", f"train.checkpoint_every={never}",
                         "train.auto_resume=false"]
    if method in TEACHER_METHODS:
        overrides.append(f"method.teacher_checkpoint={teacher}")
    return load_config(args.config, overrides + list(args.overrides))


def unlabelled_batch_size(config) -> int:
    return config.train.unlabelled_batch_size or config.train.batch_size


def time_limit(config, num_keypoints: int, steps: int, warmup: int, clock=time.perf_counter,
               ssl_floor: bool = False) -> float:
    """Seconds per step of the bare network: forward + MSE + backward + Adam, random data.

    ssl_floor: the passes an easy->hard step cannot avoid (labelled forward and backward, the
    teacher's forward without gradient, the hard view's forward and backward), so a method's step
    can be compared with its own floor, not only with the supervised one.
    """
    device = torch.device(config.train.device)
    network = build_network(config.model, num_keypoints).to(device)
    apply_speed_options(network, config.train, device)
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-3)
    width, height = config.data.input_size

    def random_batch(size):
        images = torch.randn(size, 3, height, width, device=device)
        if config.train.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return images, torch.rand(size, num_keypoints, height // config.data.heatmap_stride,
                                  width // config.data.heatmap_stride, device=device)

    images, targets = random_batch(config.train.batch_size)
    unlabelled, hard_targets = random_batch(unlabelled_batch_size(config))
    times = []
    for step in range(warmup + steps):
        synchronise(device)
        started = clock()
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(network(images), targets)
        if ssl_floor:
            with torch.no_grad():
                network(unlabelled)
            loss = loss + torch.nn.functional.mse_loss(network(unlabelled), hard_targets)
        loss.backward()
        optimizer.step()
        synchronise(device)
        if step >= warmup:
            times.append(clock() - started)
    return statistics.median(times)


def time_steps(trainer: Trainer, steps: int, warmup: int, with_data: bool,
               clock=time.perf_counter) -> tuple[float, float]:
    """(seconds per step, seconds of data wait per step) of the run's real training step."""
    labelled_stream, unlabelled_stream = trainer._streams()
    data, image_format, device = trainer.config.data, trainer._image_format, trainer.device

    def next_batches():
        labelled = _to_device(next(labelled_stream), device, image_format, data)
        unlabelled = _to_device(next(unlabelled_stream), device, image_format, data) if unlabelled_stream else None
        return labelled, unlabelled

    fixed = None if with_data else next_batches()
    step_times, wait_times = [], []
    for step in range(warmup + steps):
        synchronise(device)
        started = clock()
        labelled, unlabelled = next_batches() if with_data else fixed
        synchronise(device)
        fetched = clock()
        trainer._step(labelled, unlabelled)
        synchronise(device)
        if step >= warmup:
            step_times.append(clock() - started)
            wait_times.append(fetched - started)
        trainer.iteration += 1
    return statistics.median(step_times), statistics.median(wait_times)


def worker_seconds_per_sample(dataset, samples: int, batch_size: int) -> float:
    """CPU seconds one loader worker spends per sample (fetch + collate, one torch and one OpenCV
    thread, time.process_time: what a worker core does, little changed by other load)."""
    threads, cv2_threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    try:
        started = time.process_time()
        for first in range(0, samples, batch_size):
            default_collate([dataset[(index % len(dataset), index)] for index in range(first, first + batch_size)])
        return (time.process_time() - started) / (math.ceil(samples / batch_size) * batch_size)
    finally:
        torch.set_num_threads(threads)
        cv2.setNumThreads(cv2_threads)


def loader_demand(trainer: Trainer, seconds_per_step: float, samples: int) -> dict:
    """Samples/s the step consumes, samples/s one worker produces for this method's mix of
    labelled and unlabelled samples, hence the workers that keep the step fed."""
    data, train = trainer.run.data, trainer.config.train
    mix = [(data.labelled, train.batch_size)]
    if trainer.run.method.uses_unlabelled:
        mix.append((data.unlabelled, unlabelled_batch_size(trainer.config)))
    images = sum(count for _, count in mix)
    worker_seconds = sum(count * worker_seconds_per_sample(dataset, samples, count) for dataset, count in mix)
    consumed, produced = images / seconds_per_step, images / worker_seconds
    return {"samples_per_s_consumed": consumed, "samples_per_s_per_worker": produced,
            "workers_needed": math.ceil(consumed / produced)}


BACKWARD_EVENT = "autograd::engine::evaluate_function"
OPTIMIZER_EVENT = "Optimizer.step#"


def part_of(event_name: str):
    """The step part a top-level profiler event belongs to (None: not a labelled part)."""
    if event_name.startswith(STEP_PART_PREFIX):
        return event_name[len(STEP_PART_PREFIX):]
    if event_name.startswith(BACKWARD_EVENT):
        return "backward"
    if event_name.startswith(OPTIMIZER_EVENT):
        return "optimizer"
    return None


def step_breakdown(trainer: Trainer, top_ops: int = 12) -> dict:
    """One profiled step on a fixed batch: milliseconds per part (methods label theirs with
    semipose.methods.base.step_part) and the most expensive ops by self time. "other" is the rest
    of the step: zero_grad, the finite-loss check, detaching the logs, the learning-rate update.
    Host time: on CUDA a part shows what it costs the Python side to launch its kernels."""
    labelled_stream, unlabelled_stream = trainer._streams()
    data, image_format, device = trainer.config.data, trainer._image_format, trainer.device
    labelled = _to_device(next(labelled_stream), device, image_format, data)
    unlabelled = _to_device(next(unlabelled_stream), device, image_format, data) if unlabelled_stream else None
    trainer._step(labelled, unlabelled)  # warm-up: first-call allocations, optimizer state
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profile:
        synchronise(device)
        started = time.perf_counter()
        trainer._step(labelled, unlabelled)
        synchronise(device)
        total_ms = 1e3 * (time.perf_counter() - started)
    parts = {}
    for event in profile.events():
        part = part_of(event.name)
        if part is not None and event.cpu_parent is None:
            parts[part] = parts.get(part, 0.0) + event.cpu_time_total / 1e3
    parts["other"] = total_ms - sum(parts.values())
    ops = sorted(profile.key_averages(), key=lambda op: op.self_cpu_time_total, reverse=True)[:top_ops]
    return {"ms_total": total_ms, "ms_per_part": parts,
            "top_ops_self_ms": {op.key: op.self_cpu_time_total / 1e3 for op in ops}}


def print_breakdown(method: str, breakdown: dict) -> None:
    total = breakdown["ms_total"]
    shares = ", ".join(f"{part} {ms:.0f} ({100 * ms / total:.0f} %)" for part, ms in breakdown["ms_per_part"].items())
    print(f"{method} step under the profiler, {total:.0f} ms: {shares}")
    print("  top ops by self time (ms): " + ", ".join(f"{name} {ms:.0f}"
                                                   for name, ms in breakdown["top_ops_self_ms"].items()))


def measure(args, folder: Path, scratch: Path) -> dict:
    base = make_config(args, folder, "supervised", scratch / "limit", scratch / "teacher.pt")
    trainers = {}
    for method in args.methods:
        config = make_config(args, folder, method, scratch / method, scratch / "teacher.pt")
        if method in TEACHER_METHODS and not (scratch / "teacher.pt").exists():
            num_keypoints = len(json.loads((folder / "annotations" / "train.json").read_text())
                                ["categories"][0]["keypoints"])
            torch.save(build_network(config.model, num_keypoints).state_dict(), scratch / "teacher.pt")
        trainers[method] = Trainer(config)
    num_keypoints = next(iter(trainers.values())).run.data.meta.num_keypoints
    limits, floors = [], []
    results = {method: {"excluded": [], "included": [], "wait": []} for method in args.methods}
    clock = CLOCKS[args.clock]
    for _ in range(args.repeats):
        limits.append(time_limit(base, num_keypoints, args.steps, args.warmup, clock))
        floors.append(time_limit(base, num_keypoints, args.steps, args.warmup, clock, ssl_floor=True))
        for method, trainer in trainers.items():
            results[method]["excluded"].append(time_steps(trainer, args.steps, args.warmup, False, clock)[0])
            if args.no_data:
                continue
            step, wait = time_steps(trainer, args.steps, args.warmup, True, clock)
            results[method]["included"].append(step)
            results[method]["wait"].append(wait)
    result = table_rows(base, trainers, limits, floors, results)
    for row in result["rows"][2:]:
        row.update(loader_demand(trainers[row["step"]], row["ms_step_excluded"] / 1e3, args.worker_samples))
    if args.breakdown:
        result["breakdown"] = {method: step_breakdown(trainer) for method, trainer in trainers.items()}
    return result


def table_rows(base, trainers: dict, limits: list, floors: list, results: dict) -> dict:
    limit, floor = statistics.median(limits), statistics.median(floors)
    batch = base.train.batch_size
    rows = [{"step": "limit (bare model)", "images_per_step": batch, "ms_step_excluded": 1e3 * limit,
             "ms_step_included": None, "images_per_s": batch / limit, "data_wait_pct": None, "ratio_to_limit": 1.0,
             "runs_ms": [round(1e3 * t, 2) for t in limits]},
            {"step": "floor, easy->hard", "images_per_step": batch + unlabelled_batch_size(base),
             "ms_step_excluded": 1e3 * floor, "ms_step_included": None,
             "images_per_s": (batch + unlabelled_batch_size(base)) / floor, "data_wait_pct": None,
             "ratio_to_limit": floor / limit, "runs_ms": [round(1e3 * t, 2) for t in floors]}]
    for method, timing in results.items():
        run = trainers[method].run
        images = batch + (unlabelled_batch_size(trainers[method].config) if run.method.uses_unlabelled else 0)
        excluded = statistics.median(timing["excluded"])
        row = {"step": method, "images_per_step": images, "ms_step_excluded": 1e3 * excluded,
               "ms_step_included": None, "images_per_s": images / excluded, "data_wait_pct": None,
               "ratio_to_limit": excluded / limit, "runs_ms_excluded": [round(1e3 * t, 2) for t in timing["excluded"]]}
        if timing["included"]:  # not with --no-data
            included = statistics.median(timing["included"])
            row.update({"ms_step_included": 1e3 * included, "images_per_s": images / included,
                        "data_wait_pct": 100 * statistics.median(timing["wait"]) / included,
                        "slowdown_with_data_pct": 100 * (included - excluded) / included,
                        "runs_ms_included": [round(1e3 * t, 2) for t in timing["included"]]})
        rows.append(row)
    by_name = {row["step"]: row for row in rows}
    ratios = {}
    if "supervised" in by_name:
        ratios["supervised_overhead_vs_limit_pct"] = 100 * (1 - limit / (by_name["supervised"]["ms_step_excluded"]
                                                                         / 1e3))
        if "single" in by_name:
            ratios["single_over_supervised"] = (by_name["single"]["ms_step_excluded"]
                                                / by_name["supervised"]["ms_step_excluded"])
            ratios["single_over_its_floor"] = by_name["single"]["ms_step_excluded"] / (1e3 * floor)
    ratios["floor_over_limit"] = floor / limit
    ratios.update({f"{name}_over_limit": by_name[name]["ratio_to_limit"] for name in ("single", "dual")
                   if name in by_name})
    if "single" in by_name and "dual" in by_name:
        ratios["dual_over_single"] = by_name["dual"]["ms_step_excluded"] / by_name["single"]["ms_step_excluded"]
    return {"rows": rows, "ratios": ratios}


def print_table(result: dict, setup: str) -> None:
    print(setup)
    print(f"{'step':<20}{'img/step':>9}{'ms/step no data':>17}{'ms/step data':>14}{'img/s':>8}"
          f"{'data wait %':>13}{'slower w/ data %':>18}{'x limit':>9}{'need/s':>8}{'worker/s':>9}{'workers':>8}")
    for row in result["rows"]:
        included = "-" if row["ms_step_included"] is None else f"{row['ms_step_included']:.1f}"
        wait = "-" if row["data_wait_pct"] is None else f"{row['data_wait_pct']:.1f}"
        slower = f"{row['slowdown_with_data_pct']:.1f}" if "slowdown_with_data_pct" in row else "-"
        print(f"{row['step']:<20}{row['images_per_step']:>9}{row['ms_step_excluded']:>17.1f}{included:>14}"
              f"{row['images_per_s']:>8.1f}{wait:>13}{slower:>18}{row['ratio_to_limit']:>9.2f}"
              + (f"{row['samples_per_s_consumed']:>8.0f}{row['samples_per_s_per_worker']:>9.0f}"
                 f"{row['workers_needed']:>8}" if "workers_needed" in row else ""))
    for name, value in result["ratios"].items():
        print(f"{name}: {value:.2f}")
    for method, breakdown in result.get("breakdown", {}).items():
        print_breakdown(method, breakdown)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="base config (default: the CPU demo's)")
    parser.add_argument("--methods", nargs="+", default=["supervised", "single", "dual"])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--people", type=int, default=400)
    parser.add_argument("--image-size", default="640x480", help="generated pictures, width x height")
    parser.add_argument("--data", help="an existing synthetic folder (default: generated in a temporary one)")
    parser.add_argument("--json", help="write the result here")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    parser.add_argument("--threads", type=int, help="torch threads of the main process (default: torch's)")
    parser.add_argument("--no-data", action="store_true", help="time the steps on fixed batches only (no loaders)")
    parser.add_argument("--breakdown", action="store_true",
                        help="profile one more step per method: time per part (labelled, teacher, views, student, "
                             "loss, backward, optimizer, other) and the top ops")
    parser.add_argument("--worker-samples", type=int, default=64,
                        help="samples each dataset of a method is timed on for the per-worker rate")
    parser.add_argument("overrides", nargs="*", help="config overrides, e.g. model.name=simplebaseline_resnet18")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        folder = Path(args.data) if args.data else scratch / "synth"
        if not (folder / "annotations" / "train.json").exists():
            width, height = (int(v) for v in args.image_size.lower().split("x"))
            generate_dataset(folder, args.people, seed=0, val_people=8, image_size=(width, height))
        result = measure(args, folder, scratch)
        config = make_config(args, folder, "supervised", scratch, scratch)
    setup = (f"{config.model.name} at {config.data.input_size[0]}x{config.data.input_size[1]} (w x h), batch "
             f"{config.train.batch_size}, device {config.train.device}, {config.data.workers} workers, "
             f"torch threads {torch.get_num_threads()}, {args.clock} clock; median of {args.repeats} runs of "
             f"{args.steps} steps; "
             f"load average {os.getloadavg()[0]:.2f} at the end")
    result.update({"setup": setup, "clock": args.clock, "threads": torch.get_num_threads(),
                   "command_overrides": list(args.overrides), "methods": args.methods,
                   "load_average_1_5_15": os.getloadavg(), "cpu_count": os.cpu_count(),
                   "machine": platform.processor() or platform.machine(), "torch": torch.__version__,
                   "date": time.strftime("%Y-%m-%d %H:%M")})
    print_table(result, setup)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
