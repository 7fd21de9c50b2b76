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

from . import names, tracking
from .studyfile import load_study

REPORT_FILE = "report.md"
ARTIFACT_FOLDER = "report"
MAX_LINES = 12  # trials drawn in one overlay figure; beyond, the best ones
MAX_GROUPS = 8  # series in a parameter figure before they are no longer told apart
SMALL_STUDY = 4  # at most this many trials: their own logged figures are shown too
CURVES = ("train_loss", "val_loss", "val_accuracy")


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
    parents = _search_all(client, experiment_ids, f"tags.{names.STUDY} = {_quoted(name)}",
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
                               f"tags.{names.PARENT_RUN} = {_quoted(parent.info.run_id)}")
        for run in children:
            params, tags = run.data.params, run.data.tags
            number = params.get(names.TRIAL_NUMBER) or run.info.run_name.rpartition("-")[2]
            state = tags.get(names.OPTUNA_STATE) or {"RUNNING": "RUNNING", "FINISHED": "COMPLETE"}.get(
                run.info.status, "FAIL")
            trials.append(Trial(
                run_id=run.info.run_id, number=int(number) if str(number).isdigit() else -1,
                parent=index, state=state, stage=params.get(names.STAGE, "-"),
                params={k: params[k] for k in searched if k in params},
                metrics=dict(run.data.metrics),
                fail_reason=tags.get(names.FAIL_REASON, "") or tags.get(names.PRUNE_REASON, "")))
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

    from .storage import open_storage

    try:
        study = optuna.load_study(study_name=name, storage=open_storage(storage))
    except KeyError:
        return f"the Optuna storage has no study {name!r}"
    by_run = {t.user_attrs.get(names.MLFLOW_RUN_ID): t for t in study.get_trials(deepcopy=False)}
    for trial in trials:
        frozen = by_run.get(trial.run_id)
        if frozen is not None:
            trial.state = frozen.state.name
            trial.fail_reason = frozen.user_attrs.get(names.FAIL_REASON) or trial.fail_reason
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


def rounded(value, longest=7, digits=4):
    """A logged number as people read it: longer than ``longest`` characters, ``digits`` significant digits."""
    if isinstance(value, str) and len(value) > longest and as_number(value) is not None:
        return f"{float(value):.{digits}g}"
    return value


def cell(value):
    text = fmt(rounded(value))
    return text.replace("|", "\\|").replace("\n", " ")


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def as_number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------- figures


def _plt():
    from . import plots  # sets the Agg backend

    return plots


def _integer_locator():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _max_locator(n):
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(n)


def _null_locator():
    from matplotlib.ticker import NullLocator

    return NullLocator()


LEGEND_FONT = 7  # points
LEGEND_WRAP = 42  # characters a legend line


def _subplots(n, width, height=3.4, lines=0, **options):
    """``n`` panels side by side, laid out so that no label is clipped (drawn once per report).

    ``lines`` above ten get distinct colours; :func:`_legend` widens the
    figure for its legend, so the panels keep their size.
    """
    plt = _plt().plt
    fig, axes = plt.subplots(1, n, figsize=(width * n, height), squeeze=False, layout="constrained",
                             **options)
    if lines > 10:
        colours = plt.cm.tab20(np.linspace(0, 1, 20))[:lines]
        for ax in axes[0]:
            ax.set_prop_cycle(color=colours)
    return fig, axes


def _legend(fig, ax):
    """One legend right of the panels, from ``ax``'s labelled artists; the figure grows to hold it."""
    import textwrap

    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    labels = ["\n".join(textwrap.wrap(label, LEGEND_WRAP, subsequent_indent="  ")[:4]) for label in labels]
    chars = max(len(line) for label in labels for line in label.split("\n"))
    lines = sum(label.count("\n") + 1 for label in labels)
    width, height = fig.get_size_inches()
    fig.set_size_inches(width + chars * LEGEND_FONT * 0.55 / 72 + 0.6,
                        max(height, lines * LEGEND_FONT * 1.45 / 72 + 0.8))
    fig.legend(handles, labels, loc="outside right center", fontsize=LEGEND_FONT, frameon=False)


def varying(trials, names):
    """The searched names that take more than one value among ``trials``."""
    return [n for n in names if len({t.params.get(n) for t in trials}) > 1]


