"""``python -m search report <study>``: a Markdown report of a study, from what MLflow holds.

The report reads the study's MLflow experiment: every parent run tagged
``study=<name>`` (one per invocation of ``python -m search run``) and their
child runs ``trial-<n>``. It writes ``report.md`` with a table of the trials
and PNG figures redrawn from the tracked per-epoch metrics, and logs them
under ``report/`` on the latest parent run:

- test loss and accuracy against each searched parameter, failed (diverged)
  trials marked (seed 000's test loss per slope; seed 004's table by depth);
- learning curves of the trials overlaid (seed 003);
- the largest weight-gradient norm per layer at the first and last epoch
  (seed 004);
- the learned PReLU slope of each layer (seed 000, problem 2);
- the objective under each seed of the repeats, with mean and std (seed 003);
- for studies of at most four trials, each trial's confusion matrix and top-3
  scored images as logged by the trial (seed 002).

An Optuna storage is optional: given, its trial states and fail reasons take
precedence over the MLflow tags (they are the same unless a write was lost).
"""

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import tracking
from ..plots import report as figures, style
from ..tracking.names import (CHAMPION_SOURCE, FAIL_REASON, MLFLOW_RUN_ID, OPTUNA_STATE, PARENT_RUN, PRUNE_REASON, STAGE, STUDY,
                    TRIAL_NUMBER)
from ..plots.report import rounded
from ..study.file import load_study

REPORT_FILE = "report.md"
ARTIFACT_FOLDER = "report"
MAX_LINES = 12  # trials drawn in one overlay figure; beyond, the best ones
SMALL_STUDY = 4  # at most this many trials: their own logged figures are shown too


def test_score(metrics_of):
    """The test score a study reports, as (metric key, words): R^2 for a regression's, else accuracy.

    ``metrics_of``: the metrics dicts of its runs.
    """
    if any("test_r2" in metrics for metrics in metrics_of):
        return "test_r2", "test R^2"
    return "test_accuracy", "test accuracy"


class ReportError(ValueError):
    """Nothing to report on; the message is one line."""


@dataclass
class Trial:
    """One trial as MLflow holds it: a child run ``trial-<n>``."""

    run_id: str
    number: int
    parent: int  # index of its invocation (parent run), oldest first
    state: str
    stage: str
    params: dict  # the searched params, as logged (strings)
    metrics: dict  # latest value of every metric
    fail_reason: str = ""
    histories: dict = field(default_factory=dict)  # metric -> [(step, value)], loaded on demand

    def label(self, names):
        return ", ".join(f"{name}={rounded(self.params.get(name, '?'), 5, 3)}" for name in names) or f"trial {self.number}"


# ---------------------------------------------------------------- reading


def resolve_study(study_name_or_file):
    """``(name, spec or None)``: a path to a study file gives its name and spec."""
    text = str(study_name_or_file)
    path = Path(text)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        spec = load_study(path)
        return spec.name, spec
    return text, None


