"""A classification's objectives scored from its class probabilities, beyond accuracy and ``val_loss``.

``val_balanced_accuracy``, ``val_f1_macro``, ``val_roc_auc`` and
``val_log_loss``, each scikit-learn's metric on the validation rows. A trial's
estimator computes the study's one every epoch from the probabilities it
already has for ``val_loss`` (its ``validation_scoring``): no second pass over
the validation rows, and the pruner sees it epoch by epoch. The refit guard
measures it on any rows (:meth:`search.study.task.ClassificationTask.objective_on`).

Each score is ``score(y_true, proba, classes)``, ``proba`` having a column per
label of ``classes`` (sorted: the estimator's ``classes_``):

- balanced accuracy and macro F1 score the most probable label; macro F1
  averages over the labels that are true or predicted (sklearn's default), a
  label never predicted counting 0;
- ROC AUC is the binary one of the second label (the greater, as sklearn
  takes it: ``yes`` over ``no``, ``True`` over ``False``), else the mean of
  one-vs-rest AUCs over ``classes``; NaN (sklearn's warning) when the rows hold
  a single label;
- ``val_log_loss`` is sklearn's ``log_loss``: the mean negative log-likelihood
  without the L2 term, so it equals the estimator's own ``val_loss`` up to
  float rounding (both clip probabilities at the float's epsilon). It is
  there so that a study file can say what it means; either may be chosen.
"""

from dataclasses import dataclass
from functools import partial
from typing import Callable

from sklearn.metrics import balanced_accuracy_score, f1_score, log_loss, roc_auc_score


def balanced_accuracy(y_true, proba, classes):
    return float(balanced_accuracy_score(y_true, classes[proba.argmax(axis=1)]))


def f1_macro(y_true, proba, classes):
    # zero_division=0.0: sklearn's value without its warning for a label never predicted
    return float(f1_score(y_true, classes[proba.argmax(axis=1)], average="macro", zero_division=0.0))


def roc_auc(y_true, proba, classes):
    if len(classes) == 2:
        return float(roc_auc_score(y_true == classes[1], proba[:, 1]))
    return float(roc_auc_score(y_true, proba, multi_class="ovr", labels=classes))


def negative_log_likelihood(y_true, proba, classes):
    return float(log_loss(y_true, proba, labels=classes))



def better(value, than, direction):
    """Whether objective ``value`` beats ``than`` for a study that goes in ``direction`` (``"maximize"``
    or ``"minimize"``); a NaN beats nothing and loses to nothing."""
    return value > than if direction == "maximize" else value < than


def best(items, direction, value=lambda item: item.value):
    """The item of ``items`` whose ``value`` is best for ``direction``; None when there is none."""
    return (max if direction == "maximize" else min)(items, key=value, default=None)


@dataclass(frozen=True)
class ProbaMetric:
    """An objective scored from class probabilities: its direction, its words and its score."""

    direction: str
    words: str
    score: Callable


PROBA_METRICS = {
    "val_balanced_accuracy": ProbaMetric("maximize", "balanced accuracy", balanced_accuracy),
    "val_f1_macro": ProbaMetric("maximize", "macro F1", f1_macro),
    "val_roc_auc": ProbaMetric("maximize", "ROC AUC", roc_auc),
    "val_log_loss": ProbaMetric("minimize", "log loss", negative_log_likelihood),
}


def validation_scoring(metric, classes):
    """The estimator's ``validation_scoring`` for the objective ``metric``: ``{metric: score(y, proba)}``
    for a probability metric (a partial of a module function, so the estimator still pickles), else None
    (accuracy and ``val_loss`` the estimator records itself)."""
    if metric not in PROBA_METRICS:
        return None
    return {metric: partial(PROBA_METRICS[metric].score, classes=classes)}
