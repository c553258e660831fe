"""Several seeds of one comparison, one table: mean +- std per method, and each method's
paired difference to the baseline (the first run), because seeds share a split, an init
checkpoint and a data order, so the paired difference is far less noisy than either mean.

The headline table also gives, on the reference metric, the paired gain's 95 % confidence
interval (Student t over seeds), the ratio to the baseline and, when an upper reference run is
named (all labels, same network and schedule), the fraction of the label gap each run closes:
(run - baseline) / (upper - baseline), per seed, as the issue of the gain states it."""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Optional

from scipy import stats as scipy_stats

from semipose.evaluation.report import write_json

NOT_METRICS = ("run", "collapse", "command")


def summarise_seeds(rows_by_seed: dict[int, list[dict]], upper: Optional[str] = None) -> dict:
    """{seed: comparison rows} -> per run label: n, mean and std of every numeric column, the
    per-seed values, and the paired difference of each accuracy column to the baseline's."""
    labels = list(dict.fromkeys(row["run"] for rows in rows_by_seed.values() for row in rows))
    baseline = labels[0]
    by_label = {label: {seed: _row(rows, label) for seed, rows in rows_by_seed.items()} for label in labels}
    reference_column = _accuracy_columns(next(r for r in by_label[baseline].values() if r))[0]
    suffix = reference_column.split("/", 1)[1]
    if upper is not None and upper not in by_label:
        raise ValueError(f"--upper {upper!r} is not one of the runs {labels}")
    summary = {"baseline": baseline, "reference": reference_column, "upper": upper, "runs": {}}
    for label, per_seed in by_label.items():
        runs = {seed: row for seed, row in per_seed.items() if row}
        columns = [c for c in dict.fromkeys(k for row in runs.values() for k in row) if c not in NOT_METRICS]
        entry = {"seeds": sorted(runs), "columns": {}, "vs_baseline": {}}
        for column in columns:
            values = {seed: row[column] for seed, row in runs.items() if isinstance(row.get(column), float)}
            if values:
                entry["columns"][column] = {**_stats(list(values.values())), "per_seed": values}
        if label != baseline:
            for column in (c for c in columns if c.endswith("/" + suffix)):
                differences = [runs[s][column] - by_label[baseline][s][reference_column]
                               for s in runs if by_label[baseline].get(s) and isinstance(runs[s].get(column), float)]
                if differences:
                    entry["vs_baseline"][column] = {**_stats(differences),
                                                    "wins": sum(d > 0 for d in differences)}
        if label not in (baseline, upper):
            entry["headline"] = headline(by_label[baseline], per_seed, reference_column, suffix,
                                         by_label[upper] if upper else None)
        summary["runs"][label] = entry
    return summary


def headline(baseline: dict, run: dict, reference_column: str, suffix: str,
             upper: Optional[dict] = None) -> dict:
    """Per-seed paired gain, ratio and (with an upper run) fraction of the label gap, on the run's
    own column of the reference metric (a dual's networks a and b each have one: the best of them
    is not picked, every column is reported); {column: {"gain", "ratio", "gap_fraction"}}."""
    out = {}
    for column in dict.fromkeys(k for row in run.values() if row for k in row if k.endswith("/" + suffix)):
        seeds = [s for s, row in run.items() if row and isinstance(row.get(column), float) and baseline.get(s)]
        gains = [run[s][column] - baseline[s][reference_column] for s in seeds]
        if not gains:
            continue
        entry = {"gain": paired_interval(gains),
                 "ratio": _stats([run[s][column] / baseline[s][reference_column] for s in seeds
                                  if baseline[s][reference_column] > 0])}
        if upper:
            gaps = {s: upper[s][reference_column] - baseline[s][reference_column] for s in seeds if upper.get(s)}
            fractions = [(run[s][column] - baseline[s][reference_column]) / gap for s, gap in gaps.items() if gap > 0]
            entry["gap_fraction"] = _stats(fractions) if fractions else None
        out[column] = entry
    return out