def _search_all(client, experiment_ids, filter_string, order_by=None):
    runs, token = [], None
    while True:
        page = client.search_runs(experiment_ids, filter_string=filter_string, max_results=1000,
                                  order_by=order_by, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def _quoted(value):
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def find_parents(client, name):
    """The study's parent runs, oldest first, from its experiment (or any, under ``mlflow run``)."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        experiment_ids = [experiment.experiment_id]
    else:
        experiment_ids = [e.experiment_id for e in client.search_experiments()]
    parents = _search_all(client, experiment_ids, f"tags.{STUDY} = {_quoted(name)}",
                          order_by=["attributes.start_time ASC"]) if experiment_ids else []
    if not parents:
        raise ReportError(f"no MLflow runs of study {name!r} at {tracking.mask_password(client.tracking_uri)} "
                          "(run 'python -m search run' with the same --tracking-uri first)")
    return parents


def find_trials(client, parents, searched):
    """Every child run of every parent, as Trials, in trial-number order."""
    trials = []
    for index, parent in enumerate(parents):
        children = _search_all(client, [parent.info.experiment_id],
                               f"tags.{PARENT_RUN} = {_quoted(parent.info.run_id)}")
        for run in children:
            params, tags = run.data.params, run.data.tags
            number = params.get(TRIAL_NUMBER) or run.info.run_name.rpartition("-")[2]
            state = tags.get(OPTUNA_STATE) or {"RUNNING": "RUNNING", "FINISHED": "COMPLETE"}.get(
                run.info.status, "FAIL")
            trials.append(Trial(
                run_id=run.info.run_id, number=int(number) if str(number).isdigit() else -1,
                parent=index, state=state, stage=params.get(STAGE, "-"),
                params={k: params[k] for k in searched if k in params},
                metrics=dict(run.data.metrics),
                fail_reason=tags.get(FAIL_REASON, "") or tags.get(PRUNE_REASON, "")))
    return sorted(trials, key=lambda t: (t.number, t.parent))


def searched_names(parents, spec=None):
    """The searched parameters: the parents' ``space.*`` params, in the study file's order if given."""
    names = [name for name, _ in spec.space] if spec is not None else []
    for parent in parents:
        for key in parent.data.params:
            if key.startswith("space.") and key[6:] not in names:
                names.append(key[6:])
    return names


def merge_optuna(trials, storage, name):
    """Trial states and fail reasons from the Optuna storage, where it has the trial.

    Returns a one-line summary of the storage's trials, or None without storage.
    """
    if not storage:
        return None
    import optuna

    from ..stores.storage import open_storage

    try:
        study = optuna.load_study(study_name=name, storage=open_storage(storage))
    except KeyError:
        return f"the Optuna storage has no study {name!r}"
    by_run = {t.user_attrs.get(MLFLOW_RUN_ID): t for t in study.get_trials(deepcopy=False)}
    for trial in trials:
        frozen = by_run.get(trial.run_id)
        if frozen is not None:
            trial.state = frozen.state.name
            trial.fail_reason = frozen.user_attrs.get(FAIL_REASON) or trial.fail_reason
    counts = {}
    for frozen in study.get_trials(deepcopy=False):
        counts[frozen.state.name] = counts.get(frozen.state.name, 0) + 1
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))


def history(client, trial, key):
    """``[(step, value)]`` of one metric of one trial, step order (cached on the trial).

    Runs logged before the objective got its own name (``<metric>_mean``)
    hold it under the metric's name at the last epoch's step, beside that
    epoch's value of the first repeat: at a step with two values, the
    per-epoch one is the first repeat's final value (``<key>_repeat0``) when
    logged, else the earlier.
    """
    if key not in trial.histories:
        points = client.get_metric_history(trial.run_id, key) if key in trial.metrics else []
        by_step = {}
        for point in sorted(points, key=lambda m: (m.step, m.timestamp)):
            by_step.setdefault(point.step, []).append(point.value)
        first_repeat = trial.metrics.get(f"{key}_repeat0")
        curve = []
        for step, values in sorted(by_step.items()):
            if len(values) > 1 and first_repeat is not None:
                values = sorted(values, key=lambda v: abs(v - first_repeat))
            curve.append((step, values[0]))
        trial.histories[key] = curve
    return trial.histories[key]


def numbered(metrics, pattern):
    """``{i: value}`` of the metrics named ``pattern.format(i)`` (e.g. grad_norm_max_layer{})."""
    regex = re.compile("^" + re.escape(pattern).replace(r"\{\}", r"(\d+)") + "$")
    found = {}
    for key, value in metrics.items():
        match = regex.match(key)
        if match:
            found[int(match.group(1))] = value
    return dict(sorted(found.items()))


def final_value(trial, metric):
    """The trial's objective: the mean over repeats (``<metric>_repeat<i>``) when logged."""
    repeats = numbered(trial.metrics, metric + "_repeat{}")
    if repeats:
        return float(np.mean(list(repeats.values())))
    return trial.metrics.get(f"{metric}_mean", trial.metrics.get(metric))


# ---------------------------------------------------------------- formatting


def fmt(value, digits=4):
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits - 1}f}" if abs(value) >= 1 else f"{value:.{digits}f}"


