"""Several seeds of one comparison, one table: mean +- std per method, and each method's
paired difference to the baseline (the first run), because seeds share a split, an init
checkpoint and a data order, so the paired difference is far less noisy than either mean."""
from __future__ import annotations

import statistics
from pathlib import Path

from semipose.evaluation.report import write_json

NOT_METRICS = ("run", "collapse", "command")


def summarise_seeds(rows_by_seed: dict[int, list[dict]]) -> dict:
    """{seed: comparison rows} -> per run label: n, mean and std of every numeric column, the
    per-seed values, and the paired difference of each accuracy column to the baseline's."""
    labels = list(dict.fromkeys(row["run"] for rows in rows_by_seed.values() for row in rows))
    baseline = labels[0]
    by_label = {label: {seed: _row(rows, label) for seed, rows in rows_by_seed.items()} for label in labels}
    reference_column = _accuracy_columns(next(r for r in by_label[baseline].values() if r))[0]
    suffix = reference_column.split("/", 1)[1]
    summary = {"baseline": baseline, "reference": reference_column, "runs": {}}
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
        summary["runs"][label] = entry
    return summary


def write_seed_summary(rows_by_seed: dict[int, list[dict]], out_dir: Path) -> dict:
    summary = summarise_seeds(rows_by_seed)
    write_json(out_dir / "seeds_summary.json", summary)
    (out_dir / "seeds_summary.md").write_text(format_seed_summary(summary))
    return summary


def format_seed_summary(summary: dict) -> str:
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
