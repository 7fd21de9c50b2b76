"""The report's figures: their data built from the trials' tracked metrics, then drawn by
:mod:`search.plots.report`.

The builders (``*_info``, :func:`curve_lines`, :func:`gradient_rows`, :func:`prelu_lines`) read
:class:`~search.reporting.collect.Trial` objects whose histories are loaded; the ``draw_*``
functions load what they need through the report's client first.
"""

from ..plots import report as plots
from ..plots.style import as_number, rounded
from ..tracking.states import COMPLETE, FAIL
from .collect import final_value, history, numbered, test_score

MAX_LINES = 12  # trials drawn in one overlay figure; beyond, the best ones
MAX_GROUPS = 8  # series in a parameter figure before they are no longer told apart
CURVES = ("train_loss", "val_loss", "val_accuracy")
PRELU_SLOPE = "prelu_slope_layer"


def varying(trials, names):
    """The searched names that take more than one value among ``trials``."""
    return [n for n in names if len({t.params.get(n) for t in trials}) > 1]


def chosen(trials, metric, direction, limit=MAX_LINES):
    """At most ``limit`` trials to draw: all, else the best complete ones."""
    if len(trials) <= limit:
        return trials
    complete = [t for t in trials if t.state == COMPLETE and final_value(t, metric) is not None]
    complete.sort(key=lambda t: final_value(t, metric), reverse=direction == "maximize")
    return sorted(complete[:limit], key=lambda t: t.number)


def line_label(trial, names):
    """A trial's line in a legend: its number and searched values."""
    return f"{trial.number}: {trial.label(names)}"


# ---------------------------------------------------------------- scores per parameter


def score_panels(trials, metric):
    """The panels of a parameter figure, as (metric key, title): test loss and test score, else the objective."""
    if not any("test_loss" in t.metrics for t in trials):
        return [(metric, metric.replace("_", " "))]
    return [("test_loss", "test loss"), test_score(t.metrics for t in trials)]


def _groups(trials, others):
    """Trials by the combination of the other varying parameters; one group when there are too many."""
    groups = {}
    for trial in trials:
        key = ", ".join(f"{o}={rounded(trial.params.get(o), 5, 3)}" for o in others)
        groups.setdefault(key, []).append(trial)
    return groups if 1 < len(groups) <= MAX_GROUPS else {"": trials}


def param_info(trials, name, others, metric, log=False):
    """The :class:`~search.plots.report.ParamFigure` of ``trials``' scores against the parameter ``name``.

    Series by the combination of the ``others`` varying parameters when there
    are few; ``log``: the parameter was sampled on a log scale.
    """
    values = [t.params.get(name) for t in trials]
    numeric = all(as_number(v) is not None for v in values)
    position = ({v: as_number(v) for v in values} if numeric
                else {v: i for i, v in enumerate(sorted(set(values), key=str))})
    groups = _groups(trials, others)
    failed = [position[t.params.get(name)] for t in trials if t.state == FAIL]
    panels = [plots.ParamPanel(title, {label: sorted(
        (position[t.params.get(name)], t.metrics[key]) for t in members if t.state == COMPLETE and key in t.metrics)
        for label, members in groups.items()}, failed) for key, title in score_panels(trials, metric)]
    return plots.ParamFigure(name, position, numeric, panels, log)


# ---------------------------------------------------------------- training: curves, gradients, slopes


def curve_lines(trials, names):
    """The panels (``CURVES`` keys some trial logged) and a :class:`~search.plots.report.Line` per trial."""
    keys = [k for k in CURVES if any(k in t.metrics for t in trials)]
    return keys, [plots.Line(line_label(t, names), {k: t.histories.get(k, []) for k in keys}, t.state != COMPLETE)
                  for t in trials]


def draw_curves(client, trials, names, path):
    """Train loss, validation loss and validation accuracy per epoch, a line per trial."""
    for trial in trials:
        for key in CURVES:
            history(client, trial, key)
    return plots.learning_curves(*curve_lines(trials, names), path)


def gradient_rows(client, trials):
    """Per trial: ``(trial, first, last)``, its per-layer ``(epoch, grad_norm_max)`` at the first and last epoch."""
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


def gradient_lines(rows, names):
    """:func:`gradient_rows` as :class:`~search.plots.report.GradientRow` objects."""
    return [plots.GradientRow(line_label(trial, names), first, last) for trial, first, last in rows]


def prelu_layers(histories):
    """``{layer: points}`` of the PReLU slope histories among a trial's ``histories``, by layer."""
    layers = {int(key[len(PRELU_SLOPE):]): points for key, points in histories.items()
              if key.startswith(PRELU_SLOPE) and key[len(PRELU_SLOPE):].isdigit()}
    return dict(sorted(layers.items()))


def prelu_lines(trials, names):
    """``(label, points)`` of each layer's PReLU slope per epoch, for each trial that logged some."""
    return [(f"{trial.number} layer {layer}: {trial.label(names)}", points) for trial in trials
            for layer, points in prelu_layers(trial.histories).items() if points]


def draw_prelu(client, trials, names, path):
    """The PReLU slope of each layer per epoch, a line per trial and layer."""
    for trial in trials:
        for layer in numbered(trial.metrics, PRELU_SLOPE + "{}"):
            history(client, trial, f"{PRELU_SLOPE}{layer}")
    return plots.prelu_figure(prelu_lines(trials, names), path)
