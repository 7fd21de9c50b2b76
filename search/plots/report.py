"""Report figures (``python -m search report``, from what MLflow holds): the test scores against
each searched parameter, the learning curves, the per-layer gradient norms and the PReLU slopes of
several trials.

Each draw function takes plain data (:class:`ParamFigure`, :class:`Line`, :class:`GradientRow`)
that :mod:`search.reporting.figures` builds from the tracked runs; nothing here knows a run's shape.
"""

from dataclasses import dataclass, field

import numpy as np

from . import style
from .style import log_ticks, matplotlib, plt, styled


LEGEND_FONT = 7  # points
LEGEND_WRAP = 42  # characters a legend line


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
    log_ticks(axis, (values.min(), values.max()), within=3, numticks=None)


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


@dataclass
class ParamPanel:
    """One panel of a parameter figure: a score's points per group, and where trials failed.

    ``series``: group label ('' for a single group) -> ``[(x, score)]`` of its
    complete trials, in x order; every group is listed, with no points too,
    so that each keeps its colour. ``failed``: the x of each failed trial.
    """

    title: str
    series: dict
    failed: list = field(default_factory=list)


@dataclass
class ParamFigure:
    """Scores against one searched parameter: ``position`` maps each logged value to its x."""

    name: str
    position: dict
    numeric: bool
    panels: list  # of ParamPanel
    log: bool = False  # sampled on a log scale


@styled
def param_figure(info, path):
    """Scores against one searched parameter, a panel per :class:`ParamPanel` of ``info``.

    Series by the combination of the other varying parameters when there are
    few; failed trials are marked at the top of each panel. Points are not
    joined: neighbouring values are unrelated trials. A parameter sampled on a
    log scale is drawn on one.
    """
    fig, axes = _report_subplots(len(info.panels), width=3.9, lines=len(info.panels[0].series))
    for ax, panel in zip(axes[0], info.panels):
        for label, points in panel.series.items():
            if points:
                ax.plot(*zip(*points), "o", label=label or None, markersize=5, alpha=0.85)
        if panel.failed:
            low, high = ax.get_ylim() if ax.lines else (0.0, 1.0)
            ax.scatter(panel.failed, [high] * len(panel.failed), marker="x", color="red", s=60, clip_on=False,
                       label="failed (diverged)", zorder=3)
            ax.set_ylim(low, high)
        ax.set(xlabel=info.name + (" (log)" if info.log else ""), ylabel=panel.title,
               title=f"{panel.title} per {info.name}")
        _param_axis(ax, info.position, info.numeric, info.log)
        ax.grid(alpha=0.3)
    _outside_legend(fig, axes[0][-1])
    return style.save(fig, path)


@dataclass
class Line:
    """One trial's line(s): its label, ``points`` per metric key (``[(step, value)]``), dashed or not."""

    label: str
    points: dict
    dashed: bool = False


@styled
def learning_curves(keys, lines, path):
    """A panel per metric of ``keys`` (per epoch), a :class:`Line` per trial; dashed: failed or pruned."""
    fig, axes = _report_subplots(len(keys), width=3.6, lines=len(lines))
    for ax, key in zip(axes[0], keys):
        for line in lines:
            points = [(s, v) for s, v in line.points.get(key, []) if np.isfinite(v)]
            if points:
                ax.plot(*zip(*points), "--" if line.dashed else "-", label=line.label)
        ax.set(xlabel="epoch", ylabel=key.replace("_", " "), title=key.replace("_", " "))
        _log_if_wide(ax)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    _outside_legend(fig, axes[0][-1])
    fig.suptitle("learning curves (dashed: failed or pruned)", fontsize=9)
    return style.save(fig, path)


@dataclass
class GradientRow:
    """One trial's largest weight-gradient norm per layer: ``{layer: (epoch, norm)}`` at the first and last epoch."""

    label: str
    first: dict
    last: dict


@styled
def gradients_figure(rows, path):
    """The largest weight-gradient norm per layer at the first and the last epoch, a line per :class:`GradientRow`."""
    fig, axes = _report_subplots(2, width=3.8, lines=len(rows), sharey=True)
    axes = axes[0]
    for row in rows:
        for ax, points in zip(axes, (row.first, row.last)):
            layers = sorted(points)
            ax.plot(layers, [max(points[i][1], 1e-30) for i in layers], "o-", markersize=3, label=row.label)
    epochs = sorted({p[0] for row in rows for p in row.last.values()})
    for ax, title in zip(axes, ("first epoch", f"last epoch ({', '.join(map(str, epochs))})")):
        ax.set(xlabel="layer (0 = input side)", title=title)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    _log_if_wide(axes[0])  # shared with the second panel
    axes[0].set_ylabel("max weight-gradient norm")
    _outside_legend(fig, axes[1])
    return style.save(fig, path)


@styled
def prelu_figure(lines, path):
    """The learned PReLU slope of each layer per epoch (first repeat): ``lines`` (label, ``[(epoch, slope)]``)."""
    fig, axes = _report_subplots(1, width=5.0)
    ax = axes[0][0]
    for label, points in lines:
        ax.plot(*zip(*points), label=label)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set(xlabel="epoch", ylabel="PReLU slope (mean over the layer)", title="PReLU slopes (first repeat)")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    _outside_legend(fig, ax)
    ax.grid(alpha=0.3)
    return style.save(fig, path)