def cell(value):
    text = fmt(rounded(value))
    return text.replace("|", "\\|").replace("\n", " ")


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------- figures (drawn by search.plots)


def varying(trials, names):
    """The searched names that take more than one value among ``trials``."""
    return [n for n in names if len({t.params.get(n) for t in trials}) > 1]


def score_panels(trials, metric):
    """The panels of a parameter figure: test loss and test score, else the objective."""
    if not any("test_loss" in t.metrics for t in trials):
        return [(metric, metric.replace("_", " "))]
    return [("test_loss", "test loss"), test_score(t.metrics for t in trials)]


def param_figure(trials, name, others, metric, path, log=False):
    """Test loss and test accuracy (else the objective) against one searched parameter."""
    return figures.param_figure(trials, name, others, score_panels(trials, metric), path, log=log)


def chosen(trials, metric, direction, limit=MAX_LINES):
    """At most ``limit`` trials to draw: all, else the best complete ones."""
    if len(trials) <= limit:
        return trials
    complete = [t for t in trials if t.state == "COMPLETE" and final_value(t, metric) is not None]
    complete.sort(key=lambda t: final_value(t, metric), reverse=direction == "maximize")
    return sorted(complete[:limit], key=lambda t: t.number)


def curves_figure(client, trials, names, path):
    """Train loss, validation loss and validation accuracy per epoch, a line per trial."""
    for trial in trials:
        for key in figures.CURVES:
            history(client, trial, key)
    return figures.learning_curves(trials, names, path)


def gradient_rows(client, trials):
    """Per trial: the per-layer grad_norm_max at the first and at the last epoch."""
    rows = []
    for trial in trials:
        layers = numbered(trial.metrics, "grad_norm_max_layer{}")
        if not layers:
            continue
        first, last = {}, {}
        for layer in layers:
            points = history(client, trial, f"grad_norm_max_layer{layer}")
            if points:
                first[layer], last[layer] = points[0], points[-1]
        rows.append((trial, first, last))
    return rows


def prelu_figure(client, trials, names, path):
    """The PReLU slope of each layer per epoch, a line per trial and layer."""
    for trial in trials:
        for layer in numbered(trial.metrics, figures.PRELU_SLOPE + "{}"):
            history(client, trial, f"{figures.PRELU_SLOPE}{layer}")
    return figures.prelu_figure(trials, names, path)


# ---------------------------------------------------------------- sections


def trials_section(trials, names, metric, several_parents):
    score, score_words = test_score(t.metrics for t in trials)
    header = ["trial"] + (["invocation"] if several_parents else []) + ["stage", "state"] + names + [
        "epochs", metric, f"{metric} std", score_words, "test loss", "fail reason"]
    rows = []
    for t in trials:
        epochs = t.histories.get("train_loss")
        rows.append([str(t.number)] + ([str(t.parent + 1)] if several_parents else []) + [
            _stage(t.stage), t.state]
            + [t.params.get(n, "-") for n in names]
            + [str(len(epochs)) if epochs else "-",
               final_value(t, metric) if t.state == "COMPLETE" else None,
               t.metrics.get(f"{metric}_std") if t.state == "COMPLETE" else None,
               t.metrics.get(score), t.metrics.get("test_loss"),
               t.fail_reason if t.state in ("FAIL", "PRUNED") else ""])
    return table(header, rows)


def _stage(logged):
    """Stages are logged from 1, as ``python -m search run`` prints them."""
    return str(logged)


