"""What a study predicts: classes (classification) or numbers (regression).

A study's ``task`` picks its estimator and the objectives it may optimise;
a dataset that is a regression by nature (``diabetes``) makes the study one
unless the study file says otherwise, everything else is a classification.
The regression side of every step (scores, figures) is in
:mod:`search.regression`.
"""

from dataclasses import dataclass

from estimators import MLPClassifier, MLPRegressor


@dataclass(frozen=True)
class Task:
    """One kind of study: its estimator and its objectives with their directions.

    Attributes
    ----------
    name : str
    estimator : type
        The estimator class every trial trains.
    metrics : dict
        Objective name -> 'maximize' or 'minimize'; the first is the default.
    """

    name: str
    estimator: type
    metrics: dict

    @property
    def default_metric(self):
        return next(iter(self.metrics))

    @property
    def params(self):
        """The estimator's parameter names a study file may give (callbacks are the service's)."""
        return set(self.estimator().get_params()) - {"callbacks"}


TASKS = {
    "classification": Task("classification", MLPClassifier,
                           {"val_accuracy": "maximize", "val_loss": "minimize"}),
    "regression": Task("regression", MLPRegressor, {"val_r2": "maximize", "val_loss": "minimize"}),
}
