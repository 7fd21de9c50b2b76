"""The champion: the best trial refit on train + validation, guarded against a worse refit, scored
on the raw test rows, logged as one pipeline (:mod:`.model`) and registered
(:mod:`search.tracking.registry`). What differs between a classification and a regression is the
study's task's (:mod:`search.study.task`)."""

import tempfile
import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from optuna.trial import FixedTrial
from sklearn.exceptions import ConvergenceWarning

from estimators import DivergenceError, propagate_interrupts

from .. import tracking
from ..data.preprocessing import describe as describe_preprocessing
from ..data.preprocessing import with_estimator
from ..study.metrics import better
from ..study.space import trial_params
from ..study.stages import best_trial
from ..trials import timekeeping
from ..tracking import names, registry
from . import baselines, evaluation
from .model import log_model, raw_example


@dataclass
class Champion:
    """What a finished study registered, or found already registered, for its best trial.

    Attributes
    ----------
    model : sklearn.pipeline.Pipeline or None
        The study's fitted preprocessing and estimator; None when nothing changed.
    scores : dict or None
        The task's test scores of ``model`` on the raw test rows (test_accuracy
        and test_loss; for a regression test_r2, test_loss and test_mse).
    model_uri : str
    source : str
        'refit' (train + validation), 'trial-<n>' (the best trial's own
        model, when the refit diverged or ended worse) or 'unchanged'.
    lines : list of str
        What happened, for the command to print.
    baselines : search.outcome.baselines.Comparison or None
        The baselines scored beside it; None when the study turns them off or
        nothing changed.
    """

    model: object
    scores: dict | None
    model_uri: str
    source: str
    lines: list
    baselines: object = None


NO_REFIT = "no refit: the time plan gave its time to stage 2's epochs"


class Refit(NamedTuple):
    """What the refit guard kept: the model, where it comes from ('refit' or 'trial-<n>'), and why."""

    model: object
    source: str
    reason: str


def params_of_trial(trial, spec, n_train, epochs=None):
    """The estimator arguments of a finished trial's configuration, for ``epochs`` (by default the study's)."""
    return trial_params(spec.space.suggest(FixedTrial(trial.params)), spec, n_train, epochs)


def refit_and_register(run, study):
    """Refit the best trial on train + validation, guard it, score it on test, log and register it.

    The logged model is the whole :class:`~sklearn.pipeline.Pipeline` (the
    study's preprocessing, then the estimator) so that it predicts from raw
    rows. A refit that diverges, or scores worse by the study's objective than
    the best trial's own model on the training and validation rows (never the
    test rows), is replaced by that model. When the registry already holds
    this trial's model for the same data, nothing is refit or registered.

    Returns
    -------
    Champion
    """
    spec, data, best = run.spec, run.data, best_trial(study, run.spec)
    no_refit = run.timing is not None and not run.timing.refit and run.kept_model(best.number) is not None
    epochs, shortened = (run.timing.epochs, None) if no_refit else timekeeping.refit_epochs(run, best)
    params = params_of_trial(best, spec, len(data.X_train if no_refit else _train_and_validation(data)[0]), epochs)
    tags = registry.version_tags(spec, best, run.parent, data, params)
    known = registry.find_version(run.client, spec.register["name"], tags) if spec.register else None
    if known is not None:
        return _unchanged(run, known)
    refit = Refit(run.kept_model(best.number), f"trial-{best.number}", NO_REFIT) if no_refit else \
        _guarded_refit(run, best, params)
    pipeline = with_estimator(data.preprocessing, refit.model)
    scores = _score_and_draw(run, refit, pipeline)
    lines = [shortened] * bool(shortened) + [f"{_what(refit, best)} ({refit.reason}): {run.task.score_text(scores)}"]
    compared = baselines.compare(run, *_train_and_validation(data), scores) if spec.baselines else None
    lines += compared.lines if compared else []
    uri = log_model(run.parent, pipeline, raw_example(data.X_test_raw[:5]))
    if spec.artifacts.get("evaluate", True):  # off under --quick: seconds, mostly its figures
        evaluation.evaluate(run, uri, pipeline)
    if spec.register:
        test_metric = run.task.test_metric
        tags.update(source=refit.source, **{test_metric: f"{scores[test_metric]:.6f}"})
        description = _description(run, best, refit, scores) + baselines.description(run.task, compared)
        uri, line = registry.register(run.client, spec, uri, tags, description)
    else:
        line = f"model {uri} (not registered)"
    return Champion(pipeline, scores, uri, refit.source, lines + [line], compared)


def _what(refit, best):
    """Where the champion comes from, in the console's words."""
    if refit.source == "refit":
        return "refit best on train+validation"
    return f"{'' if refit.reason == NO_REFIT else 'the refit was worse: '}the model is trial {best.number}'s own"