def gradient_section(rows, names):
    header = ["trial", *names, "layers", "epoch 1: first layer", "epoch 1: last layer", "epoch 1: first/last",
              "last epoch: first layer", "last epoch: last layer"]
    body = []
    for trial, first, last in rows:
        if not first:
            continue
        lo, hi = min(first), max(first)
        ratio = first[lo][1] / first[hi][1] if first[hi][1] else None
        body.append([str(trial.number), *[trial.params.get(n, "-") for n in names], str(len(first)),
                     first[lo][1], first[hi][1], ratio, last[lo][1], last[hi][1]])
    return table(header, body)


def prelu_section(trials, names):
    """Final PReLU slope per layer: the mean over repeats where each repeat's slope is logged."""
    rows, from_repeats = [], False
    layers = sorted({i for t in trials for i in numbered(t.metrics, "prelu_slope_layer{}")})
    for trial in trials:
        cells = []
        for layer in layers:
            repeats = numbered(trial.metrics, f"prelu_slope_layer{layer}_repeat{{}}")
            if repeats:
                from_repeats = True
                values = list(repeats.values())
                cells.append(f"{fmt(float(np.mean(values)))} ± {fmt(float(np.std(values)))}")
            else:
                cells.append(trial.metrics.get(f"prelu_slope_layer{layer}"))
        losses = numbered(trial.metrics, "train_loss_repeat{}")
        loss = float(np.mean(list(losses.values()))) if losses else trial.metrics.get("train_loss")
        if any(c is not None for c in cells):
            rows.append([str(trial.number), *[trial.params.get(n, "-") for n in names], *cells, loss])
    note = ("Mean ± std over the repeats." if from_repeats else
            "The first repeat's slopes only: the trial runs log per-epoch PReLU slopes of repeat 0 "
            "and no per-repeat final slopes (prelu_slope_layer<i>_repeat<r>), so no mean over "
            "repeats can be formed.")
    return table(["trial", *names, *[f"layer {i}" for i in layers], "final train loss"], rows) + "\n\n" + note


def seeds_section(trials, names, metric, seeds):
    rows, width = [], 0
    for trial in trials:
        repeats = numbered(trial.metrics, metric + "_repeat{}")
        if len(repeats) < 2:
            continue
        width = max(width, len(repeats))
        values = list(repeats.values())
        rows.append((trial, values))
    if not rows:
        return None
    labels = [f"seed {seeds[i]}" if seeds and i < len(seeds) else f"repeat {i}" for i in range(width)]
    body = [[str(t.number), *[t.params.get(n, "-") for n in names], *values, *[None] * (width - len(values)),
             float(np.mean(values)), float(np.std(values))] for t, values in rows]
    return table(["trial", *names, *labels, "mean", "std"], body)


def header_section(name, parents, trials, names, metric, direction, optuna_summary, description=""):
    latest = parents[-1]
    params = latest.data.params
    lines = [f"# Study `{name}`", ""]
    if description:
        lines += [description, ""]
    counts = {}
    for t in trials:
        counts[t.state] = counts.get(t.state, 0) + 1
    lines += [
        f"- MLflow experiment `{latest.info.experiment_id}`, {len(parents)} invocation(s) "
        f"(parent runs, oldest first: {', '.join(f'`{p.info.run_id}` {p.info.status}' for p in parents)})",
        f"- trials: {len(trials)} ({', '.join(f'{n} {s}' for s, n in sorted(counts.items()))})",
    ]
    if optuna_summary:
        lines.append(f"- Optuna storage: {optuna_summary}")
    if "dataset" in params:
        lines.append(f"- data: {params['dataset']}, {params.get('n_train', '?')} training, "
                     f"{params.get('n_val', '?')} validation, {params.get('n_test', '?')} test rows")
    settings = [f"{k} {params[k]}" for k in ("epochs", "repeats", "trial_budget", "sampler", "pruner")
                if k in params]
    if settings:
        lines.append(f"- {', '.join(settings)}; objective {metric} ({direction})")
    fixed = {k[6:]: v for k, v in params.items() if k.startswith("fixed.")}
    if fixed:
        lines.append("- fixed: " + ", ".join(f"{k}={v}" for k, v in sorted(fixed.items())))
    space = {k[6:]: v for k, v in params.items() if k.startswith("space.")}
    if space:
        lines.append("- searched: " + ", ".join(f"{k} {v}" for k, v in space.items()))
    lines += best_lines(parents, trials, names, metric, direction)
    return "\n".join(lines)


