"""Study figures: the objective per trial, parameter importances (Optuna's fANOVA), one slice
panel per searched parameter, a pair of parameters coloured by the objective, and the searched
values per stage. Optuna's own matplotlib figures are not used: they switch the global style to
ggplot and size their panels to no preview."""

import warnings
from pathlib import Path

import numpy as np

from ..tracking.names import STAGE
from . import style
from .style import log_ticks, matplotlib, plt, styled

STAGE_COLOURS = plt.get_cmap("tab10").colors
MAX_SLICE_COLUMNS = 2  # MLflow previews an artifact about 600 pixels wide: two panels stay legible


def _finished(study):
    from optuna.trial import TrialState

    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.value is not None]


def _stage_of(trial):
    return int(trial.user_attrs.get(STAGE, 1))


@styled
def optimization_history(study, path, metric="objective"):
    """The objective of each finished trial (coloured by stage) and the best so far."""
    trials = _finished(study)
    fig, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
    for stage in sorted({_stage_of(t) for t in trials}):
        chosen = [t for t in trials if _stage_of(t) == stage]
        ax.scatter([t.number for t in chosen], [t.value for t in chosen], s=18,
                   color=STAGE_COLOURS[(stage - 1) % 10], label=f"stage {stage}")
    pruned = [t for t in study.get_trials(deepcopy=False) if t.state.name == "PRUNED" and t.intermediate_values]
    if pruned:
        ax.scatter([t.number for t in pruned], [t.intermediate_values[max(t.intermediate_values)] for t in pruned],
                   marker="x", s=16, color="grey", label="pruned (value when stopped)")
    maximize = study.direction.name == "MAXIMIZE"
    best = (np.maximum if maximize else np.minimum).accumulate([t.value for t in trials])
    ax.step([t.number for t in trials], best, where="post", color="black", linewidth=1, label="best so far")
    ax.set(xlabel="trial", ylabel=metric, title=f"{metric} per trial")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(8, integer=True))
    ax.grid(True)
    ax.legend(loc="lower right" if maximize else "upper right")
    return style.save(fig, path)


@styled
def param_importances(study, path, metric="objective"):
    """Optuna's fANOVA importances (share of the objective's variance), one bar per parameter."""
    import optuna

    importances = optuna.importance.get_param_importances(study)
    names = list(importances)[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(names) + 1.3), layout="constrained")
    bars = ax.barh(names, [importances[n] for n in names], color=STAGE_COLOURS[0])
    ax.bar_label(bars, [f"{importances[n]:.2f}" for n in names], padding=3, fontsize=8)
    ax.set(xlabel=f"importance for {metric} (fANOVA, sums to 1)", title="parameter importances",
           xlim=(0, max(importances.values()) * 1.18 or 1))
    ax.grid(True, axis="x")
    return style.save(fig, path)


def _positions(values, dim):
    """x positions of a parameter's values: the values, or category indices for choices."""
    if hasattr(dim, "labels"):
        labels = [str(v) for v in dim.labels]
        return [labels.index(str(v)) if str(v) in labels else -1 for v in values], labels
    return list(values), None


@styled
def slice_plot(study, space, path, metric="objective"):
    """One small panel per searched parameter: the objective against its value, coloured by stage."""
    trials, names = _finished(study), [name for name, _ in space]
    columns = min(MAX_SLICE_COLUMNS, len(names))
    rows = -(-len(names) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.9 * columns, 2.3 * rows + 0.5), squeeze=False,
                             sharey=True, layout="constrained")
    stages = sorted({_stage_of(t) for t in trials})
    for ax, name in zip(axes.flat, names):
        dim = space.dimensions[name]
        for stage in stages:
            chosen = [t for t in trials if _stage_of(t) == stage and name in t.params]
            xs, labels = _positions([t.params[name] for t in chosen], dim)
            ax.scatter(xs, [t.value for t in chosen], s=12, alpha=0.8, color=STAGE_COLOURS[(stage - 1) % 10],
                       label=f"stage {stage}")
        if labels is not None:
            ax.set_xticks(range(len(labels)), labels, rotation=30 if len(labels) > 3 else 0, ha="right"
                          if len(labels) > 3 else "center")
            ax.set_xlim(-0.5, len(labels) - 0.5)
        elif getattr(dim, "log", False):
            ax.set_xscale("log")
            log_ticks(ax.xaxis, dim.low, dim.high)
        else:
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4, integer=getattr(dim, "integer", False)))
        ax.set_title(name + (" (log)" if getattr(dim, "log", False) else ""), fontsize=9)
        ax.grid(True)
    for ax in axes[:, 0]:
        ax.set_ylabel(metric)
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    if len(stages) > 1:
        fig.legend(*axes.flat[0].get_legend_handles_labels(), loc="outside lower center", ncols=len(stages))
    fig.suptitle(f"{metric} per parameter value (finished trials)")
    return style.save(fig, path)


