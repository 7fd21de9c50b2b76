"""The Optuna objective: train the estimator for one trial and track it in MLflow."""

import time
import warnings

import numpy as np
import optuna
from sklearn.exceptions import ConvergenceWarning

from estimators import DivergenceError

from ..tracking import names
from ..tracking.datasets import log_datasets
from ..tracking.states import COMPLETE, FAIL, PRUNED, status_of
from .. import tracking
from . import recovery, timekeeping
from .background import CORE_SHARING, FIGURES
from ..secrets import mask
from ..study.space import trial_params


class PruningReporter:
    """Estimator callback: reports each epoch's objective metric to the trial, and prunes.

    With K folds (``fold`` given), fold k's epochs are steps ``k * max_iter + epoch``: a step is one epoch
    of one fold, the same rows for every trial, so the pruner compares like with like, from the first
    fold's first epochs on, as without folds.
    """

    def __init__(self, trial, metric, report=True, fold=None):
        self.trial, self.metric, self.report, self.fold = trial, metric, report, fold

    def __call__(self, estimator, record):
        if self.report:
            step = (self.fold or 0) * estimator.max_iter + record["epoch"]
            self.trial.report(record[self.metric], step=step)
            if self.trial.should_prune():
                where = "" if self.fold is None else f" of fold {self.fold}"
                raise optuna.TrialPruned(f"pruned at epoch {record['epoch']}{where}: "
                                         f"{self.metric}={record[self.metric]:.4f}")
        return False

    def __deepcopy__(self, memo):
        # The trial is a handle on the study's storage, not something to copy.
        return self


