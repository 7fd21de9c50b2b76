"""Figures, drawn with matplotlib's Agg backend into PNG files.

Trial figures: loss and accuracy curves, the confusion matrix normalised over
the predicted label (seed 002), the top-3 scored images per class (seed 002),
and per-layer gradient norms (seed 004). Study figures come from
``optuna.visualization.matplotlib``.
"""

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay  # noqa: E402

DPI = 80
# Trial figures are drawn for every completed trial: fixed margins, since
# matplotlib's constrained layout costs as much as the drawing itself.
SIDE_BY_SIDE = dict(left=0.07, right=0.98, bottom=0.14, top=0.84, wspace=0.25)


def save(fig, path):
    # A fixed layout: bbox_inches="tight" draws every figure twice. zlib's fastest
    # level: 7% less time for every completed trial's figures, files a fifth larger.
    fig.savefig(path, dpi=DPI, pil_kwargs={"compress_level": 1})
    plt.close(fig)
    return Path(path)


def few_ticks(ax):
    """At most five whole numbers on x and a few values on y: each tick label is drawn text, the main cost.

    A log y axis gets 1, 2 and 5 times each power of ten when its data span
    less than two decades (powers of ten alone would leave it unlabelled),
    else powers of ten; labels are short.
    """
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(5, integer=True))
    if ax.get_yscale() == "log":
        low, high = ax.dataLim.intervaly
        decades = np.log10(high / low) if low > 0 else np.inf
        subs = (1.0, 2.0, 5.0) if decades < 2 else (1.0,)
        ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=subs, numticks=7))
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:.2g}"))
        ax.yaxis.set_minor_locator(matplotlib.ticker.NullLocator())  # minor log ticks are slow to lay out
    else:
        ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))


def curves(history, path, title=""):
    """Train and validation loss, and validation (and train) accuracy, per epoch."""
    epochs = [r["epoch"] for r in history]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(9, 3.4), gridspec_kw=SIDE_BY_SIDE)
    loss_ax.plot(epochs, [r["train_loss"] for r in history], label="train")
    if "val_loss" in history[0]:
        loss_ax.plot(epochs, [r["val_loss"] for r in history], label="validation")
    loss_ax.set(xlabel="epoch", ylabel="loss", title="loss")
    for key, name in (("train_accuracy", "train"), ("val_accuracy", "validation")):
        if key in history[0]:
            acc_ax.plot(epochs, [r[key] for r in history], label=name)
    acc_ax.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (loss_ax, acc_ax):
        if ax.lines:
            ax.legend()
        ax.grid(alpha=0.3)
        few_ticks(ax)
    fig.suptitle(title)
    return save(fig, path)


def confusion(y_true, y_pred, path, title=""):
    """Confusion matrix normalised over the predicted label (columns sum to 1).

    Cells that round to 0.00 stay blank: most are, and each drawn value is
    text, the figure's main cost.
    """
    fig, ax = plt.subplots(figsize=(6, 5.5), gridspec_kw=dict(left=0.12, right=0.97, bottom=0.1, top=0.93))
    display = ConfusionMatrixDisplay.from_predictions(y_true, y_pred, normalize="pred", ax=ax,
                                                      include_values=False, colorbar=False)
    matrix, cmap = display.confusion_matrix, display.im_.cmap
    middle = (matrix.max() + matrix.min()) / 2
    for (row, column), value in np.ndenumerate(matrix):
        if f"{value:.2f}" != "0.00":
            ax.text(column, row, f"{value:.2f}", ha="center", va="center",  # sklearn's contrast colours
                    color=cmap(1.0) if value < middle else cmap(0.0))
    ax.set_title(title or "confusion matrix (normalised over predicted label)")
    return save(fig, path)


def top_scored(proba, k=3):
    """Row indices of the ``k`` highest scores for each class: shape (n_classes, k)."""
    return np.argsort(-proba, axis=0)[:k].T


def top_scored_images(images, classes, image_shape, path):
    """A mosaic: one row per class, its top-scored images left to right.

    ``images`` has shape (n_classes, k, n_features); one ``imshow`` of the
    mosaic costs a tenth of thirty small axes.
    """
    n_classes, k = images.shape[:2]
    height, width = image_shape[:2]
    tiles = np.ones((n_classes * (height + 1), k * (width + 1), *image_shape[2:]))
    for row in range(n_classes):
        for col in range(k):
            top, left = row * (height + 1), col * (width + 1)
            tiles[top:top + height, left:left + width] = _as_image(images[row, col], image_shape)
    fig, ax = plt.subplots(figsize=(0.6 * k + 1.0, 0.6 * n_classes + 0.6),
                           gridspec_kw=dict(left=0.25, right=0.95, bottom=0.06, top=0.93))
    ax.imshow(tiles, cmap="gray" if len(image_shape) == 2 else None, interpolation="nearest")
    ax.set_yticks([(h + 0.5) * (height + 1) for h in range(n_classes)], [str(c) for c in classes])
    ax.set_xticks([(c + 0.5) * (width + 1) for c in range(k)], [f"#{c + 1}" for c in range(k)])
    ax.set_title(f"top-{k} scored per class", fontsize=8)
    return save(fig, path)