@styled
def pair_plot(study, space, pair, path, metric="objective"):
    """Two parameters against each other, each finished trial coloured by the objective."""
    trials = [t for t in _finished(study) if all(p in t.params for p in pair)]
    fig, ax = plt.subplots(figsize=(5.6, 4.4), layout="constrained")
    coords = []
    for axis, name in zip((ax.xaxis, ax.yaxis), pair):
        positions, labels = _positions([t.params[name] for t in trials], space.dimensions[name])
        coords.append(positions)
        dim = space.dimensions[name]
        if labels is not None:
            (ax.set_xticks if axis is ax.xaxis else ax.set_yticks)(range(len(labels)), labels)
        elif getattr(dim, "log", False):
            (ax.set_xscale if axis is ax.xaxis else ax.set_yscale)("log")
            log_ticks(axis, dim.low, dim.high)
    points = ax.scatter(*coords, c=[t.value for t in trials], s=30, cmap="viridis", edgecolors="black",
                        linewidths=0.3)
    fig.colorbar(points, ax=ax, label=metric)
    ax.set(xlabel=pair[0], ylabel=pair[1], title=f"{metric} over {pair[0]} and {pair[1]}")
    ax.grid(True)
    return style.save(fig, path)


def study_figures(study, folder, space, metric="objective"):
    """The study's figures into ``folder``; returns the files written.

    Figures that cannot be drawn (no finished trial, importances of a single
    parameter or of too few trials) are skipped.
    """
    folder, names = Path(folder), [name for name, _ in space]
    pair = [p for p in ("lambda", "slope") if p in names]
    if len(pair) < 2:
        pair = names[:2]
    if not _finished(study):
        return []
    drawn = [("optimization_history.png", lambda path: optimization_history(study, path, metric)),
             ("slice.png", lambda path: slice_plot(study, space, path, metric))]
    if len(pair) == 2:
        drawn += [("param_importances.png", lambda path: param_importances(study, path, metric)),
                  (f"pair_{pair[0]}_{pair[1]}.png", lambda path: pair_plot(study, space, pair, path, metric))]
    written = []
    for name, draw in drawn:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna marks fANOVA's inputs experimental
            try:
                written.append(draw(folder / name))
            except (ValueError, RuntimeError, ZeroDivisionError):
                plt.close("all")
    return written


@styled
def stage_values(study, spec, path):
    """Each searched number against the trial number, coloured by stage: narrowing made visible."""
    names = [name for name, dim in spec.space if hasattr(dim, "log") and not dim.integer]
    if not names:
        return None
    trials = [t for t in study.trials if t.params]
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names) + 0.4, 3.2), squeeze=False,
                             layout="constrained")
    for ax, name in zip(axes[0], names):
        for stage in range(1, len(spec.stages) + 1):
            chosen = [t for t in trials if _stage_of(t) == stage and name in t.params]
            ax.scatter([t.number for t in chosen], [t.params[name] for t in chosen], s=14,
                       color=STAGE_COLOURS[(stage - 1) % 10], label=f"stage {stage}")
        dim = spec.space.dimensions[name]
        if dim.log:
            ax.set_yscale("log")
            log_ticks(ax.yaxis, dim.low, dim.high)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(5, integer=True))
        ax.set(xlabel="trial", title=name + (" (log)" if dim.log else ""))
        ax.grid(True)
    axes[0][0].legend(fontsize=7)
    fig.suptitle("searched values per trial, by stage")
    return style.save(fig, path)