def _train_and_validation(data):
    if not len(data.X_val):
        return data.X_train, data.y_train
    return np.vstack([data.X_train, data.X_val]), np.concatenate([data.y_train, data.y_val])


def _fit(run, params, X, y):
    """The study's estimator with ``params`` and its first seed, trained on ``X, y``."""
    validation = (run.data.X_val, run.data.y_val) if len(run.data.X_val) else None
    with warnings.catch_warnings(), propagate_interrupts():  # Ctrl-C registers no half-trained model
        warnings.simplefilter("ignore", ConvergenceWarning)  # the study fixes the epochs
        return run.task.estimator(**params, random_state=run.spec.seeds[0]).fit(X, y, validation_data=validation)


def _guarded_refit(run, best, params):
    """The refit with ``params`` on train + validation, unless the best trial's own model is better.

    Both are scored by the study's objective (for a classification accuracy,
    or log loss for ``val_loss``) on every row the refit may use, training and
    validation alike, never the test rows. The refit trained on all of them,
    so one that still scores worse there than the trial's model (trained on
    the training rows only) is worse indeed: unstable to its last epoch, or
    diverged. The trial's own model is trained again as the trial trained it:
    same configuration, first seed, training rows only; unless this process trained it and kept it.

    Returns
    -------
    Refit
        Its reason says how the two compared, or why the refit was not kept.
    """
    spec, data, task = run.spec, run.data, run.task
    X, y = _train_and_validation(data)
    # With folds (no validation rows) the trial never trained on every training row: its own model is
    # fold 0's, trained as the trial trained it. Retraining on all the rows would give the refit itself, a
    # comparison that can never fail; fold 0's model, scored on every row, is the guard it is without folds.
    trained = data.fold(0) if data.folds else data
    own = run.kept_model(best.number) or _fit(
        run, params_of_trial(best, spec, len(trained.X_train), params["max_iter"]), trained.X_train, trained.y_train)
    try:
        refit = _fit(run, params, X, y)
    except DivergenceError as error:
        return Refit(own, f"trial-{best.number}", f"the refit diverged ({error})")
    scores = [task.objective_on(model, X, y, spec.metric) for model in (refit, own)]
    worse = better(scores[1], scores[0], spec.direction)
    worse = worse or (np.isnan(scores[0]) and not np.isnan(scores[1]))  # NaN compares False: not better
    comparison = (f"{task.objective_words[spec.metric]} on the training and validation rows: refit "
                  f"{scores[0]:.4f}, trial {best.number}'s own model {scores[1]:.4f}")
    return Refit(own, f"trial-{best.number}", comparison) if worse else Refit(refit, "refit", comparison)


def _score_and_draw(run, refit, pipeline):
    """The champion's test scores and source on the parent run, its figures under ``best/``; the scores."""
    scores, predictions = run.task.test_scores(pipeline, run.data)
    tracking.log_batch(run.client, run.parent, metrics=[tracking.Metric(k, v, 0, 0) for k, v in scores.items()],
                       tags=tracking.tags_of({names.CHAMPION_SOURCE: refit.source}))
    if not run.spec.artifacts.get("champion_figures", True):  # a second of drawing: a short time budget goes without
        return scores
    with tempfile.TemporaryDirectory() as folder:
        run.task.champion_figures(folder, refit.model, run.data, predictions)
        run.client.log_artifacts(run.parent, folder, "best")
    return scores


def _description(run, best, refit, scores):
    """The registered version's description: what it is, how it scores, its data and preprocessing."""
    spec, data = run.spec, run.data
    rows = "fold 0's" if data.folds else "the"
    model = ("refit on training + validation rows" if refit.source == "refit"
             else f"the trial's own model, trained on {rows} training rows"
             + ("" if refit.reason == NO_REFIT else "; the refit was worse"))
    return (f"Study {spec.name}, trial {best.number}, {model} ({refit.reason}). {spec.metric} {best.value:.4f} "
            f"(validation, the study's objective); {run.task.score_text(scores)}. "
            f"Data: {data.name}, {len(data.X_train)} training, "
            f"{f'{len(data.folds)} folds of them for' if data.folds else len(data.X_val)} validation and "
            f"{len(data.y_test)} test rows (fingerprint "
            f"{data.fingerprint}). Preprocessing: {describe_preprocessing(data.preprocessing)}. "
            + run.task.predicts)


def _unchanged(run, version):
    """Nothing new since ``version`` was registered: say so, register nothing, leave the alias."""
    line = registry.unchanged(run.client, run.spec.register, version)
    tracking.log_batch(run.client, run.parent, tags=tracking.tags_of({names.CHAMPION_SOURCE: "unchanged",
                                                                      names.REGISTERED_VERSION: version.version}))
    return Champion(None, None, f"models:/{run.spec.register['name']}/{version.version}", "unchanged", [line])
