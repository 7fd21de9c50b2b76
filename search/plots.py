"""Figures, drawn with matplotlib's Agg backend into PNG files, all in one style.

Trial figures: loss and accuracy curves, the confusion matrix normalised over
the predicted label (seed 002), the top-3 scored images per class as the user's
raw pixels (seed 002), and per-layer gradient norms (seed 004). Study figures:
the objective per trial, parameter importances (Optuna's fANOVA), one slice
panel per searched parameter, a pair of parameters coloured by the objective,
and the searched values per stage. Optuna's own matplotlib figures are not
used: they switch the global style to ggplot and size their panels to no
preview.

Report figures (``python -m search report``, from what MLflow holds): the
test scores against each searched parameter, the learning curves, the
per-layer gradient norms and the PReLU slopes of several trials, each trial
a :class:`search.report.Trial` whose ``histories`` the report has loaded.

Every drawing function runs inside :func:`style` (matplotlib's defaults plus
:data:`STYLE`), so no figure depends on what was drawn before it, and every
figure is sized for MLflow's artifact preview (about 800 pixels wide).
"""

import functools
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay  # noqa: E402

from .names import STAGE  # noqa: E402

DPI = 100
STYLE = {
    "figure.facecolor": "white", "axes.facecolor": "white", "savefig.facecolor": "white",
    "axes.grid": False, "grid.alpha": 0.3, "grid.color": "#b0b0b0",
    "axes.spines.top": False, "axes.spines.right": False,
    "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "figure.titlesize": 10,
    "xtick.labelsize": 8, "ytick.labelsize": 8, "legend.fontsize": 8, "legend.framealpha": 0.85,
    "image.cmap": "viridis", "lines.linewidth": 1.4, "lines.markersize": 4,
}
# Trial figures are drawn for every completed trial: fixed margins, since
# matplotlib's constrained layout costs as much as the drawing itself.
SIDE_BY_SIDE = dict(left=0.08, right=0.98, bottom=0.16, top=0.82, wspace=0.28)
# The first epochs' R^2 of an unscaled target is far below 0 (-4 on diabetes); the axis stops here.
R2_FLOOR = -1.0
# SIDE_BY_SIDE with room on the left for a loss in the thousands
REGRESSION_CURVES_LAYOUT = {**SIDE_BY_SIDE, "left": 0.09, "wspace": 0.3}
STAGE_COLOURS = plt.get_cmap("tab10").colors
MAX_SLICE_COLUMNS = 2  # MLflow previews an artifact about 600 pixels wide: two panels stay legible


def style():
    """A context in which figures get matplotlib's defaults plus :data:`STYLE`, whatever came before."""
    return plt.style.context(["default", STYLE])


def styled(draw):
    """Decorator: ``draw`` runs inside :func:`style`."""
    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with style():
            return draw(*args, **kwargs)
    return wrapper


def save(fig, path):
    # A fixed layout: bbox_inches="tight" draws every figure twice. zlib's fastest
    # level: 7% less time for every completed trial's figures, files a fifth larger.
    fig.savefig(path, dpi=DPI, pil_kwargs={"compress_level": 1})
    plt.close(fig)
    return Path(path)


def short(value):
    """A number as people read it in a legend or table: 3 significant digits, ints whole."""
    if isinstance(value, (bool, np.bool_)) or value is None:
        return str(value)
    if isinstance(value, (int, np.integer)):
        return str(value)
    if isinstance(value, (float, np.floating)):
        return f"{value:.3g}"
    return str(value)


def few_ticks(ax):
    """At most five whole numbers on x and a few values on y: each tick label is drawn text, the main cost.

    A log y axis gets 1, 2 and 5 times each power of ten when its data span
    less than two decades (powers of ten alone would leave it unlabelled),
    else powers of ten; labels are short.
    """
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(5, integer=True))
    if ax.get_yscale() == "log":
        low, high = ax.dataLim.intervaly
        log_ticks(ax.yaxis, low, high, numticks=7, label="{:.2g}")
    else:
        ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))


