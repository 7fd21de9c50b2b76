"""Baselines beside the champion: what a dummy, a linear and a boosted-trees model score on the same rows.

After the champion's refit, each baseline of the study's task (:data:`BASELINES`)
is fitted on the rows the refit used (training + validation, transformed by the
study's fitted preprocessing), wrapped in that same preprocessing
(:func:`search.data.preprocessing.with_estimator`) and scored by the task on
the raw test rows, exactly as the champion is. Their scores go on the parent
run as ``baseline_<name>_<test metric>`` and in ``study/baselines.json``; the
command prints them beside the champion's, and says so when the champion
loses to the linear baseline. A new baseline is one entry in :data:`BASELINES`.
"""

import json
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from .. import tracking
from ..data.preprocessing import with_estimator

# Boosted trees' defaults on all of MNIST's 60000 x 784 rows (10 classes: 10 trees an iteration)
# take far over a minute: on 2 cores shared at a load of 5 to 7 (2026-12-03), neither all the rows
# (7 minutes) nor a stratified 20000 of them (15 minutes; one thread: 8) finished, and 5000 rows had
# not finished in 4 minutes beside a CPU stress test. At most this many, until a quiet machine
# measures where the cost stays under a minute.
MAX_HGB_ROWS = 5000
# lbfgs's logistic regression on MNIST-sized rows: a bound on its rows for the same reason.
MAX_LINEAR_ROWS = 20000
# Up to this many cells a baseline fits on one thread: in seconds anyway, and on a busy machine
# OpenMP's spinning threads made boosted trees on 500 digits rows take 136 s instead of 8 s.
ONE_THREAD_CELLS = 1_000_000
LINEAR = "linear"  # the baseline a champion is expected to beat
PREFIX = "baseline_"  # of the parent run's metrics, read back by the report
ARTIFACT = "baselines.json"  # under study/ on the parent run


@dataclass(frozen=True)
class Baseline:
    """How to make one baseline.

    Attributes
    ----------
    make : callable
        A new, unfitted estimator with its defaults.
    max_rows : int, default None
        Fit on a subsample of at most this many rows (stratified for a
        classification); None: on every row.
    """

    make: object
    max_rows: int | None = None


# task name -> baseline name -> Baseline, in the order lines and tables give them.
BASELINES = {
    "classification": {
        "dummy": Baseline(partial(DummyClassifier, strategy="prior")),
        LINEAR: Baseline(partial(LogisticRegression, max_iter=1000), MAX_LINEAR_ROWS),
        "hist_gradient_boosting": Baseline(HistGradientBoostingClassifier, MAX_HGB_ROWS),
    },
    "regression": {
        "dummy": Baseline(DummyRegressor),
        LINEAR: Baseline(RidgeCV),
        "hist_gradient_boosting": Baseline(HistGradientBoostingRegressor, MAX_HGB_ROWS),
    },
}


@dataclass
class Scored:
    """One baseline fitted and scored: its test scores, the rows it was fitted on and how long it took."""

    name: str
    model: object
    scores: dict
    fit_rows: int
    seconds: float


@dataclass
class Comparison:
    """The baselines' scores beside the champion's, and what to say about them.

    Attributes
    ----------
    scored : list of Scored
    champion : dict
        The champion's test scores.
    lines : list of str
        What the command prints: the scores in one line, and one more when
        the champion loses to the linear baseline.
    loss : str
        The sentence for the registered version's description when the
        champion loses to the linear baseline; empty when it does not.
    """

    scored: list
    champion: dict
    lines: list = field(default_factory=list)
    loss: str = ""


def metric_name(name, key):
    """The parent run's metric for baseline ``name``'s test score ``key``, e.g. baseline_linear_test_r2."""
    return f"{PREFIX}{name}_{key}"


def subsample(X, y, max_rows, classes, seed):
    """At most ``max_rows`` of ``X, y``, stratified by ``y`` when ``classes``; all of them when fewer."""
    if max_rows is None or len(X) <= max_rows:
        return X, y
    X, _, y, _ = train_test_split(X, y, train_size=max_rows, stratify=y if classes else None,
                                  random_state=seed)
    return X, y


