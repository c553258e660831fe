"""Several runs on one dataset and split, one table: the paper's Table 1 as a command."""
from __future__ import annotations

import csv
import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from semipose import api
from semipose.configtools import ConfigError
from semipose.engine.plots import plot_curves
from semipose.engine.run_log import read_log
from semipose.evaluation.report import write_json
from semipose.experiments.seed_summary import write_seed_summary

RESPONSE_KEYS = ("response_labelled", "response_unlabelled_student")


@dataclass
class Variant:
    label: str
    overrides: list[str]


def parse_variant(text: str) -> Variant:
    """"dual" -> method.name=dual; "dual_jc:method.name=dual,method.hard.joint_cutout.num_joints=5"."""
    label, _, rest = text.partition(":")
    if not label or any(c in label for c in "/ ="):
        raise ValueError(f"bad run {text!r}: expected LABEL or LABEL:key=value,key=value")
    overrides = [item for item in rest.split(",") if item] if rest else [f"method.name={label}"]
    return Variant(label, overrides)


def train_command(config_path: str, overrides: list[str]) -> str:
    return shlex.join(["semipose", "train", config_path, *overrides])


def run_seeds(config_path: str, base_overrides: list[str], variants: list[Variant], out_dir: Path,
              seeds: list[int], print_only: bool = False, collect_only: bool = False,
              upper: Optional[str] = None) -> dict | None:
    """The comparison once per seed in out_dir/seed<K>, then the mean +- std summary (with the
    fraction of the label gap closed when `upper` names the all-labels run)."""
    if upper is not None and upper not in [v.label for v in variants]:
        raise ValueError(f"--upper {upper!r} is not one of the runs {[v.label for v in variants]}")
    rows_by_seed = {seed: run_comparison(config_path, [*base_overrides, f"train.seed={seed}"], variants,
                                         out_dir / f"seed{seed}", print_only, collect_only)
                    for seed in seeds}
    return None if print_only else write_seed_summary(rows_by_seed, out_dir, upper)


def run_comparison(config_path: str, base_overrides: list[str], variants: list[Variant], out_dir: Path,
                   print_only: bool = False, collect_only: bool = False) -> list[dict]:
    """Train each variant in out_dir/<label> (or only print the commands, or only collect the
    finished runs' metrics.json) and write the table and the response overlay."""
    commands = {variant.label: [*base_overrides, *variant.overrides, f"train.run_dir={out_dir / variant.label}"]
                for variant in variants}
    configs = {} if print_only or collect_only else check_variants(config_path, commands)
    rows = []
    for variant in variants:
        overrides = commands[variant.label]
        if print_only:
            print(train_command(config_path, overrides))
            continue
        summary = _finished_run(out_dir / variant.label) if collect_only else api.train(configs[variant.label])
        rows.append({"run": variant.label, **{k: v for k, v in summary["final"].items() if _table_metric(k)},
                     **final_responses(out_dir / variant.label / "log.jsonl"),
                     "collapse": summary["collapse_state"], "command": train_command(config_path, overrides)})
    if rows:
        write_comparison(rows, out_dir, [v.label for v in variants])
    return rows


def check_variants(config_path: str, commands: dict[str, list[str]]) -> dict:
    """{label: Config} of every run, each checked as far as it can be without data (config
    values, method name, device), so a bad last run is refused before the first one trains."""
    from semipose import api
    from semipose.devices import resolve_device
    from semipose.methods import method_class
    configs = {}
    for label, overrides in commands.items():
        try:
            configs[label] = api.load_config(config_path, overrides)
            method_class(configs[label].method)  # an unknown method fails here, before any run trains
            resolve_device(configs[label].train.device)
        except ValueError as error:
            raise ConfigError(f"run {label!r}: {error}") from None
    return configs


def write_comparison(rows: list[dict], out_dir: Path, labels: list[str]):
    out_dir.mkdir(parents=True, exist_ok=True)
    columns = [c for c in dict.fromkeys(k for row in rows for k in row) if c != "command"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
    commands = ["", "Commands:", ""] + [f"- {row['run']}: `{row['command']}`" for row in rows]
    (out_dir / "comparison.md").write_text("\n".join(lines + commands) + "\n")
    with open(out_dir / "comparison.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns + ["command"])
        writer.writeheader()
        writer.writerows(rows)
    write_json(out_dir / "comparison.json", rows)
    plot_response_overlay(out_dir, labels)


def _finished_run(run_dir: Path) -> dict:
    metrics = run_dir / "metrics.json"
    if not metrics.is_file():
        raise FileNotFoundError(f"{metrics}: no finished run to collect (train it first)")
    return json.loads(metrics.read_text())


def final_responses(log_path: Path, last: int = 4) -> dict:
    """Mean heatmap response on labelled and unlabelled images over the run's last `last` logged
    training windows, and their ratio: the collapse in three numbers (the curves show its course)."""
    rows = read_log(log_path, kind="train") if log_path.exists() else []
    means = {}
    for key, column in zip(RESPONSE_KEYS, ("response L", "response U")):
        values = [row[key] for row in rows if row.get(key) is not None][-last:]
        means[column] = sum(values) / len(values) if values else None
    ratio_known = means["response L"] and means["response U"] is not None
    means["U / L"] = means["response U"] / means["response L"] if ratio_known else None
    return means


def plot_response_overlay(out_dir: Path, labels: list[str]):
    """Labelled vs unlabelled heatmap response of every run in one figure (Fig. 3 / 7)."""
    series = {}
    for label in labels:
        log_path = out_dir / label / "log.jsonl"
        if not log_path.exists():
            continue
        rows = read_log(log_path, kind="train")
        for key in RESPONSE_KEYS:
            points = [(row["step"], row[key]) for row in rows if row.get(key) is not None]
            if points:
                steps, values = zip(*points)
                series[f"{label}: {key.replace('response_', '')}"] = (list(steps), list(values))
    if series:
        plot_curves(series, out_dir / "response_curves.png", title="average max heatmap response",
                    ylabel="response")


def _table_metric(key: str) -> bool:
    """network/AP, network/AP50, network/AR and network/PCK@a: the headline numbers, no per-joint ones."""
    parts = key.split("/")
    return len(parts) == 2 and (parts[1] in ("AP", "AP50", "AR") or parts[1].startswith("PCK@"))


def _cell(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else ("-" if value is None else str(value))
