"""A study's summary on its parent run: the trials table, the best parameters, the stage table,
Optuna's figures, and the lines the command prints."""

import json
import tempfile
from pathlib import Path

from optuna.trial import TrialState

from .. import tracking
from ..plots import study as study_plots
from ..study.space import label
from ..study.stages import best_trial, stage_table
from ..stores import budget


def summary_text(study, spec, stages):
    """The trials, each stage's budget, best value and ranges, and the best trial, in a few lines."""
    lines = [f"study {spec.name}: {len(budget.used(study.get_trials(deepcopy=False)))} trials"]
    for row in stages:
        ranges = ", ".join(f"{k} {v}" for k, v in row["ranges"].items())
        best = "-" if row["best_value"] is None else f"{row['best_value']:.4f}"
        lines.append(f"  stage {row['stage']}: {row['trials']}/{row['budget']} trials, "
                     f"best {spec.metric} {best}; {ranges}")
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if complete:
        best = best_trial(study, spec)
        params = ", ".join(f"{k}={label(v)}" for k, v in best.params.items())
        lines.append(f"best: trial {best.number}, {spec.metric}={best.value:.4f}: {params}")
    return "\n".join(lines)


def log_summary(run, study):
    """trials.csv, best parameters, the stage table and Optuna's figures, on the parent run."""
    client, run_id, spec = run.client, run.parent, run.spec
    stages = stage_table(study, spec)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        study.trials_dataframe().to_csv(folder / "trials.csv", index=False)
        (folder / "stages.json").write_text(json.dumps(stages, indent=2))
        (folder / "summary.txt").write_text(summary_text(study, spec, stages) + "\n")
        complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if complete:
            best = best_trial(study, spec)
            (folder / "best_params.json").write_text(json.dumps(
                {k: label(v) for k, v in best.params.items()} | {"value": best.value}, indent=2))
            tracking.log_batch(client, run_id, metrics=[tracking.Metric(
                f"best_{spec.metric}", best.value, 0, 0)], params=tracking.params_of(
                {f"best.{k}": v for k, v in best.params.items()}))
            if spec.artifacts.get("study_figures", True):  # seconds of drawing: a short time budget goes without
                study_plots.study_figures(study, folder, spec.space, spec.metric)
                study_plots.stage_values(study, spec, folder / "stages.png")
        client.log_artifacts(run_id, str(folder), "study")
    return stages