def best_lines(parents, trials, names, metric, direction):
    """The header's lines on the best trial and on the registered model, where there are some."""
    lines = []
    score, score_words = test_score([t.metrics for t in trials] + [p.data.metrics for p in parents])
    complete = [t for t in trials if t.state == "COMPLETE" and final_value(t, metric) is not None]
    if complete:
        pick = max if direction == "maximize" else min
        best = pick(complete, key=lambda t: final_value(t, metric))
        lines.append(f"- best trial: {best.number} ({best.label(names)}), "
                     f"{metric} {fmt(final_value(best, metric))}, {score_words} "
                     f"{fmt(best.metrics.get(score))}, test loss {fmt(best.metrics.get('test_loss'))}")
    champion = next((p for p in reversed(parents) if score in p.data.metrics), None)
    if champion is not None:
        source = champion.data.tags.get(CHAMPION_SOURCE, "refit")
        which = ("best refit on train + validation" if source == "refit"
                 else f"registered model ({source})")
        lines.append(f"- {which} (run `{champion.info.run_id}`): {score_words} "
                     f"{fmt(champion.data.metrics[score])}, test loss "
                     f"{fmt(champion.data.metrics.get('test_loss'))}")
    return lines


def trial_artifacts(client, trials, folder):
    """The logged confusion matrix and top-3 images of each trial of a small study."""
    shown = []
    for trial in trials:
        for name in ("confusion_matrix.png", "top3_images.png"):
            try:
                local = client.download_artifacts(trial.run_id, f"plots/{name}", str(folder))
            except Exception:
                continue  # not drawn (failed trial, trial_plots off, a figure that failed)
            target = folder / f"trial{trial.number}_{name}"
            Path(local).replace(target)
            shown.append((trial, target))
    plots_dir = folder / "plots"
    if plots_dir.is_dir() and not any(plots_dir.iterdir()):
        plots_dir.rmdir()
    return shown


# ---------------------------------------------------------------- report


def report(study_name_or_file, storage=None, tracking_uri=None, out_dir=None):
    """Write ``report.md`` and its figures for a study, and log them on its latest parent run.

    Parameters
    ----------
    study_name_or_file : str or Path
        The study's name, or its study file (for its name and seeds).
    storage : str, default=None
        An Optuna storage URL; optional, its trial states take precedence.
    tracking_uri : str, default=None
        MLflow tracking URI; default ``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db``.
    out_dir : str or Path, default=None
        Where to write; default ``reports/<study>`` in the working folder.

    Returns
    -------
    Path
        The written ``report.md``.

    Raises
    ------
    StudyFileError, TrackingUnreachable, ReportError
        One line each: a bad study file, no tracking server, no runs of the study.
    """
    name, spec = resolve_study(study_name_or_file)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    client = tracking.connect(tracking_uri, create=False)  # a report never creates a database
    parents = find_parents(client, name)
    names = searched_names(parents, spec)
    trials = find_trials(client, parents, names)
    optuna_summary = merge_optuna(trials, storage, name)
    params = parents[-1].data.params
    metric = params.get("metric", "val_accuracy")
    direction = params.get("direction", "maximize" if metric.endswith("accuracy") else "minimize")
    seeds = spec.seeds if spec is not None else None
    folder = Path(out_dir) if out_dir is not None else Path("reports") / name
    folder.mkdir(parents=True, exist_ok=True)
    for trial in trials:
        history(client, trial, "train_loss")  # its length is the trial's epochs

    sections = [header_section(name, parents, trials, names, metric, direction, optuna_summary,
                               spec.description if spec is not None else "")]
    figures = []
    with style.style():  # the figures' one style, whatever was drawn before in this process
        figures += _body(client, trials, parents, names, metric, direction, seeds, folder, sections)
    path = folder / REPORT_FILE
    path.write_text("\n\n".join(sections) + "\n")
    latest = parents[-1].info.run_id
    for file in [path, *figures]:
        client.log_artifact(latest, str(file), ARTIFACT_FOLDER)
    return path


