"""A data pipeline: the shape of the code the specification's SemanticOptimizer example reads."""

import csv
import statistics


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def preprocess(rows):
    """Data preprocessing: drop empty rows, strip whitespace, convert numbers, fill missing values."""
    cleaned = []
    for row in rows:
        if not any(row.values()):
            continue
        cleaned.append({k.strip(): (v or "").strip() for k, v in row.items()})
    values = [float(r["value"]) for r in cleaned if r.get("value")]
    fill = statistics.median(values) if values else 0.0
    for row in cleaned:
        row["value"] = float(row["value"]) if row.get("value") else fill
    return cleaned


def summarize(rows):
    return {"count": len(rows), "mean": statistics.fmean(r["value"] for r in rows)}


def write_report(summary, path):
    with open(path, "w") as handle:
        handle.write(f"{summary['count']} rows, mean {summary['mean']:.3f}\n")