def paired_interval(differences: list[float], confidence: float = 0.95) -> dict:
    """Mean paired difference with its two-sided Student-t confidence interval over seeds, and wins."""
    result = {**_stats(differences), "wins": sum(d > 0 for d in differences)}
    n = len(differences)
    half = (scipy_stats.t.ppf(0.5 + confidence / 2, n - 1) * result["std"] / n ** 0.5) if n > 1 else float("nan")
    result.update(ci_low=result["mean"] - half, ci_high=result["mean"] + half)
    return result


def write_seed_summary(rows_by_seed: dict[int, list[dict]], out_dir: Path, upper: Optional[str] = None) -> dict:
    summary = summarise_seeds(rows_by_seed, upper)
    write_json(out_dir / "seeds_summary.json", summary)
    (out_dir / "seeds_summary.md").write_text(format_seed_summary(summary))
    return summary


def format_seed_summary(summary: dict) -> str:
    return format_headline(summary) + "\n" + format_columns(summary)


def format_headline(summary: dict) -> str:
    """One row per run and network: the reference metric, paired gain [95 % CI], ratio, gap closed."""
    reference, upper = summary["reference"], summary.get("upper")
    gap_header = f" | label gap closed (upper: {upper})" if upper else ""
    lines = [f"| run | {reference.split('/', 1)[1]} mean +- std | paired gain [95 % CI] (wins) | ratio{gap_header} |",
             "|---|---|---|---" + ("|---" if upper else "") + "|"]
    for label, entry in summary["runs"].items():
        for column, stats in entry["columns"].items():
            if not column.endswith("/" + reference.split("/", 1)[1]):
                continue
            name = label if column.split("/")[0] == "main" else f"{label} ({column.split('/')[0]})"
            row = [name, f"{stats['mean']:.4f} +- {stats['std']:.4f}"]
            head = entry.get("headline", {}).get(column)
            if head:
                gain, ratio = head["gain"], head["ratio"]
                row += [f"{gain['mean']:+.4f} [{gain['ci_low']:+.4f}, {gain['ci_high']:+.4f}] ({gain['wins']}/{gain['n']})",
                        f"{ratio['mean']:.2f}x" if ratio["n"] else "-"]
                if upper:
                    fraction = head.get("gap_fraction")
                    row.append(f"{fraction['mean']:.2f} +- {fraction['std']:.2f}" if fraction else "-")
            else:
                row += ["-", "-"] + (["-"] if upper else [])
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def format_columns(summary: dict) -> str:
    reference = summary["reference"]
    lines = [f"| run | column | n | mean +- std | per seed | vs {summary['baseline']} {reference} (wins) |",
             "|---|---|---|---|---|---|"]
    for label, entry in summary["runs"].items():
        for column, stats in entry["columns"].items():
            if column in ("response L", "response U"):
                continue
            per_seed = ", ".join(f"{v:.4f}" for v in stats["per_seed"].values())
            paired = entry["vs_baseline"].get(column)
            delta = (f"{paired['mean']:+.4f} +- {paired['std']:.4f} ({paired['wins']}/{paired['n']})"
                     if paired else "-")
            lines.append(f"| {label} | {column} | {stats['n']} | {stats['mean']:.4f} +- {stats['std']:.4f} "
                         f"| {per_seed} | {delta} |")
    return "\n".join(lines) + "\n\nstd: sample standard deviation over seeds (0 for one seed).\n"


def _row(rows: list[dict], label: str) -> dict | None:
    return next((row for row in rows if row["run"] == label), None)


def _accuracy_columns(row: dict) -> list[str]:
    columns = [c for c in row if "/" in c and c != "U / L"]
    if not columns:
        raise ValueError(f"run {row['run']!r} has no accuracy column to compare against")
    return columns


def _stats(values: list[float]) -> dict:
    return {"n": len(values), "mean": statistics.fmean(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0}
