"""The Optuna objective: train the estimator for one trial and track it in MLflow."""

import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import optuna
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss

from estimators import DivergenceError, MLPClassifier

from . import plots, tracking
from .space import estimator_params

TRAIN_ACCURACY_ROWS = 2000  # training accuracy per epoch is measured on this many rows


class PruningReporter:
    """Estimator callback: reports each epoch's objective metric to the trial and prunes.

    It also adds the training accuracy (on a fixed subset of the training
    rows) to the epoch's record, for the train-vs-validation curves.
    """

    def __init__(self, trial, metric, X_sub, y_sub, report=True):
        self.trial, self.metric = trial, metric
        self.X_sub, self.y_sub = X_sub, y_sub
        self.report = report

    def __call__(self, estimator, record):
        record["train_accuracy"] = float(estimator.score(self.X_sub, self.y_sub))
        if self.report:
            self.trial.report(record[self.metric], step=record["epoch"])
            if self.trial.should_prune():
                raise optuna.TrialPruned(f"pruned at epoch {record['epoch']}: "
                                         f"{self.metric}={record[self.metric]:.4f}")
        return False

    def __deepcopy__(self, memo):
        # The trial is a handle on the study's storage, not something to copy.
        return self


class Objective:
    """``objective(trial) -> mean of the metric over the study's repeats``.

    Parameters
    ----------
    spec : StudySpec
    data : search.data.Dataset
    plan : search.service.StagePlan
        Gives each trial its stage and that stage's (narrowed) space.
    client : MlflowClient
    experiment : str
        MLflow experiment id.
    parent_run_id : str
    worker : str
        This worker's ``host:pid``, kept on its trials so a dead worker's can be found.
    """

    def __init__(self, spec, data, plan, client, experiment, parent_run_id, worker=""):
        self.spec, self.data, self.plan, self.worker = spec, data, plan, worker
        self.client, self.experiment, self.parent_run_id = client, experiment, parent_run_id
        rows = np.random.default_rng(0).permutation(len(data.X_train))[:TRAIN_ACCURACY_ROWS]
        self.X_sub, self.y_sub = data.X_train[rows], data.y_train[rows]

    def __call__(self, trial):
        stage, space = self.plan.stage_and_space(trial)
        values = space.suggest(trial)
        params = self.params(values)
        trial.set_user_attr("stage", stage)
        trial.set_user_attr("worker", self.worker)
        trial.set_user_attr("fail_reason", "")  # a retried trial inherits its original's
        trial.set_user_attr("ranges", space.describe())
        run_id = tracking.start_trial_run(self.client, self.experiment, self.parent_run_id,
                                          trial.number, {"stage": str(stage)})
        trial.set_user_attr("mlflow_run_id", run_id)
        logged = {**values, **params, "stage": stage, "trial_number": trial.number}
        ranges = {f"range.{name}": text for name, text in space.describe().items()}
        tracking.log_batch(self.client, run_id, params=tracking.params_of(logged),
                           tags=tracking.tags_of(ranges))
        started = time.perf_counter()
        models, histories = [], []
        try:
            for repeat, seed in enumerate(self.spec.seeds):
                model = self.fit(trial, params, seed, report=repeat == 0)
                models.append(model)
                histories.append(model.history_)
        except optuna.TrialPruned as pruned:
            self.finish(run_id, histories + [self._partial(models)], "PRUNED", "FINISHED", str(pruned))
            raise
        except DivergenceError as error:
            trial.set_user_attr("fail_reason", str(error))
            self.finish(run_id, histories + [list(error.history)], "FAIL", "FAILED", str(error))
            raise
        except BaseException as error:
            # Ctrl-C, SIGTERM, a bug: the run must not stay RUNNING.
            reason = f"{type(error).__name__}: {error}"
            trial.set_user_attr("fail_reason", reason)
            self.finish(run_id, histories, "FAIL",
                        "KILLED" if isinstance(error, KeyboardInterrupt) else "FAILED", reason)
            raise
        value = self.complete(trial, run_id, models, time.perf_counter() - started)
        return value

    def params(self, values):
        params = estimator_params(values, self.spec.estimator, len(self.data.X_train))
        params.setdefault("max_iter", self.spec.epochs)
        return params

    def fit(self, trial, params, seed, report):
        reporter = PruningReporter(trial, self.spec.metric, self.X_sub, self.y_sub, report)
        model = MLPClassifier(**params, random_state=seed, callbacks=[reporter])
        self._current = model
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # the study fixes the epochs
            return model.fit(self.data.X_train, self.data.y_train,
                             validation_data=(self.data.X_val, self.data.y_val))

    def _partial(self, models):
        """The history of the model that was being trained when the trial stopped."""
        current = getattr(self, "_current", None)
        return [] if current is None or current in models else getattr(current, "history_", [])

    def complete(self, trial, run_id, models, seconds):
        finals = [m.history_[-1][self.spec.metric] for m in models]
        value = float(np.mean(finals))
        summary = {
            self.spec.metric: value,
            f"{self.spec.metric}_std": float(np.std(finals)),
            "train_seconds": seconds,
            **self.test_scores(models),
        }
        for repeat, final in enumerate(finals):
            summary[f"{self.spec.metric}_repeat{repeat}"] = float(final)
        for key, item in summary.items():
            trial.set_user_attr(key, item)
        metrics = tracking.metrics_of(models[0].history_)
        now = int(time.time() * 1000)
        metrics += [tracking.Metric(k, float(v), now, len(models[0].history_)) for k, v in summary.items()]
        tracking.log_batch(self.client, run_id, metrics=metrics,
                           tags=tracking.tags_of({"optuna.state": "COMPLETE"}))
        if self.spec.artifacts.get("trial_plots", True):
            self.log_trial_plots(run_id, trial.number, models[0])
        tracking.end_run(self.client, run_id, "FINISHED")
        return value

    def test_scores(self, models):
        """Test accuracy and loss, mean over repeats: reported, never used to choose."""
        data = self.data
        accuracy = [m.score(data.X_test, data.y_test) for m in models]
        loss = [log_loss(data.y_test, m.predict_proba(data.X_test), labels=m.classes_) for m in models]
        return {"test_accuracy": float(np.mean(accuracy)), "test_loss": float(np.mean(loss))}

    def finish(self, run_id, histories, state, status, reason):
        """Log what a stopped trial had measured, with its state and reason, and end its run."""
        metrics = tracking.metrics_of(histories[0]) if histories and histories[0] else []
        try:
            tracking.log_batch(self.client, run_id, metrics=metrics, tags=tracking.tags_of(
                {"optuna.state": state, "fail_reason" if state == "FAIL" else "prune_reason": reason}))
        finally:
            tracking.end_run(self.client, run_id, status)

    def log_trial_plots(self, run_id, number, model):
        data = self.data
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            title = f"trial {number}"
            plots.curves(model.history_, folder / "curves.png", title)
            plots.gradient_norms(model.history_, folder / "gradient_norms.png", title)
            if len(data.X_val):
                plots.confusion(data.y_val, model.predict(data.X_val), folder / "confusion_matrix.png",
                                f"{title}: validation, normalised over predicted label")
                if data.image_shape and self.spec.artifacts.get("images", True):
                    plots.top_scored_images(data.X_val, model.predict_proba(data.X_val), model.classes_,
                                            data.image_shape, folder / "top3_images.png")
            self.client.log_artifacts(run_id, str(folder), "plots")

