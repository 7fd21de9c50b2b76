"""What a study predicts: classes (classification) or numbers (regression).

A study's ``task`` picks its estimator and the objectives it may optimise;
a dataset that is a regression by nature (``diabetes``) makes the study one
unless the study file says otherwise, everything else is a classification.

Each :class:`Task` owns every step where the two differ: the objective
measured on any rows (the refit guard's), the test scores of a trial and of
the champion and their words, the figures of a trial and of the champion, the
column of MLflow's runs table, and what the registered model predicts. A new
kind of study (multi-label, say) is one more subclass and an entry in
:data:`TASKS`.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, log_loss, mean_poisson_deviance, mean_squared_error, r2_score

from estimators import MLPClassifier, MLPRegressor

from ..plots import trial as trial_plots
from .metrics import PROBA_METRICS
from .metrics import validation_scoring as proba_scoring


@dataclass
class Predictions:
    """A fitted model's output on the test rows, for its figures.

    Attributes
    ----------
    predicted : ndarray
        Labels (classification) or values (regression).
    proba : ndarray or None
        Class probabilities; None for a regression.
    """

    predicted: np.ndarray
    proba: np.ndarray = None


class Task(ABC):
    """One kind of study: its estimator, its objectives and what it scores and draws.

    Attributes
    ----------
    name : str
        The study file's ``task``.
    estimator : type
        The estimator class every trial trains.
    metrics : dict
        Objective name -> 'maximize' or 'minimize'; the first is the default.
    objective_words : dict
        Objective name -> what the refit guard calls it when measured on any rows.
    test_words : dict
        Test metric -> its words, in the order lines and descriptions give them.
    test_metric : str
        The test score MLflow's runs table shows and a registered version is tagged with.
    score_format : str
        How lines and descriptions write a test score.
    predicts : str
        The last sentence of a registered version's description.
    model_type : str
        ``mlflow.models.evaluate``'s name for the estimator (:mod:`search.outcome.evaluation`).
    """

    name: str
    estimator: type
    metrics: dict
    objective_words: dict
    test_words: dict
    test_metric: str
    score_format: str = ".4f"
    predicts: str
    model_type: str

    def __repr__(self):
        return f"{type(self).__name__}()"

    @property
    def default_metric(self):
        return next(iter(self.metrics))

    @property
    def params(self):
        """The estimator's parameter names a study file may give (callbacks and scoring are the service's)."""
        return set(self.estimator().get_params()) - {"callbacks", "validation_scoring"}

    def evaluator_config(self, model):
        """``mlflow.models.evaluate``'s options for the fitted ``model`` (explanations and prefix aside)."""
        return {}

    def validation_scoring(self, metric, classes):
        """The estimator's ``validation_scoring`` that records the objective ``metric`` every epoch, or
        None when the estimator records it anyway; ``classes``: the training labels, sorted."""
        return None

    @abstractmethod
    def objective_on(self, model, X, y, metric):
        """The objective ``metric`` of ``model`` measured on ``X, y`` (the refit guard's measure)."""

    @abstractmethod
    def trial_scores(self, models, data):
        """A trial's test scores, mean over its repeats, on the scaled test rows: reported, never
        used to choose."""

    @abstractmethod
    def test_scores(self, pipeline, data):
        """The champion's test scores from the raw test rows, as a user gets them.

        Returns
        -------
        scores : dict
        predictions : Predictions
            What the champion's figures draw.
        """

    @abstractmethod
    def validation_payload(self, model, data, images):
        """The validation part of a trial's figure payload (``y_true``, ``y_pred`` and, for images,
        ``top`` and ``image_shape``), when the study has validation rows."""

    @abstractmethod
    def champion_figures(self, folder, model, data, predictions):
        """The champion's training curves and its test figures, into ``folder``."""

    def score_text(self, scores):
        """The test scores in a few words, as lines and descriptions give them."""
        return ", ".join(f"{words} {scores[key]:{self.score_format}}"
                         for key, words in self.test_words.items() if key in scores)

    def trial_payload(self, model, data, title, images=True):
        """What :func:`search.plots.trial.trial_figures` needs, small enough to send to the figure
        process; ``images``: whether image studies draw their top-scored images."""
        payload = {"task": self.name, "title": title, "history": model.history_}
        if len(data.X_val):
            payload.update(self.validation_payload(model, data, images))
        return payload