def log_ticks(axis, low, high, within=2, numticks=6, label="{:g}"):
    """Readable log ticks on ``axis``: 1-2-5 within ``within`` decades, else powers of ten; short labels.

    ``numticks`` None lets matplotlib choose how many. Minor log ticks are
    left out: they are slow to lay out.
    """
    decades = np.log10(high / low) if low > 0 and high > 0 else np.inf
    subs = (1.0, 2.0, 5.0) if decades <= within else (1.0,)
    axis.set_major_locator(matplotlib.ticker.LogLocator(subs=subs, numticks=numticks))
    axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: label.format(value)))
    axis.set_minor_locator(matplotlib.ticker.NullLocator())


# ---------------------------------------------------------------- trial figures


def loss_panel(ax, epochs, history):
    """Train and validation loss per epoch, on ``ax``."""
    ax.plot(epochs, [r["train_loss"] for r in history], label="train")
    if "val_loss" in history[0]:
        ax.plot(epochs, [r["val_loss"] for r in history], label="validation")
    ax.set(xlabel="epoch", ylabel="loss", title="loss")


@styled
def curves(history, path, title=""):
    """Train and validation loss, and validation (and train) accuracy, per epoch."""
    epochs = [r["epoch"] for r in history]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(8, 3.2), gridspec_kw=SIDE_BY_SIDE)
    loss_panel(loss_ax, epochs, history)
    for key, name in (("train_accuracy", "train"), ("val_accuracy", "validation")):
        if key in history[0]:
            acc_ax.plot(epochs, [r[key] for r in history], label=name)
    acc_ax.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (loss_ax, acc_ax):
        if ax.lines:
            ax.legend()
        ax.grid(True)
        few_ticks(ax)
    fig.suptitle(title)
    return save(fig, path)


@styled
def confusion(y_true, y_pred, path, title=""):
    """Confusion matrix normalised over the predicted label (columns sum to 1).

    Cells that round to 0.00 stay blank: most are, and each drawn value is
    text, the figure's main cost.
    """
    fig, ax = plt.subplots(figsize=(5.2, 5.0), gridspec_kw=dict(left=0.14, right=0.97, bottom=0.11, top=0.91))
    display = ConfusionMatrixDisplay.from_predictions(y_true, y_pred, normalize="pred", ax=ax,
                                                      include_values=False, colorbar=False)
    matrix, cmap = display.confusion_matrix, display.im_.cmap
    middle = (matrix.max() + matrix.min()) / 2
    size = 8 if len(matrix) <= 12 else 6
    for (row, column), value in np.ndenumerate(matrix):
        if f"{value:.2f}" != "0.00":
            ax.text(column, row, f"{value:.2f}", ha="center", va="center", fontsize=size,
                    color=cmap(1.0) if value < middle else cmap(0.0))  # sklearn's contrast colours
    ax.grid(False)
    ax.set_title(title or "confusion matrix (normalised over predicted label)", fontsize=9)
    return save(fig, path)


def top_scored(proba, k=3):
    """Row indices of the ``k`` highest scores for each class: shape (n_classes, k)."""
    return np.argsort(-proba, axis=0)[:k].T


def top_scored_set(proba, raw_rows, y_true, classes, k=3):
    """What :func:`top_scored_images` draws, for the ``k`` rows that score highest for each class.

    Parameters
    ----------
    proba : ndarray of shape (n_rows, n_classes)
    raw_rows : ndarray of shape (n_rows, n_features)
        The user's rows as stored (unscaled pixels), in the order of ``proba``.
    y_true : ndarray of shape (n_rows,)
    classes : ndarray of shape (n_classes,)

    Returns
    -------
    dict
        ``images`` (n_classes, k, n_features), ``true`` and ``predicted``
        labels and ``scores`` (the probability of the row's class), each
        (n_classes, k), and ``classes``.
    """
    index = top_scored(proba, k)
    classes = np.asarray(classes)
    return {"images": np.asarray(raw_rows)[index], "true": np.asarray(y_true)[index],
            "predicted": classes[proba[index].argmax(axis=-1)],
            "scores": np.take_along_axis(proba[index], np.arange(len(classes))[:, None, None], axis=-1)[..., 0],
            "classes": classes}