def _as_image(row, image_shape):
    image = row.reshape(image_shape).astype(float)
    low, high = image.min(), image.max()
    return (image - low) / (high - low) if high > low else image


def gradient_norms(history, path, title=""):
    """Per-layer weight-gradient norms: over epochs (mean) and per layer (max, first and last epoch)."""
    n_layers = len(history[0]["grad_norm_mean"])
    epochs = [r["epoch"] for r in history]
    fig, (time_ax, layer_ax) = plt.subplots(1, 2, figsize=(9, 3.4), gridspec_kw=SIDE_BY_SIDE)
    for layer in range(n_layers):
        time_ax.plot(epochs, [max(r["grad_norm_mean"][layer], 1e-30) for r in history],
                     label=f"layer {layer}")
    time_ax.set(xlabel="epoch", ylabel="mean gradient norm", yscale="log", title="over epochs")
    if n_layers <= 10:
        time_ax.legend(fontsize=7)
    layers = np.arange(n_layers)
    for record, name in ((history[0], "first epoch"), (history[-1], "last epoch")):
        layer_ax.plot(layers, np.maximum(record["grad_norm_max"], 1e-30), "o-", label=name)
    layer_ax.set(xlabel="layer (input side first)", ylabel="max gradient norm", yscale="log",
                 title="per layer")
    layer_ax.legend(fontsize=7)
    for ax in (time_ax, layer_ax):
        ax.grid(alpha=0.3)
        few_ticks(ax)
    fig.suptitle(title)
    return save(fig, path)


def trial_figures(folder, title, history, y_true=None, y_pred=None, images=None, classes=None,
                  image_shape=None):
    """Every figure of one trial into ``folder``: curves, gradient norms, and with
    validation data the confusion matrix and the top-3 scored images."""
    folder = Path(folder)
    curves(history, folder / "curves.png", title)
    gradient_norms(history, folder / "gradient_norms.png", title)
    if y_true is not None:
        confusion(y_true, y_pred, folder / "confusion_matrix.png",
                  f"{title}: validation, normalised over predicted label")
    if images is not None:
        top_scored_images(images, classes, image_shape, folder / "top3_images.png")


def study_figures(study, folder, params):
    """Optuna's history, importances, slice and (lambda x slope or first two) contour plots.

    Figures that cannot be drawn (too few finished trials, a single
    parameter) are skipped; returns the files written.
    """
    from optuna.visualization import matplotlib as ov

    folder = Path(folder)
    contour = [p for p in ("lambda", "slope") if p in params]
    if len(contour) < 2:
        contour = [p for p in params][:2]
    plots = {
        "optimization_history.png": lambda: ov.plot_optimization_history(study),
        "slice.png": lambda: ov.plot_slice(study),
    }
    if len(contour) == 2:  # importances and contours need two parameters
        plots["param_importances.png"] = lambda: ov.plot_param_importances(study)
        plots[f"contour_{'_'.join(contour)}.png"] = lambda: ov.plot_contour(study, params=contour)
    written = []
    for name, draw in plots.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna marks these plots experimental
            try:
                axes = draw()
            except (ValueError, RuntimeError, ZeroDivisionError):
                continue
        figure = np.ravel(axes)[0].figure if isinstance(axes, np.ndarray) else axes.figure
        written.append(save(figure, folder / name))
    return written


def stage_values(study, spec, path):
    """Each searched number against the trial number, coloured by stage: narrowing made visible."""
    names = [name for name, dim in spec.space if hasattr(dim, "log") and not dim.integer]
    if not names:
        return None
    trials = [t for t in study.trials if t.params]
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.2), squeeze=False,
                             layout="constrained")
    for ax, name in zip(axes[0], names):
        for stage in range(len(spec.stages)):
            chosen = [t for t in trials if t.user_attrs.get("stage") == stage and name in t.params]
            ax.scatter([t.number for t in chosen], [t.params[name] for t in chosen], s=14,
                       label=f"stage {stage + 1}")
        if spec.space.dimensions[name].log:
            ax.set_yscale("log")
        ax.set(xlabel="trial", ylabel=name, title=name)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    return save(fig, path)