class Objective:
    """``objective(trial) -> mean of the metric over the study's repeats`` (and folds, with ``validation:
    {folds: K}``: each repeat trains on each fold's training rows, validated on its validation rows).

    Parameters
    ----------
    run : search.context.StudyRun
        The study, its data, clients and runs; its plan gives each trial its stage and that stage's
        (narrowed) space.
    worker : str
        This worker's ``host:pid``, kept on its trials so a dead worker's can be found.
    """

    def __init__(self, run, worker=""):
        self.run, self.worker = run, worker
        self.spec, self.data, self.plan, self.client = run.spec, run.data, run.plan, run.client
        self.experiment, self.parent_run_id = run.experiment, run.parent

    trial_number = None  # the trial being run, for a retry if it is interrupted
    lost = None  # why the trial being run was taken from this worker (recovery.TrialLost), if it was

    def __call__(self, trial):
        self.lost = None
        try:
            return self._run(trial)
        except recovery.TrialLost as error:
            self.lost = str(error)  # the trial is no longer ours: write nothing more to it
            raise
        except tracking.TrackingError as error:
            # MLflow went away: Optuna keeps why, and the trial's run is closed when the study resumes.
            trial.set_user_attr(names.FAIL_REASON, mask(str(error)))
            raise

    def _run(self, trial):
        self.trial_number = trial.number
        stage, space, values, params = self.configure(trial)
        run_id = tracking.start_trial_run(self.client, self.experiment, self.parent_run_id,
                                          trial.number, {names.STAGE: str(stage)})
        logged = {**values, **params, names.STAGE: stage, names.TRIAL_NUMBER: trial.number}
        ranges = {f"range.{name}": text for name, text in space.describe().items()}
        started = time.perf_counter()
        models, histories = [], []
        try:  # from here on, however the trial ends, its run is ended with it
            trial.set_user_attr(names.MLFLOW_RUN_ID, run_id)
            tracking.log_batch(self.client, run_id, params=tracking.params_of(logged),
                               tags=tracking.tags_of(ranges))
            log_datasets(self.run, run_id)  # the runs table's Datasets column
            self.fit_all(trial, params, models, histories)
        except optuna.TrialPruned as pruned:
            # KILLED: MLflow's status for a stopped run, so a pruned trial stands out in the runs list.
            stopped = histories + [self._partial(models)]
            self.timed(trial, stopped)
            self.finish(run_id, stopped, PRUNED, status_of(PRUNED), str(pruned))
            raise
        except DivergenceError as error:
            trial.set_user_attr(names.FAIL_REASON, mask(str(error)))
            self.finish(run_id, histories + [list(error.history)], FAIL, status_of(FAIL), str(error))
            raise
        except BaseException as error:
            # Ctrl-C, SIGTERM, a bug: the run must not stay RUNNING.
            reason = mask(f"{type(error).__name__}: {error}")
            trial.set_user_attr(names.FAIL_REASON, reason)
            self.finish(run_id, histories, FAIL, status_of(FAIL, isinstance(error, KeyboardInterrupt)), reason)
            raise
        self.timed(trial, histories)
        return self.complete(trial, run_id, models, time.perf_counter() - started)

    def configure(self, trial):
        """The trial's stage, its space, the values sampled and the estimator's arguments; under a time plan,
        the stage's rows (:attr:`rows`) and epochs."""
        index, space = self.plan.stage_and_space(trial)
        stage = index + 1  # stages are numbered from 1 everywhere: console, tags, Optuna, stages.json
        self.rows, epochs = self.run.timing.fidelity(stage) if self.run.timing else (None, None)
        values = space.suggest(trial)
        n_train = len(self.data.folds[0][0]) if self.data.folds else len(self.data.X_train)  # what each fit trains on
        self.n_rows = self.rows or n_train
        params = trial_params(values, self.spec, self.n_rows, epochs)
        self.mark(trial, stage, space)
        return stage, space, values, params

    def fit_all(self, trial, params, models, histories):
        """Each repeat's fit on each fold, into ``models`` and ``histories``."""
        prunes = self.run.timing is not None or self.spec.pruner["name"] != "none"  # each report: a storage write
        self.fits_started = time.perf_counter()
        for repeat, seed in enumerate(self.spec.seeds):
            for fold in range(self.n_folds):
                model = self.fit(trial, params, seed, fold, report=prunes and repeat == 0)
                models.append(model)
                histories.append(model.history_)

    def timed(self, trial, histories):
        """Under a time plan, what the trial's fits took, for the plan to measure its speed (a storage write)."""
        if self.run.timing is not None:
            trial.set_user_attr(names.TIMING, {"seconds": time.perf_counter() - self.fits_started,
                                               "epochs": sum(map(len, histories)), "rows": self.n_rows})

    def mark(self, trial, stage, space):
        """The trial's stage, worker and ranges; each attribute is a storage write: only what resuming and
        reporting need."""
        trial.set_user_attr(names.STAGE, stage)
        trial.set_user_attr(names.WORKER, self.worker)
        trial.set_user_attr(names.RANGES, space.describe())
        if trial.user_attrs.get(names.FAIL_REASON):
            trial.set_user_attr(names.FAIL_REASON, "")  # a retried trial inherits its original's

    @property
    def n_folds(self):
        """The folds each repeat trains on: K with ``validation: {folds: K}``, else 1 (the validation rows)."""
        return len(self.data.folds) or 1

    rows = None  # under a time plan, the training rows of the trial's stage (None: all)

    def view(self, fold):
        """The rows fold ``fold`` trains and validates on; the dataset itself without folds; under a time
        plan, a stage-1 trial's part of its training rows."""
        data = self.data.fold(fold) if self.data.folds else self.data
        return data if self.rows is None else timekeeping.part(data, self.rows, self.run.task)

    def fit(self, trial, params, seed, fold, report):
        data = self.view(fold)  # a fold's rows are copied for its fit only: no K copies kept
        reporter = PruningReporter(trial, self.spec.metric, report, fold if self.data.folds else None)
        # The objective, when the estimator does not record it itself, from its validation probabilities.
        scoring = self.run.task.validation_scoring(self.spec.metric, np.unique(self.data.y_train))
        stops = [timekeeping.DeadlineStop(self.run.timing.search_end)] if self.run.timing else []
        model = self.run.task.estimator(**params, random_state=seed, callbacks=[reporter, CORE_SHARING, *stops],
                                        validation_scoring=scoring)
        self._current = model
        with warnings.catch_warnings(), CORE_SHARING:
            warnings.simplefilter("ignore", ConvergenceWarning)  # the study fixes the epochs
            return model.fit(data.X_train, data.y_train, validation_data=(data.X_val, data.y_val))

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
            **self.run.task.trial_scores(models, self.data),  # reported, never used to choose
        }
        summary.update(self.finals(models))
        # Single values under names of their own at step 0: no second point on the per-epoch
        # curve of the metric, no one-dot line charts; <metric>_mean is Optuna's value.
        summary[f"{self.spec.metric}_mean"] = summary.pop(self.spec.metric)
        if not recovery.still_running(trial):  # failed and queued again while this worker was cut off
            raise recovery.TrialLost(f"trial {trial.number}: its results are dropped: it was failed and "
                                     "queued again while this worker was out of touch")
        metrics = tracking.metrics_of(models[0].history_) + tracking.summary_metrics(summary)
        tracking.log_batch(self.client, run_id, metrics=metrics,
                           tags=tracking.tags_of({names.OPTUNA_STATE: COMPLETE}))
        if self.spec.artifacts.get("trial_plots", True) and timekeeping.draws_figures(self.run, trial):
            self.log_trial_plots(run_id, trial.number, models[0])
        tracking.end_run(self.client, run_id, status_of(COMPLETE))
        if self.rows is None:  # trained as the refit guard would train it again: first seed, every training row
            self.run.keep(trial.number, value, models[0].set_params(callbacks=None))  # (the trial's callbacks hold it)
        return value

    def finals(self, models):
        """Each repeat's final values (over its folds, if any), and with folds each fold's objective (over the
        repeats): ``<metric>_repeat<r>``, ``train_loss_repeat<r>``, ``prelu_slope_layer<i>_repeat<r>`` and
        ``<metric>_fold<k>``.

        The repeats' let reports average over seeds (seed 000's slope table); the folds' show how much the
        objective, their mean, varies with the rows it validates on. ``models`` are repeat by repeat, fold by fold.
        """
        finals = [tracking.flatten_record(model.history_[-1]) for model in models]
        grid = [finals[start:start + self.n_folds] for start in range(0, len(finals), self.n_folds)]
        summary = {}
        for repeat, folds in enumerate(grid):
            for key in [self.spec.metric, "train_loss", *(k for k in folds[0] if k.startswith("prelu_slope"))]:
                summary[f"{key}_repeat{repeat}"] = float(np.mean([final[key] for final in folds]))
        for fold in range(self.n_folds if self.data.folds else 0):
            summary[f"{self.spec.metric}_fold{fold}"] = float(np.mean([folds[fold][self.spec.metric]
                                                                       for folds in grid]))
        return summary

    def finish(self, run_id, histories, state, status, reason):
        """Log what a stopped trial had measured, with its state and reason, and end its run."""
        metrics = tracking.metrics_of(histories[0]) if histories and histories[0] else []
        try:
            tracking.log_batch(self.client, run_id, metrics=metrics, tags=tracking.tags_of(
                {names.OPTUNA_STATE: state, names.FAIL_REASON if state == FAIL else names.PRUNE_REASON: reason,
                 names.NOTE: f"{state}: {reason}"}))
        finally:
            tracking.end_run(self.client, run_id, status)

    def log_trial_plots(self, run_id, number, model):
        """Draw and upload the trial's figures in the background (see :class:`search.trials.background.FigureWriter`)."""
        # With folds, the figures are fold 0's, as the per-epoch curves are: its model on its validation rows.
        payload = self.run.task.trial_payload(model, self.view(0), f"trial {number}",
                                              images=self.spec.artifacts.get("images", True))
        FIGURES.submit(self.client.tracking_uri, run_id, payload)