def _body(client, trials, parents, names, metric, direction, seeds, folder, sections):
    """Append the trial table and the figure sections; returns the files written."""
    figures = []

    def figure(title, path, caption=""):
        figures.append(path)
        sections.append(f"### {title}\n\n![{title}]({path.name})" + (f"\n\n{caption}" if caption else ""))

    sections.append("## Trials\n\n" + (trials_section(trials, names, metric, len(parents) > 1)
                                        if trials else "No trial runs yet."))
    if not trials:
        return figures
    sections.append(f"`{metric}` is the mean over the repeats of the final epoch's value; test "
                    "scores are the mean over the repeats on the test set (reported, never used "
                    "to choose). A FAIL trial's reason is its divergence or error.")
    sections.append("## Figures")
    moving = varying(trials, names)
    space = {k[6:]: v for k, v in parents[-1].data.params.items() if k.startswith("space.")}
    for param in moving[:8]:
        others = [o for o in moving if o != param]
        path = param_figure(trials, param, others, metric, folder / f"test_vs_{param}.png",
                            log=space.get(param, "").endswith(" log"))
        figure(f"Test scores per {param}", path,
               "Complete trials; a red cross marks a value whose training failed (diverged).")
    _training_sections(client, trials, moving or names, metric, direction, folder, sections, figure)
    variance = seeds_section(trials, moving or names, metric, seeds)
    if variance:
        sections.append(f"## {metric} under each seed\n\n{variance}")
    if len(trials) <= SMALL_STUDY:
        figures += _trial_artifacts_section(client, trials, names, folder, sections)
    return figures


def _training_sections(client, trials, names, metric, direction, folder, sections, figure):
    """Learning curves, gradient norms and PReLU slopes of the trials drawn (``figure`` adds each)."""
    drawn = chosen(trials, metric, direction)
    figure("Learning curves", curves_figure(client, drawn, names, folder / "learning_curves.png"),
           "" if len(drawn) == len(trials) else f"The {len(drawn)} best trials of {len(trials)}.")
    rows = gradient_rows(client, drawn)
    if rows:
        figure("Largest weight-gradient norm per layer",
               figures.gradients_figure(rows, names, folder / "gradient_norms.png"),
               "grad_norm_max_layer<i>: the largest norm of layer i's weight gradient over the "
               "epoch's batches (layer 0 is next to the input).\n\n" + gradient_section(rows, names))
    prelu = [t for t in trials if numbered(t.metrics, "prelu_slope_layer{}")]
    if prelu:
        sections.append("## PReLU slopes after training\n\n" + prelu_section(prelu, names))
        figure("PReLU slopes per epoch", prelu_figure(client, chosen(prelu, metric, direction),
                                                      names, folder / "prelu_slopes.png"))


def _trial_artifacts_section(client, trials, names, folder, sections):
    """A small study's own logged confusion matrices and top-3 images; returns the files."""
    shown = trial_artifacts(client, trials, folder)
    if shown:
        sections.append("## Confusion matrices and top-3 scored images (validation set)\n\n"
                        "As each trial logged them; the confusion matrix is normalised over the "
                        "predicted label.\n\n" + "\n\n".join(
                            f"trial {t.number} ({t.label(names)}): ![{p.name}]({p.name})" for t, p in shown))
    return [p for _, p in shown]