def param_figure(trials, name, others, metric, path, log=False):
    """Test loss and test accuracy (else the objective) against one searched parameter.

    Series by the combination of the other varying parameters when there are
    few; failed trials are marked at the top of each panel. Points are not
    joined: neighbouring values are unrelated trials. ``log``: the parameter
    was sampled on a log scale, and is drawn on one.
    """
    plots = _plt()
    values = [t.params.get(name) for t in trials]
    numeric = all(as_number(v) is not None for v in values)
    if numeric:
        position = {v: as_number(v) for v in values}
    else:
        order = sorted(set(values), key=str)
        position = {v: i for i, v in enumerate(order)}
    groups = {}
    for trial in trials:
        key = ", ".join(f"{o}={rounded(trial.params.get(o), 5, 3)}" for o in others)
        groups.setdefault(key, []).append(trial)
    grouped = 1 < len(groups) <= MAX_GROUPS
    if not grouped:
        groups = {"": trials}
    panels = [("test_loss", "test loss"), test_score(t.metrics for t in trials)]
    if not any("test_loss" in t.metrics for t in trials):
        panels = [(metric, metric.replace("_", " "))]
    fig, axes = _subplots(len(panels), width=3.9, lines=len(groups))
    for ax, (key, title) in zip(axes[0], panels):
        for label, members in groups.items():
            done = sorted((position[t.params.get(name)], t.metrics[key]) for t in members
                          if t.state == "COMPLETE" and key in t.metrics)
            if done:
                ax.plot(*zip(*done), "o", label=label or None, markersize=5, alpha=0.85)
        failed = [position[t.params.get(name)] for t in trials if t.state == "FAIL"]
        if failed:
            low, high = ax.get_ylim() if ax.lines else (0.0, 1.0)
            ax.scatter(failed, [high] * len(failed), marker="x", color="red", s=60, clip_on=False,
                       label="failed (diverged)", zorder=3)
            ax.set_ylim(low, high)
        ax.set(xlabel=name + (" (log)" if log else ""), ylabel=title, title=f"{title} per {name}")
        if numeric:
            xs = [p for p in position.values()]
            if min(xs) > 0 and (log or max(xs) / min(xs) >= 100):
                _log_axis(ax.xaxis, np.asarray(xs))
            else:
                ax.xaxis.set_major_locator(_max_locator(5))
        else:
            ax.set_xticks(list(position.values()), [str(v) for v in position], rotation=20, ha="right",
                          rotation_mode="anchor")
        ax.grid(alpha=0.3)
    _legend(fig, axes[0][-1])
    return plots.save(fig, path)


def _log_if_wide(ax):
    """A log y axis when the drawn positive values span more than a decade."""
    values = np.concatenate([line.get_ydata() for line in ax.lines]) if ax.lines else np.array([])
    values = values[np.isfinite(values)]
    if len(values) and values.min() > 0 and values.max() / values.min() > 10:
        _log_axis(ax.yaxis, values)


