"""Study figures: the objective per trial, parameter importances (Optuna's fANOVA), one slice
panel per searched parameter, a pair of parameters coloured by the objective, and the searched
values per stage. Optuna's own matplotlib figures are not used: they switch the global style to
ggplot and size their panels to no preview.

As Optuna's ``_get_slice_plot_info``, each figure has a builder that reads the study into a plain
info object (``*_info``) and a draw function that takes only that object, so a figure can be drawn
(and tested) without a study.
"""

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from optuna.study import StudyDirection
from optuna.trial import TrialState

from ..tracking.names import STAGE
from . import style
from .style import log_ticks, matplotlib, plt, styled

STAGE_COLOURS = plt.get_cmap("tab10").colors
MAX_SLICE_COLUMNS = 2  # MLflow previews an artifact about 600 pixels wide: two panels stay legible


@dataclass
class ParamAxis:
    """How one searched parameter is laid along an axis.

    ``labels``: a choice's labels (drawn at positions 0, 1, ...), None for a
    range; ``low`` and ``high`` bound a range, whose scale is ``log``.
    """

    name: str
    labels: list = None
    log: bool = False
    integer: bool = False
    low: float = None
    high: float = None

    @classmethod
    def of(cls, name, dim):
        labels = [str(v) for v in dim.labels] if hasattr(dim, "labels") else None
        return cls(name, labels, getattr(dim, "log", False), getattr(dim, "integer", False),
                   getattr(dim, "low", None), getattr(dim, "high", None))

    @property
    def title(self):
        return self.name + (" (log)" if self.log else "")

    def positions(self, values):
        """x positions of the parameter's values: the values, or category indices for choices."""
        if self.labels is None:
            return list(values)
        return [self.labels.index(str(v)) if str(v) in self.labels else -1 for v in values]


@dataclass
class Series:
    """Points of one stage: x and y coordinates."""

    stage: int
    xs: list
    ys: list

    @property
    def colour(self):
        return STAGE_COLOURS[(self.stage - 1) % 10]


def _finished(study):
    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.value is not None]


def _stage_of(trial):
    return int(trial.user_attrs.get(STAGE, 1))


def _by_stage(trials, stages, point):
    """A :class:`Series` per stage of ``point(trial)`` (an ``(x, y)``) over the stage's trials."""
    series = []
    for stage in stages:
        points = [point(t) for t in trials if _stage_of(t) == stage]
        series.append(Series(stage, [x for x, _ in points], [y for _, y in points]))
    return series


# ---------------------------------------------------------------- optimization history


@dataclass
class HistoryInfo:
    """The objective per finished trial by stage, pruned trials' last values, and the best so far."""

    stages: list  # of Series: trial number, objective
    pruned: Series  # trial number, the value when stopped (stage 0: no stage colour)
    best: Series  # trial number, the best objective so far
    maximize: bool
    metric: str = "objective"


def history_info(study, metric="objective"):
    """:class:`HistoryInfo` of ``study``."""
    trials = _finished(study)
    stages = _by_stage(trials, sorted({_stage_of(t) for t in trials}), lambda t: (t.number, t.value))
    pruned = [t for t in study.get_trials(deepcopy=False, states=(TrialState.PRUNED,)) if t.intermediate_values]
    maximize = study.direction == StudyDirection.MAXIMIZE
    best = (np.maximum if maximize else np.minimum).accumulate([t.value for t in trials])
    return HistoryInfo(stages, Series(0, [t.number for t in pruned], [
        t.intermediate_values[max(t.intermediate_values)] for t in pruned]),
        Series(0, [t.number for t in trials], list(best)), maximize, metric)


@styled
def optimization_history(info, path):
    """The objective of each finished trial (coloured by stage) and the best so far."""
    fig, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
    for series in info.stages:
        ax.scatter(series.xs, series.ys, s=18, color=series.colour, label=f"stage {series.stage}")
    if info.pruned.xs:
        ax.scatter(info.pruned.xs, info.pruned.ys, marker="x", s=16, color="grey", label="pruned (value when stopped)")
    ax.step(info.best.xs, info.best.ys, where="post", color="black", linewidth=1, label="best so far")
    ax.set(xlabel="trial", ylabel=info.metric, title=f"{info.metric} per trial")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(8, integer=True))
    ax.grid(True)
    ax.legend(loc="lower right" if info.maximize else "upper right")
    return style.save(fig, path)


