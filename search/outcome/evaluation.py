"""The champion scored by MLflow's own evaluation, ``mlflow.models.evaluate``, on the raw test rows.

It loads the logged model (the whole pipeline, as a user gets it) and adds
to the parent run, beside our own ``test_accuracy`` and ``test_loss`` (or
``test_r2``, ``test_loss``, ``test_mse``), MLflow's standard set under the
prefix ``test_``: for a classification ``test_accuracy_score`` (equal to
``test_accuracy``), ``test_log_loss`` (equal to ``test_loss``),
``test_precision_score``, ``test_recall_score``, ``test_f1_score`` and
``test_roc_auc`` (over several classes macro means, as the ``val_f1_macro``
and ``val_roc_auc`` objectives; for two, of the positive label, the greater,
with the counts ``test_true_positives``...) and the figures
``test_confusion_matrix.png`` (normalised over the true label; ours, under
``best/``, over the predicted one), ``test_roc_curve_plot.png``,
``test_precision_recall_curve_plot.png``, ``test_calibration_curve_plot.png``
(and a lift curve for two classes) and ``per_class_metrics.csv``; for a regression
``test_r2_score``, ``test_mean_squared_error``, ``test_mean_absolute_error``,
``test_root_mean_squared_error`` and more. The metrics are also the logged
model's, on its page, with the test rows as their dataset.

Our own scores stay: the command's lines, the registered version's tags, the
baselines and reports use them, and they are measured under ``--quick``
too, where this evaluation is skipped (``artifacts: {evaluate: false}``): it
takes seconds, mostly drawing its figures. Model explanations (SHAP) are off.
"""

import logging
from contextlib import contextmanager

from .. import tracking
from ..tracking.datasets import mlflow_datasets

PREFIX = "test_"


def evaluate(run, model_uri, model):
    """``mlflow.models.evaluate`` of the logged ``model_uri`` on the raw test rows, on the parent run.

    Parameters
    ----------
    run : search.context.StudyRun
    model_uri : str
        The logged pipeline, ``models:/m-<id>``.
    model : sklearn.pipeline.Pipeline
        The same pipeline in memory: its classes name the labels.

    Returns
    -------
    dict
        The metrics it logged, prefixed ``test_``.

    Raises
    ------
    search.tracking.TrackingError
        The evaluation or its writes failed, after retries.
    """
    import mlflow

    spec = run.spec
    test = mlflow_datasets(run.data, spec.dataset.get("path"), spec.dataset.get("target"))["test"]
    config = {"log_model_explainability": False, "metric_prefix": PREFIX, **run.task.evaluator_config(model)}

    def action():
        with mlflow.start_run(run_id=run.parent), _quiet():
            return mlflow.models.evaluate(model_uri, test, model_type=run.task.model_type, evaluators=["default"],
                                          evaluator_config={"default": config},
                                          model_id=model_uri.rsplit("/", 1)[-1])

    return dict(tracking._with_retries(f"evaluate the champion on MLflow run {run.parent}", action).metrics)


@contextmanager
def _quiet():
    """MLflow's evaluation logs a line per step, and warns that integer labels (digits) look like no
    model type at all; the command prints its own lines. Its errors still show."""
    logger = logging.getLogger("mlflow.models.evaluation")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