def fit_baseline(run, name, X, y):
    """Baseline ``name`` of the study's task, fitted on ``X, y`` (seeded by the study's first seed),
    wrapped in the study's preprocessing and scored on the raw test rows."""
    baseline = BASELINES[run.task.name][name]
    seed = run.spec.seeds[0]
    X, y = subsample(X, y, baseline.max_rows, run.task.name == "classification", seed)
    estimator = baseline.make()
    if "random_state" in estimator.get_params():
        estimator.set_params(random_state=seed)  # boosted trees' early-stopping split
    start = time.perf_counter()
    with warnings.catch_warnings(), threadpool_limits(limits=1 if X.size <= ONE_THREAD_CELLS else None):
        warnings.simplefilter("ignore", ConvergenceWarning)  # a baseline as it comes, converged or not
        estimator.fit(X, y)
    seconds = time.perf_counter() - start
    pipeline = with_estimator(run.data.preprocessing, estimator)
    scores, _ = run.task.test_scores(pipeline, run.data)
    return Scored(name, pipeline, scores, len(X), seconds)


def compare(run, X, y, champion):
    """Fit every baseline of the study's task on ``X, y``, log them on the parent run, and compare.

    Parameters
    ----------
    run : search.context.StudyRun
    X, y : ndarray
        The rows the champion's refit used: training + validation, preprocessed.
    champion : dict
        The champion's test scores, as :meth:`search.study.task.Task.test_scores` gives them.

    Returns
    -------
    Comparison
    """
    scored = [fit_baseline(run, name, X, y) for name in BASELINES[run.task.name]]
    comparison = Comparison(scored, champion)
    comparison.lines = [scores_line(run.task, comparison, len(X))]
    comparison.loss = loss_sentence(run.task, comparison)
    if comparison.loss:
        comparison.lines.append(comparison.loss)
    log(run, comparison)
    return comparison


def scores_line(task, comparison, n_rows):
    """'baselines on the test rows: dummy 0.1012, linear 0.9611, ... (test accuracy); champion 0.9756'."""
    key, fmt = task.test_metric, task.score_format
    each = ", ".join(f"{s.name} {s.scores[key]:{fmt}}" for s in comparison.scored)
    line = (f"baselines on the test rows: {each} ({task.test_words[key]}); "
            f"champion {comparison.champion[key]:{fmt}}")
    fewer = [f"{s.name} fitted on {s.fit_rows} of the {n_rows} rows" for s in comparison.scored if s.fit_rows < n_rows]
    return line + "".join(f"; {text}" for text in fewer)


def loss_sentence(task, comparison):
    """'the champion loses to the linear baseline by 0.0445 test R^2', or '' when it does not.

    Every task's test metric is better when higher (accuracy, R^2); a champion
    whose score is NaN (a diverged regression) loses to any finite one.
    """
    key = task.test_metric
    linear = next((s for s in comparison.scored if s.name == LINEAR), None)
    if linear is None:
        return ""
    ours, theirs = comparison.champion[key], linear.scores[key]
    if np.isnan(ours) and not np.isnan(theirs):
        return f"the champion loses to the linear baseline: its {task.test_words[key]} is NaN"
    if not ours < theirs:
        return ""
    return f"the champion loses to the linear baseline by {theirs - ours:{task.score_format}} {task.test_words[key]}"


def log(run, comparison):
    """``baseline_<name>_<metric>`` for every test score on the parent run, and ``study/baselines.json``."""
    metrics = [tracking.Metric(metric_name(s.name, key), value, 0, 0)
               for s in comparison.scored for key, value in s.scores.items()]
    tracking.log_batch(run.client, run.parent, metrics=metrics)
    record = {"test_metric": run.task.test_metric, "champion": comparison.champion,
              "baselines": {s.name: {"model": repr(s.model[-1]), "fit_rows": s.fit_rows,
                                     "fit_seconds": round(s.seconds, 3), "scores": s.scores}
                            for s in comparison.scored}}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ARTIFACT
        path.write_text(json.dumps(record, indent=2, default=float))
        run.client.log_artifact(run.parent, str(path), "study")


def description(task, comparison):
    """The registered version's sentences on the baselines ('' without them): their scores, and the
    champion's loss to the linear baseline where it loses."""
    if comparison is None:
        return ""
    key = task.test_metric
    each = ", ".join(f"{s.name} {s.scores[key]:{task.score_format}}" for s in comparison.scored)
    text = f" Baselines on the same rows and preprocessing: {each} ({task.test_words[key]})."
    return text + (f" {comparison.loss[0].upper()}{comparison.loss[1:]}." if comparison.loss else "")