# ---------------------------------------------------------------- parameter importances


@dataclass
class ImportanceInfo:
    """Each parameter's importance (a share of the objective's variance), most important first."""

    importances: dict
    metric: str = "objective"


def importance_info(study, metric="objective"):
    """:class:`ImportanceInfo` of ``study`` by Optuna's fANOVA (raises as Optuna does when it cannot)."""
    import optuna

    return ImportanceInfo(dict(optuna.importance.get_param_importances(study)), metric)


@styled
def param_importances(info, path):
    """Optuna's fANOVA importances (share of the objective's variance), one bar per parameter."""
    importances = info.importances
    names = list(importances)[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(names) + 1.3), layout="constrained")
    bars = ax.barh(names, [importances[n] for n in names], color=STAGE_COLOURS[0])
    ax.bar_label(bars, [f"{importances[n]:.2f}" for n in names], padding=3, fontsize=8)
    ax.set(xlabel=f"importance for {info.metric} (fANOVA, sums to 1)", title="parameter importances",
           xlim=(0, max(importances.values()) * 1.18 or 1))
    ax.grid(True, axis="x")
    return style.save(fig, path)


# ---------------------------------------------------------------- slice, pair and stage values


@dataclass
class Panel:
    """One parameter's panel: its axis and a :class:`Series` per stage."""

    axis: ParamAxis
    series: list = field(default_factory=list)


@dataclass
class SliceInfo:
    """A :class:`Panel` per searched parameter: the objective against the parameter's value."""

    panels: list
    stages: list
    metric: str = "objective"


def slice_info(study, space, metric="objective"):
    """:class:`SliceInfo` of the finished trials of ``study`` over ``space``."""
    trials = _finished(study)
    stages = sorted({_stage_of(t) for t in trials})
    panels = []
    for name, dim in space:
        axis = ParamAxis.of(name, dim)
        chosen = [t for t in trials if name in t.params]
        panels.append(Panel(axis, [Series(s.stage, axis.positions(s.xs), s.ys) for s in _by_stage(
            chosen, stages, lambda t: (t.params[name], t.value))]))
    return SliceInfo(panels, stages, metric)


def _slice_axis(ax, axis):
    """The x axis of a slice panel: the choices, a log scale, or a few ticks."""
    if axis.labels is not None:
        slanted = len(axis.labels) > 3
        ax.set_xticks(range(len(axis.labels)), axis.labels, rotation=30 if slanted else 0,
                      ha="right" if slanted else "center")
        ax.set_xlim(-0.5, len(axis.labels) - 0.5)
    elif axis.log:
        ax.set_xscale("log")
        log_ticks(ax.xaxis, (axis.low, axis.high))
    else:
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4, integer=axis.integer))


@styled
def slice_plot(info, path):
    """One small panel per searched parameter: the objective against its value, coloured by stage."""
    columns = min(MAX_SLICE_COLUMNS, len(info.panels))
    rows = -(-len(info.panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.9 * columns, 2.3 * rows + 0.5), squeeze=False,
                             sharey=True, layout="constrained")
    for ax, panel in zip(axes.flat, info.panels):
        for series in panel.series:
            ax.scatter(series.xs, series.ys, s=12, alpha=0.8, color=series.colour, label=f"stage {series.stage}")
        _slice_axis(ax, panel.axis)
        ax.set_title(panel.axis.title, fontsize=9)
        ax.grid(True)
    for ax in axes[:, 0]:
        ax.set_ylabel(info.metric)
    for ax in axes.flat[len(info.panels):]:
        ax.set_visible(False)
    if len(info.stages) > 1:
        fig.legend(*axes.flat[0].get_legend_handles_labels(), loc="outside lower center", ncols=len(info.stages))
    fig.suptitle(f"{info.metric} per parameter value (finished trials)")
    return style.save(fig, path)


@dataclass
class PairInfo:
    """Two parameters' axes and, per finished trial, their positions and its objective."""

    axes: tuple  # of two ParamAxis: x, y
    xs: list
    ys: list
    values: list
    metric: str = "objective"