TILE, CAPTION, LABEL_COLUMN, TITLE_ROW = 0.8, 0.32, 0.75, 0.55  # inches


@styled
def top_scored_images(top, image_shape, path, what="validation"):
    """One row per class: the ``k`` images that score highest for it, as the user's raw pixels.

    ``top`` is :func:`top_scored_set`'s dict. Each image is captioned with its
    true label, the predicted label and the score of the row's class (red when
    the true label is not the row's class: a confident mistake). Every image
    shares one grey scale (the shown images' lowest to highest raw value), so
    they look as stored, not each stretched.
    """
    images, classes = top["images"], top["classes"]
    n_classes, k = images.shape[:2]
    pixels = images.astype(float)
    low, high = float(pixels.min()), float(pixels.max())
    pixels = (pixels - low) / (high - low) if high > low else np.zeros_like(pixels)
    column = max(TILE, 1.05)
    width, height = LABEL_COLUMN + k * column + 0.1, TITLE_ROW + n_classes * (TILE + CAPTION)
    fig = plt.figure(figsize=(width, height))
    # One axes in inches for every tile: thirty small axes cost ten times the drawing.
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.text(width / 2, height - 0.08, f"{what}: top-{k} images per class\n(rows: the class scored; "
            "caption: true / predicted label, score)", ha="center", va="top", fontsize=8)
    for row in range(n_classes):
        bottom = height - TITLE_ROW - (row + 1) * (TILE + CAPTION) + CAPTION
        ax.text(0.08, bottom + TILE / 2, f"class {classes[row]}", va="center", fontsize=8)
        for col in range(k):
            left = LABEL_COLUMN + col * column + (column - TILE) / 2
            ax.imshow(pixels[row, col].reshape(image_shape), cmap="gray" if len(image_shape) == 2 else None,
                      vmin=0.0, vmax=1.0, interpolation="nearest", extent=(left, left + TILE, bottom, bottom + TILE))
            wrong = top["true"][row, col] != classes[row]
            ax.text(left + TILE / 2, bottom - 0.04, f"{top['true'][row, col]} / {top['predicted'][row, col]}, "
                    f"{top['scores'][row, col]:.2f}", ha="center", va="top", fontsize=7,
                    color="#c00000" if wrong else "black")
    ax.set(xlim=(0, width), ylim=(0, height), aspect="auto")
    return save(fig, path)


@styled
def gradient_norms(history, path, title=""):
    """Per-layer weight-gradient norms: over epochs (mean) and per layer (max, first and last epoch)."""
    n_layers = len(history[0]["grad_norm_mean"])
    epochs = [r["epoch"] for r in history]
    fig, (time_ax, layer_ax) = plt.subplots(1, 2, figsize=(8, 3.2), gridspec_kw=SIDE_BY_SIDE)
    for layer in range(n_layers):
        time_ax.plot(epochs, [max(r["grad_norm_mean"][layer], 1e-30) for r in history],
                     label=f"layer {layer}")
    time_ax.set(xlabel="epoch", ylabel="mean gradient norm", yscale="log", title="over epochs")
    if n_layers <= 6:
        time_ax.legend(fontsize=7)
    layers = np.arange(n_layers)
    for record, name in ((history[0], "first epoch"), (history[-1], "last epoch")):
        layer_ax.plot(layers, np.maximum(record["grad_norm_max"], 1e-30), "o-", label=name)
    layer_ax.set(xlabel="layer (input side first)", ylabel="max gradient norm", yscale="log",
                 title="per layer")
    layer_ax.legend(fontsize=7)
    for ax in (time_ax, layer_ax):
        ax.grid(True)
        few_ticks(ax)
    fig.suptitle(title)
    return save(fig, path)


