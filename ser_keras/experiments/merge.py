"""Merging run folders that ran disjoint folds (``--folds``) on different machines into one
run record, rescoring every row on the pooled predictions (SHORT Table 1, ELOR Table 5)."""

import shutil
from pathlib import Path

from ser_keras.experiments.reporting import prediction_lines, score_row
from ser_keras.io import read_json
from ser_keras.runs import RunRecord


def merge_runs(runs, out):
    """Merge finished run folders ``runs`` into ``out``; returns ``Path(out)``."""
    runs = [Path(run) for run in runs]
    metrics = [read_json(run / "metrics.json") for run in runs]
    first = metrics[0]
    for run, other in zip(runs[1:], metrics[1:]):
        for key in ("script", "seed", "protocol"):
            if other[key] != first[key]:
                raise ValueError(f"{run} differs in {key!r}: {other[key]!r} vs {first[key]!r}; only runs of one "
                                 "script, seed and protocol can be merged.")
        if other["corpus"]["sha256"] != first["corpus"]["sha256"]:
            raise ValueError(f"{run} used another corpus (sha256 {other['corpus']['sha256'][:12]}).")
    folds = [fold for m in metrics for fold in m.get("folds", [])]
    if len(folds) != len(set(folds)):
        raise ValueError(f"The runs share folds {sorted({f for f in folds if folds.count(f) > 1})}; "
                         "each fold must come from exactly one run.")
    config = {**read_json(runs[0] / "config.json"), "folds": folds, "merged_from": [str(r) for r in runs]}
    record = RunRecord(out, script=first["script"], config=config, corpus=first["corpus"])
    rows, predictions = [], []
    for row in first["rows"]:
        if row["value"] is None:
            rows.append(row)
            continue
        parts = {}
        for run in runs:
            for path in sorted((run / "parts" / row["id"]).glob("*.json")):
                parts[path.stem] = read_json(path)
                record.save_part(row["id"], path.stem, parts[path.stem])
        spec = {key: row[key] for key in ("id", "system", "classifier", "paper") if key in row}
        rows.append(score_row(spec, parts, num_classes=len(first["classes"]), metric=row["metric"],
                              seed=first["seed"], n_bootstrap=config.get("n_bootstrap", 1000)))
        predictions += prediction_lines(row["id"], parts)
    for run in runs:
        if (run / "models").is_dir():
            shutil.copytree(run / "models", record.out / "models", dirs_exist_ok=True)
    record.finish(rows, protocol=first["protocol"], predictions=predictions, label_view=first["corpus"].get("label_view"),
                  extra={"folds": folds, "classes": first["classes"]}, table_title=f"{first['script']} (merged)",
                  notes=[f"Merged from {', '.join(str(r) for r in runs)}."])
    return record.out
