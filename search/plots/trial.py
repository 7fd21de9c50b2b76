"""Trial figures: loss and accuracy curves, the confusion matrix normalised over the predicted
label (seed 002), the top-3 scored images per class as the user's raw pixels (seed 002), per-layer
gradient norms (seed 004), and for a regression predicted against true values.

Every function draws from plain data (a trial's history records, labels, arrays). :func:`trial_figures`
draws all the figures one trial's payload allows, from :data:`TRIAL_FIGURES`: a new per-trial figure
is one entry there (and its draw function here).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay

from . import style
from .style import few_ticks, plt, styled

# Trial figures are drawn for every completed trial: fixed margins, since
# matplotlib's constrained layout costs as much as the drawing itself.
SIDE_BY_SIDE = dict(left=0.08, right=0.98, bottom=0.16, top=0.82, wspace=0.28)
# The first epochs' R^2 of an unscaled target is far below 0 (-4 on diabetes); the axis stops here.
R2_FLOOR = -1.0
# SIDE_BY_SIDE with room on the left for a loss in the thousands
REGRESSION_CURVES_LAYOUT = {**SIDE_BY_SIDE, "left": 0.09, "wspace": 0.3}

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
    return style.save(fig, path)


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
    return style.save(fig, path)


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
    return style.save(fig, path)


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
    return style.save(fig, path)


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
    return style.save(fig, path)


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
    return style.save(fig, path)


# ---------------------------------------------------------------- every figure of one trial


@dataclass(frozen=True)
class TrialFigure:
    """One per-trial figure: how it is drawn from a trial's payload, and the payload keys it needs.

    ``draw(payload, path)`` draws it into ``path``; ``needs`` are the payload
    keys that must hold a value (not None) for it to be drawn.
    """

    draw: Callable
    needs: tuple = ("history",)

    def drawable(self, payload):
        return all(payload.get(key) is not None for key in self.needs)


def _title(payload, suffix=""):
    return payload.get("title", "") + suffix


VALIDATION = ("history", "y_true", "y_pred")

# The payload's task ('classification' unless given) -> file name -> figure, in drawing order.
TRIAL_FIGURES = {
    "classification": {
        "curves.png": TrialFigure(lambda p, path: curves(p["history"], path, _title(p))),
        "gradient_norms.png": TrialFigure(lambda p, path: gradient_norms(p["history"], path, _title(p))),
        "confusion_matrix.png": TrialFigure(lambda p, path: confusion(
            p["y_true"], p["y_pred"], path, _title(p, ": validation, normalised over predicted label")), VALIDATION),
        "top3_images.png": TrialFigure(lambda p, path: top_scored_images(
            p["top"], p["image_shape"], path, _title(p, ", validation")), ("top", "image_shape")),
    },
    "regression": {
        "curves.png": TrialFigure(lambda p, path: regression_curves(p["history"], path, _title(p))),
        "gradient_norms.png": TrialFigure(lambda p, path: gradient_norms(p["history"], path, _title(p))),
        "predictions.png": TrialFigure(lambda p, path: predictions(
            p["y_true"], p["y_pred"], path, _title(p, ": validation")), VALIDATION),
    },
}


def trial_figures(folder, payload):
    """Every figure one trial's ``payload`` allows, into ``folder``; returns the files written.

    Parameters
    ----------
    folder : str or Path
    payload : dict
        ``task`` ('classification', the default, or 'regression'), ``title``,
        ``history`` (the estimator's ``history_``), and optionally the
        validation rows' ``y_true`` and ``y_pred``, and :func:`top_scored_set`'s
        ``top`` with the images' ``image_shape``.
    """
    figures = TRIAL_FIGURES[payload.get("task") or "classification"]
    return [figure.draw(payload, Path(folder) / name) for name, figure in figures.items() if figure.drawable(payload)]