def _log_axis(axis, values):
    """A log scale with readable labels: 1-2-5 ticks within three decades, else decades only."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    if axis is axis.axes.yaxis:
        axis.axes.set_yscale("log")
    else:
        axis.axes.set_xscale("log")
    wide = values.max() / values.min() > 1e3
    axis.set_major_locator(LogLocator(base=10, subs=(1.0,) if wide else (1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_locator(_null_locator())  # log minor ticks are slow to lay out


def chosen(trials, metric, direction, limit=MAX_LINES):
    """At most ``limit`` trials to draw: all, else the best complete ones."""
    if len(trials) <= limit:
        return trials
    complete = [t for t in trials if t.state == "COMPLETE" and final_value(t, metric) is not None]
    complete.sort(key=lambda t: final_value(t, metric), reverse=direction == "maximize")
    return sorted(complete[:limit], key=lambda t: t.number)


def curves_figure(client, trials, names, path):
    """Train loss, validation loss and validation accuracy per epoch, a line per trial."""
    plots = _plt()
    keys = [k for k in CURVES if any(k in t.metrics for t in trials)]
    fig, axes = _subplots(len(keys), width=3.6, lines=len(trials))
    for ax, key in zip(axes[0], keys):
        for trial in trials:
            points = [(s, v) for s, v in history(client, trial, key) if math.isfinite(v)]
            if points:
                style = "--" if trial.state != "COMPLETE" else "-"
                ax.plot(*zip(*points), style, label=f"{trial.number}: {trial.label(names)}")
        ax.set(xlabel="epoch", ylabel=key.replace("_", " "), title=key.replace("_", " "))
        _log_if_wide(ax)
        ax.xaxis.set_major_locator(_integer_locator())
        ax.grid(alpha=0.3)
    _legend(fig, axes[0][-1])
    fig.suptitle("learning curves (dashed: failed or pruned)", fontsize=9)
    return plots.save(fig, path)


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


def gradients_figure(rows, names, path):
    plots = _plt()
    fig, axes = _subplots(2, width=3.8, lines=len(rows), sharey=True)
    axes = axes[0]
    for trial, first, last in rows:
        for ax, points in zip(axes, (first, last)):
            layers = sorted(points)
            ax.plot(layers, [max(points[i][1], 1e-30) for i in layers], "o-", markersize=3,
                    label=f"{trial.number}: {trial.label(names)}")
    epochs = sorted({p[0] for _, _, last in rows for p in last.values()})
    for ax, title in zip(axes, ("first epoch", f"last epoch ({', '.join(map(str, epochs))})")):
        ax.set(xlabel="layer (0 = input side)", title=title)
        ax.xaxis.set_major_locator(_integer_locator())
        ax.grid(alpha=0.3)
    _log_if_wide(axes[0])  # shared with the second panel
    axes[0].set_ylabel("max weight-gradient norm")
    _legend(fig, axes[1])
    return plots.save(fig, path)


def prelu_figure(client, trials, names, path):
    plots = _plt()
    fig, axes = _subplots(1, width=5.0)
    ax = axes[0][0]
    for trial in trials:
        for layer in numbered(trial.metrics, "prelu_slope_layer{}"):
            points = history(client, trial, f"prelu_slope_layer{layer}")
            if points:
                ax.plot(*zip(*points), label=f"{trial.number} layer {layer}: {trial.label(names)}")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set(xlabel="epoch", ylabel="PReLU slope (mean over the layer)", title="PReLU slopes (first repeat)")
    ax.xaxis.set_major_locator(_integer_locator())
    _legend(fig, ax)
    ax.grid(alpha=0.3)
    return plots.save(fig, path)


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
        source = champion.data.tags.get(names.CHAMPION_SOURCE, "refit")
        which = ("best refit on train + validation" if source == "refit"
                 else f"registered model ({source})")
        lines.append(f"- {which} (run `{champion.info.run_id}`): {score_words} "
                     f"{fmt(champion.data.metrics[score])}, test loss "
                     f"{fmt(champion.data.metrics.get('test_loss'))}")
    return "\n".join(lines)


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
    with _plt().style():  # the figures' one style, whatever was drawn before in this process
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
    if trials:
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
        drawn = chosen(trials, metric, direction)
        figure("Learning curves", curves_figure(client, drawn, moving or names, folder / "learning_curves.png"),
               "" if len(drawn) == len(trials) else f"The {len(drawn)} best trials of {len(trials)}.")
        rows = gradient_rows(client, drawn)
        if rows:
            figure("Largest weight-gradient norm per layer",
                   gradients_figure(rows, moving or names, folder / "gradient_norms.png"),
                   "grad_norm_max_layer<i>: the largest norm of layer i's weight gradient over the "
                   "epoch's batches (layer 0 is next to the input).\n\n" + gradient_section(rows, moving or names))
        prelu = [t for t in trials if numbered(t.metrics, "prelu_slope_layer{}")]
        if prelu:
            sections.append("## PReLU slopes after training\n\n" + prelu_section(prelu, moving or names))
            figure("PReLU slopes per epoch", prelu_figure(client, chosen(prelu, metric, direction),
                                                          moving or names, folder / "prelu_slopes.png"))
        variance = seeds_section(trials, moving or names, metric, seeds)
        if variance:
            sections.append(f"## {metric} under each seed\n\n{variance}")
        if len(trials) <= SMALL_STUDY:
            shown = trial_artifacts(client, trials, folder)
            if shown:
                sections.append("## Confusion matrices and top-3 scored images (validation set)\n\n"
                                "As each trial logged them; the confusion matrix is normalised over the "
                                "predicted label.\n\n" + "\n\n".join(
                                    f"trial {t.number} ({t.label(names)}): ![{p.name}]({p.name})"
                                    for t, p in shown))
                figures += [p for _, p in shown]
    return figures
