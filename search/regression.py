"""The regression side of a study: its scores, its guard's measure and its figures.

A classification study scores accuracy and draws a confusion matrix; a
regression study (``task: regression``, :mod:`search.task`) scores R^2, the
estimator's own loss (half the squared error, or half the Poisson deviance)
and the mean squared error, and draws predicted against true values and the
residuals. The functions here take the place of the classification code in
:mod:`search.objective` and :mod:`search.results` for such a study.
"""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import mean_poisson_deviance, mean_squared_error, r2_score

from . import plots

TASK = "regression"
# What test scores are called, in the order lines and descriptions give them.
TEST_SCORES = {"test_r2": "test R^2", "test_loss": "test loss", "test_mse": "test MSE"}
# The first epochs' R^2 of an unscaled target is far below 0 (-4 on diabetes); the axis stops here.
R2_FLOOR = -1.0
# plots.SIDE_BY_SIDE with room on the left for a loss in the thousands
CURVES_LAYOUT = {**plots.SIDE_BY_SIDE, "left": 0.09, "wspace": 0.3}


def is_regression(spec_or_payload):
    """Whether a study spec (or a trial's figure payload) is a regression's."""
    task = (spec_or_payload.get("task") if isinstance(spec_or_payload, dict)
            else getattr(spec_or_payload, "task", None))
    return task == TASK


def loss(model, y, predicted):
    """The estimator's own loss on ``y``: what ``val_loss`` measures on the validation rows."""
    if getattr(model, "loss", "squared_error") == "poisson":
        return 0.5 * float(mean_poisson_deviance(y, predicted))
    return 0.5 * float(mean_squared_error(y, predicted))


def scores(model, y, predicted):
    """test_r2, test_loss and test_mse of ``predicted`` against ``y``."""
    if not np.all(np.isfinite(predicted)):
        return dict.fromkeys(TEST_SCORES, float("nan"))  # as sklearn's score of a diverged model
    return {"test_r2": float(r2_score(y, predicted)), "test_loss": loss(model, y, predicted),
            "test_mse": float(mean_squared_error(y, predicted))}


def test_scores(models, data):
    """Trial test scores, mean over repeats, on the scaled test rows: reported, never used to choose."""
    each = [scores(m, data.y_test, m.predict(data.X_test)) for m in models]
    return {key: float(np.mean([s[key] for s in each])) for key in TEST_SCORES}


def pipeline_scores(pipeline, data):
    """The champion's test scores from the raw test rows, as a user gets them, and its predictions."""
    predicted = pipeline.predict(data.X_test_raw)
    return scores(pipeline[-1], data.y_test, predicted), predicted


def objective_on(model, X, y, metric):
    """The study's objective measured on ``X, y``: R^2 for ``val_r2``, else the estimator's loss."""
    predicted = model.predict(X)
    if not np.all(np.isfinite(predicted)):
        return float("nan")
    return float(r2_score(y, predicted)) if metric == "val_r2" else loss(model, y, predicted)


def score_text(scores):
    """'test R^2 0.4512, test loss 1450.2, test MSE 2900.4'."""
    return ", ".join(f"{TEST_SCORES[key]} {scores[key]:.4g}" for key in TEST_SCORES if key in scores)


def trial_payload(model, data, title):
    """What :func:`trial_figures` needs, small enough to send to the figure process."""
    payload = {"task": TASK, "title": title, "history": model.history_}
    if len(data.X_val):
        payload.update(y_true=data.y_val, y_pred=model.predict(data.X_val))
    return payload


# ----------------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------------

def trial_figures(folder, title, history, y_true=None, y_pred=None, task=TASK):
    """Every figure of one regression trial: curves, gradient norms, and with validation
    data predicted against true values and the residuals."""
    folder = Path(folder)
    curves(history, folder / "curves.png", title)
    plots.gradient_norms(history, folder / "gradient_norms.png", title)
    if y_true is not None:
        predictions(y_true, y_pred, folder / "predictions.png", f"{title}: validation")


def curves(history, path, title=""):
    """Train and validation loss (log scale), and validation R^2 (from ``R2_FLOOR`` up), per epoch."""
    epochs = [r["epoch"] for r in history]
    fig, (loss_ax, r2_ax) = plt.subplots(1, 2, figsize=(9, 3.4), gridspec_kw=CURVES_LAYOUT)
    loss_ax.plot(epochs, [r["train_loss"] for r in history], label="train")
    if "val_loss" in history[0]:
        loss_ax.plot(epochs, [r["val_loss"] for r in history], label="validation")
    loss_ax.set(xlabel="epoch", ylabel="loss", title="loss")
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
        plots.few_ticks(ax)
    fig.suptitle(title)
    return plots.save(fig, path)


def predictions(y_true, y_pred, path, title=""):
    """Predicted against true values (the diagonal is perfect), and residuals against predictions."""
    y_true, y_pred = np.ravel(y_true), np.ravel(y_pred)
    fig, (fit_ax, res_ax) = plt.subplots(1, 2, figsize=(9, 3.6), gridspec_kw=plots.SIDE_BY_SIDE)
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
    return plots.save(fig, path)


def champion_figures(folder, model, data, predicted):
    """The refit's curves and its test predictions, into ``folder``."""
    folder = Path(folder)
    curves(model.history_, folder / "refit_curves.png", "refit on train + validation")
    predictions(data.y_test, predicted, folder / "test_predictions.png", "test rows")