def trial_figures(folder, title, history, y_true=None, y_pred=None, top=None, image_shape=None):
    """Every figure of one trial into ``folder``: curves, gradient norms, and with
    validation data the confusion matrix and the top-3 scored images."""
    folder = Path(folder)
    curves(history, folder / "curves.png", title)
    gradient_norms(history, folder / "gradient_norms.png", title)
    if y_true is not None:
        confusion(y_true, y_pred, folder / "confusion_matrix.png",
                  f"{title}: validation, normalised over predicted label")
    if top is not None:
        top_scored_images(top, image_shape, folder / "top3_images.png", f"{title}, validation")


# ---------------------------------------------------------------- study figures


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
    return save(fig, path)


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
    return save(fig, path)


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
    return save(fig, path)


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
    return save(fig, path)


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
    return save(fig, path)


@styled
def regression_curves(history, path, title=""):
    """Train and validation loss (log scale), and validation R^2 (from ``R2_FLOOR`` up), per epoch."""
    epochs = [r["epoch"] for r in history]
    fig, (loss_ax, r2_ax) = plt.subplots(1, 2, figsize=(9, 3.4), gridspec_kw=REGRESSION_CURVES_LAYOUT)
    loss_panel(loss_ax, epochs, history)
    if all(np.isfinite(v) and v > 0 for line in loss_ax.lines for v in line.get_ydata()):
        loss_ax.set_yscale("log")
    if "val_r2" in history[0]:
        r2 = np.array([r["val_r2"] for r in history], dtype=float)
        r2_ax.plot(epochs, r2, label="validation")
        if np.nanmin(r2) < R2_FLOOR:
            r2_ax.set_ylim(R2_FLOOR, max(1.0, np.nanmax(r2)) if np.isfinite(np.nanmax(r2)) else 1.0)
    r2_ax.set(xlabel="epoch", ylabel="R^2", title=f"R^2 (from {R2_FLOOR:g})" if r2_ax.get_ylim()[0] == R2_FLOOR
              else "R^2")
    for ax in (loss_ax, r2_ax):
        if ax.lines:
            ax.legend()
        ax.grid(alpha=0.3)
        few_ticks(ax)
    fig.suptitle(title)
    return save(fig, path)


@styled
def predictions(y_true, y_pred, path, title=""):
    """Predicted against true values (the diagonal is perfect), and residuals against predictions."""
    y_true, y_pred = np.ravel(y_true), np.ravel(y_pred)
    fig, (fit_ax, res_ax) = plt.subplots(1, 2, figsize=(9, 3.6), gridspec_kw=SIDE_BY_SIDE)
    fit_ax.scatter(y_true, y_pred, s=10, alpha=0.6)
    finite = np.isfinite(y_pred)
    values = np.concatenate([y_true, y_pred[finite]])
    low, high = values.min(), values.max()
    fit_ax.plot([low, high], [low, high], color="black", linewidth=1, label="predicted = true")
    fit_ax.set(xlabel="true", ylabel="predicted", title="predicted vs true")
    fit_ax.legend(fontsize=7)
    residual = y_true - y_pred
    res_ax.scatter(y_pred, residual, s=10, alpha=0.6)
    res_ax.axhline(0, color="black", linewidth=1)
    res_ax.set(xlabel="predicted", ylabel="true - predicted", title="residuals")
    for ax in (fit_ax, res_ax):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(plt.MaxNLocator(5))
        ax.yaxis.set_major_locator(plt.MaxNLocator(5))
    fig.suptitle(title)
    return save(fig, path)


# ---------------------------------------------------------------- report figures

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
    return save(fig, path)


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
    return save(fig, path)


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
    return save(fig, path)


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
    return save(fig, path)