class ClassificationTask(Task):
    """Class labels: accuracy and log loss, a confusion matrix and the top-scored images; or an objective
    scored from the probabilities (:mod:`search.study.metrics`: balanced accuracy, macro F1, ROC AUC, log
    loss)."""

    name, estimator = "classification", MLPClassifier
    metrics = {"val_accuracy": "maximize", "val_loss": "minimize",
               **{name: metric.direction for name, metric in PROBA_METRICS.items()}}
    objective_words = {"val_accuracy": "accuracy", "val_loss": "log loss",
                       **{name: metric.words for name, metric in PROBA_METRICS.items()}}
    test_words = {"test_accuracy": "test accuracy", "test_loss": "test loss"}
    test_metric = "test_accuracy"
    model_type = "classifier"
    predicts = "Predicts class labels from raw rows; predict_proba on mlflow.sklearn.load_model(...)."

    def validation_scoring(self, metric, classes):
        return proba_scoring(metric, classes)

    def evaluator_config(self, model):
        # every training label, the positive one last (as sklearn's); F1, precision, recall: macro, as val_f1_macro
        labels = model.classes_.tolist()
        return {"label_list": labels, "average": "macro", **({"pos_label": labels[1]} if len(labels) == 2 else {})}

    def objective_on(self, model, X, y, metric):
        if metric == "val_accuracy":
            return float(np.mean(model.predict(X) == y))
        if metric in PROBA_METRICS:
            return PROBA_METRICS[metric].score(y, model.predict_proba(X), model.classes_)
        return float(log_loss(y, model.predict_proba(X), labels=model.classes_))

    def trial_scores(self, models, data):
        probas = [m.predict_proba(data.X_test) for m in models]  # one pass per model for both scores
        accuracy = [accuracy_score(data.y_test, m.classes_[p.argmax(axis=1)]) for m, p in zip(models, probas)]
        loss = [log_loss(data.y_test, p, labels=m.classes_) for m, p in zip(models, probas)]
        return {"test_accuracy": float(np.mean(accuracy)), "test_loss": float(np.mean(loss))}

    def test_scores(self, pipeline, data):
        predicted = pipeline.predict(data.X_test_raw)
        proba = pipeline.predict_proba(data.X_test_raw)
        scores = {"test_accuracy": float(np.mean(predicted == data.y_test)),
                  "test_loss": float(log_loss(data.y_test, proba, labels=pipeline.classes_))}
        return scores, Predictions(predicted, proba)

    def validation_payload(self, model, data, images):
        proba = model.predict_proba(data.X_val)
        payload = {"y_true": data.y_val, "y_pred": model.classes_[proba.argmax(axis=1)]}
        if data.image_shape and images:
            raw = data.X_val if data.X_val_raw is None else data.X_val_raw
            payload.update(top=trial_plots.top_scored_set(proba, raw, data.y_val, model.classes_),
                           image_shape=data.image_shape)
        return payload

    def champion_figures(self, folder, model, data, predictions):
        folder = Path(folder)
        trial_plots.curves(model.history_, folder / "refit_curves.png", "refit on train + validation")
        trial_plots.confusion(data.y_test, predictions.predicted, folder / "test_confusion_matrix.png",
                              "test, normalised over predicted label")
        if data.image_shape:
            raw = data.X_test if data.X_test_raw is None else data.X_test_raw
            top = trial_plots.top_scored_set(predictions.proba, raw, data.y_test, model.classes_)
            trial_plots.top_scored_images(top, data.image_shape, folder / "test_top3_images.png",
                                          "refit, test set")


class RegressionTask(Task):
    """Numbers: R^2, the estimator's own loss (half the squared error, or half the Poisson deviance)
    and the mean squared error; predicted against true values and the residuals."""

    name, estimator = "regression", MLPRegressor
    metrics = {"val_r2": "maximize", "val_loss": "minimize"}
    objective_words = {"val_r2": "R^2", "val_loss": "loss"}
    test_words = {"test_r2": "test R^2", "test_loss": "test loss", "test_mse": "test MSE"}
    test_metric = "test_r2"
    model_type = "regressor"
    score_format = ".4g"
    predicts = "Predicts values from raw rows."

    @staticmethod
    def loss(model, y, predicted):
        """The estimator's own loss on ``y``: what ``val_loss`` measures on the validation rows."""
        if getattr(model, "loss", "squared_error") == "poisson":
            return 0.5 * float(mean_poisson_deviance(y, predicted))
        return 0.5 * float(mean_squared_error(y, predicted))

    def scores(self, model, y, predicted):
        """test_r2, test_loss and test_mse of ``predicted`` against ``y``."""
        if not np.all(np.isfinite(predicted)):
            return dict.fromkeys(self.test_words, float("nan"))  # as sklearn's score of a diverged model
        return {"test_r2": float(r2_score(y, predicted)), "test_loss": self.loss(model, y, predicted),
                "test_mse": float(mean_squared_error(y, predicted))}

    def objective_on(self, model, X, y, metric):
        predicted = model.predict(X)
        if not np.all(np.isfinite(predicted)):
            return float("nan")
        return float(r2_score(y, predicted)) if metric == "val_r2" else self.loss(model, y, predicted)

    def trial_scores(self, models, data):
        each = [self.scores(m, data.y_test, m.predict(data.X_test)) for m in models]
        return {key: float(np.mean([s[key] for s in each])) for key in self.test_words}

    def test_scores(self, pipeline, data):
        predicted = pipeline.predict(data.X_test_raw)
        return self.scores(pipeline[-1], data.y_test, predicted), Predictions(predicted)

    def validation_payload(self, model, data, images):
        return {"y_true": data.y_val, "y_pred": model.predict(data.X_val)}

    def champion_figures(self, folder, model, data, predictions):
        folder = Path(folder)
        trial_plots.regression_curves(model.history_, folder / "refit_curves.png", "refit on train + validation")
        trial_plots.predictions(data.y_test, predictions.predicted, folder / "test_predictions.png", "test rows")


TASKS = {task.name: task for task in (ClassificationTask(), RegressionTask())}
