"""The regression side of a study: its scores, its guard's measure and its figures.

A classification study scores accuracy and draws a confusion matrix; a
regression study (``task: regression``, :mod:`search.task`) scores R^2, the
estimator's own loss (half the squared error, or half the Poisson deviance)
and the mean squared error, and draws predicted against true values and the
residuals. The functions here take the place of the classification code in
:mod:`search.objective` and :mod:`search.champion` for such a study.
"""

from pathlib import Path

import numpy as np
from sklearn.metrics import mean_poisson_deviance, mean_squared_error, r2_score

from ..plots import trial as trial_plots

TASK = "regression"
# What test scores are called, in the order lines and descriptions give them.
TEST_SCORES = {"test_r2": "test R^2", "test_loss": "test loss", "test_mse": "test MSE"}


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

def trial_figures(folder, **payload):
    """Every figure of one regression trial (:func:`search.plots.trial.trial_figures` of its payload)."""
    return trial_plots.trial_figures(folder, {**payload, "task": TASK})


def champion_figures(folder, model, data, predicted):
    """The refit's curves and its test predictions, into ``folder``."""
    folder = Path(folder)
    trial_plots.regression_curves(model.history_, folder / "refit_curves.png", "refit on train + validation")
    trial_plots.predictions(data.y_test, predicted, folder / "test_predictions.png", "test rows")
