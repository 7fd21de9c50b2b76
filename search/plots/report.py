"""Report figures (``python -m search report``, from what MLflow holds): the test scores against
each searched parameter, the learning curves, the per-layer gradient norms and the PReLU slopes of
several trials."""

import numpy as np

from . import style
from .style import log_ticks, matplotlib, plt, styled


LEGEND_FONT = 7  # points
LEGEND_WRAP = 42  # characters a legend line
MAX_GROUPS = 8  # series in a parameter figure before they are no longer told apart
CURVES = ("train_loss", "val_loss", "val_accuracy")


def as_number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def rounded(value, longest=7, digits=4):
    """A logged number as people read it: longer than ``longest`` characters, ``digits`` significant digits."""
    if isinstance(value, str) and len(value) > longest and as_number(value) is not None:
        return f"{float(value):.{digits}g}"
    return value


def _report_subplots(n, width, height=3.4, lines=0, **options):
    """``n`` panels side by side, laid out so that no label is clipped (drawn once per report).

    ``lines`` above ten get distinct colours; :func:`_outside_legend` widens
    the figure for its legend, so the panels keep their size.
    """
    fig, axes = plt.subplots(1, n, figsize=(width * n, height), squeeze=False, layout="constrained",
                             **options)
    if lines > 10:
        colours = plt.cm.tab20(np.linspace(0, 1, 20))[:lines]
        for ax in axes[0]:
            ax.set_prop_cycle(color=colours)
    return fig, axes


def _outside_legend(fig, ax):
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


def _log_if_wide(ax):
    """A log y axis when the drawn positive values span more than a decade."""
    values = np.concatenate([line.get_ydata() for line in ax.lines]) if ax.lines else np.array([])
    values = values[np.isfinite(values)]
    if len(values) and values.min() > 0 and values.max() / values.min() > 10:
        _log_axis(ax.yaxis, values)


def _log_axis(axis, values):
    """A log scale with readable labels: 1-2-5 ticks within three decades, else decades only."""
    (axis.axes.set_yscale if axis is axis.axes.yaxis else axis.axes.set_xscale)("log")
    log_ticks(axis, values.min(), values.max(), within=3, numticks=None)


def _groups(trials, others):
    """Trials by the combination of the other varying parameters; one group when there are too many."""
    groups = {}
    for trial in trials:
        key = ", ".join(f"{o}={rounded(trial.params.get(o), 5, 3)}" for o in others)
        groups.setdefault(key, []).append(trial)
    return groups if 1 < len(groups) <= MAX_GROUPS else {"": trials}


def _param_axis(ax, position, numeric, log):
    """The parameter's axis: log when sampled so (or over two decades), else a few ticks, or the choices."""
    if not numeric:
        ax.set_xticks(list(position.values()), [str(v) for v in position], rotation=20, ha="right",
                      rotation_mode="anchor")
        return
    xs = list(position.values())
    if min(xs) > 0 and (log or max(xs) / min(xs) >= 100):
        _log_axis(ax.xaxis, np.asarray(xs))
    else:
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(5))


@styled
def param_figure(trials, name, others, panels, path, log=False):
    """Scores against one searched parameter, a panel per ``(metric key, title)`` of ``panels``.

    Series by the combination of the other varying parameters when there are
    few; failed trials are marked at the top of each panel. Points are not
    joined: neighbouring values are unrelated trials. ``log``: the parameter
    was sampled on a log scale, and is drawn on one.
    """
    values = [t.params.get(name) for t in trials]
    numeric = all(as_number(v) is not None for v in values)
    position = ({v: as_number(v) for v in values} if numeric
                else {v: i for i, v in enumerate(sorted(set(values), key=str))})
    groups = _groups(trials, others)
    fig, axes = _report_subplots(len(panels), width=3.9, lines=len(groups))
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
        _param_axis(ax, position, numeric, log)
        ax.grid(alpha=0.3)
    _outside_legend(fig, axes[0][-1])
    return style.save(fig, path)


@styled
def learning_curves(trials, names, path):
    """Train loss, validation loss and validation accuracy per epoch, a line per trial (``histories``)."""
    keys = [k for k in CURVES if any(k in t.metrics for t in trials)]
    fig, axes = _report_subplots(len(keys), width=3.6, lines=len(trials))
    for ax, key in zip(axes[0], keys):
        for trial in trials:
            points = [(s, v) for s, v in trial.histories.get(key, []) if np.isfinite(v)]
            if points:
                ax.plot(*zip(*points), "--" if trial.state != "COMPLETE" else "-",
                        label=f"{trial.number}: {trial.label(names)}")
        ax.set(xlabel="epoch", ylabel=key.replace("_", " "), title=key.replace("_", " "))
        _log_if_wide(ax)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    _outside_legend(fig, axes[0][-1])
    fig.suptitle("learning curves (dashed: failed or pruned)", fontsize=9)
    return style.save(fig, path)


@styled
def gradients_figure(rows, names, path):
    """The largest weight-gradient norm per layer at the first and the last epoch, a line per trial.

    ``rows``: ``(trial, first, last)``, each of the two ``{layer: (epoch, norm)}``.
    """
    fig, axes = _report_subplots(2, width=3.8, lines=len(rows), sharey=True)
    axes = axes[0]
    for trial, first, last in rows:
        for ax, points in zip(axes, (first, last)):
            layers = sorted(points)
            ax.plot(layers, [max(points[i][1], 1e-30) for i in layers], "o-", markersize=3,
                    label=f"{trial.number}: {trial.label(names)}")
    epochs = sorted({p[0] for _, _, last in rows for p in last.values()})
    for ax, title in zip(axes, ("first epoch", f"last epoch ({', '.join(map(str, epochs))})")):
        ax.set(xlabel="layer (0 = input side)", title=title)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    _log_if_wide(axes[0])  # shared with the second panel
    axes[0].set_ylabel("max weight-gradient norm")
    _outside_legend(fig, axes[1])
    return style.save(fig, path)


PRELU_SLOPE = "prelu_slope_layer"


def prelu_layers(histories):
    """``{layer: points}`` of the PReLU slope histories among a trial's ``histories``, by layer."""
    layers = {int(key[len(PRELU_SLOPE):]): points for key, points in histories.items()
              if key.startswith(PRELU_SLOPE) and key[len(PRELU_SLOPE):].isdigit()}
    return dict(sorted(layers.items()))


@styled
def prelu_figure(trials, names, path):
    """The learned PReLU slope of each layer per epoch (first repeat), a line per trial and layer."""
    fig, axes = _report_subplots(1, width=5.0)
    ax = axes[0][0]
    for trial in trials:
        for layer, points in prelu_layers(trial.histories).items():
            if points:
                ax.plot(*zip(*points), label=f"{trial.number} layer {layer}: {trial.label(names)}")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set(xlabel="epoch", ylabel="PReLU slope (mean over the layer)", title="PReLU slopes (first repeat)")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    _outside_legend(fig, ax)
    ax.grid(alpha=0.3)
    return style.save(fig, path)