def pair_info(study, space, pair, metric="objective"):
    """:class:`PairInfo` of the finished trials of ``study`` that searched both of ``pair``."""
    trials = [t for t in _finished(study) if all(p in t.params for p in pair)]
    axes = tuple(ParamAxis.of(name, space.dimensions[name]) for name in pair)
    xs, ys = (axis.positions([t.params[axis.name] for t in trials]) for axis in axes)
    return PairInfo(axes, xs, ys, [t.value for t in trials], metric)


@styled
def pair_plot(info, path):
    """Two parameters against each other, each finished trial coloured by the objective."""
    fig, ax = plt.subplots(figsize=(5.6, 4.4), layout="constrained")
    for axis, param, ticks, scale in ((ax.xaxis, info.axes[0], ax.set_xticks, ax.set_xscale),
                                      (ax.yaxis, info.axes[1], ax.set_yticks, ax.set_yscale)):
        if param.labels is not None:
            ticks(range(len(param.labels)), param.labels)
        elif param.log:
            scale("log")
            log_ticks(axis, (param.low, param.high))
    points = ax.scatter(info.xs, info.ys, c=info.values, s=30, cmap="viridis", edgecolors="black", linewidths=0.3)
    fig.colorbar(points, ax=ax, label=info.metric)
    x, y = (param.name for param in info.axes)
    ax.set(xlabel=x, ylabel=y, title=f"{info.metric} over {x} and {y}")
    ax.grid(True)
    return style.save(fig, path)


def stage_values_info(study, spec):
    """A :class:`Panel` per searched float: its value against the trial number, a series per stage."""
    trials = [t for t in study.trials if t.params]
    stages = range(1, len(spec.stages) + 1)
    return [Panel(ParamAxis.of(name, dim), _by_stage([t for t in trials if name in t.params], stages,
                                                     lambda t: (t.number, t.params[name])))
            for name, dim in spec.space if hasattr(dim, "log") and not dim.integer]


@styled
def draw_stage_values(panels, path):
    """Each searched number against the trial number, coloured by stage: narrowing made visible."""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels) + 0.4, 3.2), squeeze=False,
                             layout="constrained")
    for ax, panel in zip(axes[0], panels):
        for series in panel.series:
            ax.scatter(series.xs, series.ys, s=14, color=series.colour, label=f"stage {series.stage}")
        if panel.axis.log:
            ax.set_yscale("log")
            log_ticks(ax.yaxis, (panel.axis.low, panel.axis.high))
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(5, integer=True))
        ax.set(xlabel="trial", title=panel.axis.title)
        ax.grid(True)
    axes[0][0].legend(fontsize=7)
    fig.suptitle("searched values per trial, by stage")
    return style.save(fig, path)


# ---------------------------------------------------------------- entry points


def stage_values(study, spec, path):
    """The searched floats' values per trial by stage into ``path``; None when none is searched."""
    panels = stage_values_info(study, spec)
    return draw_stage_values(panels, path) if panels else None


def _pair(names):
    """The two parameters of the pair figure: lambda and slope when searched, else the first two."""
    pair = [p for p in ("lambda", "slope") if p in names]
    return pair if len(pair) == 2 else names[:2]


def study_figures(study, folder, space, metric="objective"):
    """The study's figures into ``folder``; returns the files written.

    Figures that cannot be drawn (no finished trial, importances of a single
    parameter or of too few trials) are skipped.
    """
    folder, pair = Path(folder), _pair([name for name, _ in space])
    if not _finished(study):
        return []
    drawn = [("optimization_history.png", lambda path: optimization_history(history_info(study, metric), path)),
             ("slice.png", lambda path: slice_plot(slice_info(study, space, metric), path))]
    if len(pair) == 2:
        drawn += [("param_importances.png", lambda path: param_importances(importance_info(study, metric), path)),
                  (f"pair_{pair[0]}_{pair[1]}.png", lambda path: pair_plot(pair_info(study, space, pair, metric), path))]
    written = []
    for name, draw in drawn:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna marks fANOVA's inputs experimental
            try:
                written.append(draw(folder / name))
            except (ValueError, RuntimeError, ZeroDivisionError):
                plt.close("all")
    return written
