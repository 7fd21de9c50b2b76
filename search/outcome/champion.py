"""A study's outcome on its parent run: the summary, and the champion (the best trial refit on
train + validation, guarded against a worse refit, logged with its preprocessing and registered)."""

import json
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.types.schema import AnyType, ColSpec, Schema
from optuna.trial import FixedTrial, TrialState
from sklearn.base import is_regressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss

from estimators import DivergenceError, MLPClassifier, propagate_interrupts

from ..stores import budget
from ..tracking import names, registry
from .. import tracking
from ..plots import study as study_plots, trial as trial_plots
from ..study import regression
from ..data.preprocessing import describe as describe_preprocessing
from ..data.preprocessing import with_estimator
from ..study.space import estimator_params, label
from ..study.stages import stage_table
from ..study.task import TASKS

MODEL_NAME = "model"


def summary_text(study, spec, stages):
    lines = [f"study {spec.name}: {len(budget.used(study.get_trials(deepcopy=False)))} trials"]
    for row in stages:
        ranges = ", ".join(f"{k} {v}" for k, v in row["ranges"].items())
        best = "-" if row["best_value"] is None else f"{row['best_value']:.4f}"
        lines.append(f"  stage {row['stage']}: {row['trials']}/{row['budget']} trials, "
                     f"best {spec.metric} {best}; {ranges}")
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if complete:
        best = study.best_trial
        params = ", ".join(f"{k}={label(v)}" for k, v in best.params.items())
        lines.append(f"best: trial {best.number}, {spec.metric}={best.value:.4f}: {params}")
    return "\n".join(lines)


def log_summary(run, study):
    """trials.csv, best parameters, the stage table and Optuna's figures, on the parent run."""
    client, run_id, spec = run.client, run.parent, run.spec
    stages = stage_table(study, spec)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        study.trials_dataframe().to_csv(folder / "trials.csv", index=False)
        (folder / "stages.json").write_text(json.dumps(stages, indent=2))
        (folder / "summary.txt").write_text(summary_text(study, spec, stages) + "\n")
        complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if complete:
            best = study.best_trial
            (folder / "best_params.json").write_text(json.dumps(
                {k: label(v) for k, v in best.params.items()} | {"value": best.value}, indent=2))
            tracking.log_batch(client, run_id, metrics=[tracking.Metric(
                f"best_{spec.metric}", best.value, 0, 0)], params=tracking.params_of(
                {f"best.{k}": v for k, v in best.params.items()}))
            study_plots.study_figures(study, folder, spec.space, spec.metric)
            study_plots.stage_values(study, spec, folder / "stages.png")
        client.log_artifacts(run_id, str(folder), "study")
    return stages


def params_of_trial(trial, spec, n_train):
    """The estimator arguments a finished trial trained with."""
    values = spec.space.suggest(FixedTrial(trial.params))
    params = estimator_params(values, spec.estimator, n_train)
    params.setdefault("max_iter", spec.epochs)
    return params


@dataclass
class Champion:
    """What a finished study registered, or found already registered, for its best trial.

    Attributes
    ----------
    model : sklearn.pipeline.Pipeline or None
        The study's fitted preprocessing and estimator; None when nothing changed.
    scores : dict or None
        test_accuracy and test_loss of ``model`` on the raw test rows (for a
        regression test_r2, test_loss and test_mse).
    model_uri : str
    source : str
        'refit' (train + validation), 'trial-<n>' (the best trial's own
        model, when the refit diverged or ended worse) or 'unchanged'.
    lines : list of str
        What happened, for the command to print.
    """

    model: object
    scores: dict | None
    model_uri: str
    source: str
    lines: list


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
    client, run_id, spec, data = run.client, run.parent, run.spec, run.data
    best = study.best_trial
    X, y = _train_and_validation(data)
    params = params_of_trial(best, spec, len(X))
    tags = _version_tags(spec, best, run_id, data, params)
    if spec.register:
        known = registry.find_version(client, spec.register["name"], tags)
        if known is not None:
            return _unchanged(client, run_id, spec.register, known)
    model, source, reason = _guarded_refit(best, spec, data, X, y, params)
    pipeline = with_estimator(data.preprocessing, model)
    scores, predicted, proba = _test_scores(pipeline, data)
    tracking.log_batch(client, run_id, metrics=[tracking.Metric(k, v, 0, 0) for k, v in scores.items()],
                       tags=tracking.tags_of({names.CHAMPION_SOURCE: source}))
    _log_figures(client, run_id, model, data, predicted, proba)
    what = ("refit best on train+validation" if source == "refit" else
            f"the refit was worse: the model is trial {best.number}'s own")
    lines = [f"{what} ({reason}): {_score_text(scores)}"]
    uri = log_model(run_id, pipeline, raw_example(data.X_test_raw[:5]))
    if spec.register:
        tags.update(source=source, **{k: f"{scores[k]:.6f}" for k in ("test_accuracy", "test_r2") if k in scores})
        uri, line = _register(client, spec, uri, tags, _description(spec, best, source, reason, scores, data))
    else:
        line = f"model {uri} (not registered)"
    return Champion(pipeline, scores, uri, source, lines + [line])


def _register(client, spec, uri, tags, description):
    """Register the logged model; the version's URI and a line saying whether the alias moved."""
    name, alias = spec.register["name"], spec.register["alias"]
    version, moved, why = registry.register(client, uri, name, alias, tags, description, spec.direction)
    line = (f"registered {name} version {version}; {alias} {'moved to it' if moved else 'stays'} ({why}): "
            f"models:/{name}@{alias}" + ("" if moved else f", this one models:/{name}/{version}"))
    return f"models:/{name}/{version}", line


def _train_and_validation(data):
    if not len(data.X_val):
        return data.X_train, data.y_train
    return np.vstack([data.X_train, data.X_val]), np.concatenate([data.y_train, data.y_val])


def _fit(params, seed, X, y, validation, estimator=MLPClassifier):
    with warnings.catch_warnings(), propagate_interrupts():  # Ctrl-C registers no half-trained model
        warnings.simplefilter("ignore", ConvergenceWarning)  # the study fixes the epochs
        return estimator(**params, random_state=seed).fit(X, y, validation_data=validation)


def _guarded_refit(best, spec, data, X, y, params):
    """The refit on ``X, y`` (train + validation), unless the best trial's own model is better.

    Both are scored by the study's objective (accuracy, or log loss for
    ``val_loss``) on every row the refit may use, training and validation
    alike, never the test rows. The refit trained on all of them, so one that
    still scores worse there than the trial's model (trained on the training
    rows only) is worse indeed: unstable to its last epoch, or diverged. The
    trial's own model is trained again as the trial trained it: same
    configuration, first seed, training rows only.

    Returns
    -------
    model : MLPClassifier
    source : str
        'refit' or 'trial-<n>'.
    reason : str
        How the two compared, or why the refit was not kept.
    """
    seed, estimator = spec.seeds[0], TASKS[spec.task].estimator
    validation = (data.X_val, data.y_val) if len(data.X_val) else None
    own = _fit(params_of_trial(best, spec, len(data.X_train)), seed, data.X_train, data.y_train, validation,
               estimator)
    try:
        refit = _fit(params, seed, X, y, validation, estimator)
    except DivergenceError as error:
        return own, f"trial-{best.number}", f"the refit diverged ({error})"
    scores = [_objective_on(model, X, y, spec.metric) for model in (refit, own)]
    worse = scores[0] < scores[1] if spec.direction == "maximize" else scores[0] > scores[1]
    worse = worse or (np.isnan(scores[0]) and not np.isnan(scores[1]))  # NaN compares False: not better
    what = {"val_accuracy": "accuracy", "val_r2": "R^2"}.get(
        spec.metric, "loss" if regression.is_regression(spec) else "log loss")
    comparison = (f"{what} on the training and validation rows: refit {scores[0]:.4f}, "
                  f"trial {best.number}'s own model {scores[1]:.4f}")
    return (own, f"trial-{best.number}", comparison) if worse else (refit, "refit", comparison)


def _objective_on(model, X, y, metric):
    """The study's objective measured on ``X, y``: accuracy, or log loss for ``val_loss``."""
    if is_regressor(model):
        return regression.objective_on(model, X, y, metric)
    if metric == "val_accuracy":
        return float(np.mean(model.predict(X) == y))
    return float(log_loss(y, model.predict_proba(X), labels=model.classes_))


def _test_scores(pipeline, data):
    """Test accuracy and loss of the whole pipeline on the raw test rows, as a user would get them."""
    if is_regressor(pipeline):
        return (*regression.pipeline_scores(pipeline, data), None)
    predicted = pipeline.predict(data.X_test_raw)
    proba = pipeline.predict_proba(data.X_test_raw)
    scores = {"test_accuracy": float(np.mean(predicted == data.y_test)),
              "test_loss": float(log_loss(data.y_test, proba, labels=pipeline.classes_))}
    return scores, predicted, proba


def _score_text(scores):
    """The test scores in a few words, as lines and descriptions give them."""
    if "test_accuracy" not in scores:
        return regression.score_text(scores)
    return f"test accuracy {scores['test_accuracy']:.4f}, test loss {scores['test_loss']:.4f}"


def _log_figures(client, run_id, model, data, predicted, proba):
    if is_regressor(model):
        with tempfile.TemporaryDirectory() as folder:
            regression.champion_figures(folder, model, data, predicted)
            client.log_artifacts(run_id, folder, "best")
        return
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        trial_plots.curves(model.history_, folder / "refit_curves.png", "refit on train + validation")
        trial_plots.confusion(data.y_test, predicted, folder / "test_confusion_matrix.png",
                        "test, normalised over predicted label")
        if data.image_shape:
            raw = data.X_test if data.X_test_raw is None else data.X_test_raw
            trial_plots.top_scored_images(trial_plots.top_scored_set(proba, raw, data.y_test, model.classes_),
                                    data.image_shape, folder / "test_top3_images.png", "refit, test set")
        client.log_artifacts(run_id, str(folder), "best")


def _version_tags(spec, best, run_id, data, params):
    """What tells this candidate apart from other versions (``registry.IDENTITY_TAGS``) and ranks it."""
    return {names.STUDY: spec.name, "trial": best.number, names.PARENT_RUN_ID: run_id,
            "data_fingerprint": data.fingerprint, "config": registry.config_digest(params, spec.seeds[0]),
            "objective": spec.metric, "objective_value": f"{best.value:.6f}"}


def _description(spec, best, source, reason, scores, data):
    model = ("refit on training + validation rows" if source == "refit"
             else "the trial's own model, trained on the training rows; the refit was worse")
    model = f"{model} ({reason})"
    return (f"Study {spec.name}, trial {best.number}, {model}. {spec.metric} {best.value:.4f} "
            f"(validation, the study's objective); {_score_text(scores)}. "
            f"Data: {data.name}, {len(data.X_train)} training, "
            f"{len(data.X_val)} validation and {len(data.y_test)} test rows (fingerprint "
            f"{data.fingerprint}). Preprocessing: {describe_preprocessing(data.preprocessing)}. "
            + ("Predicts values from raw rows." if regression.is_regression(spec) else
               "Predicts class labels from raw rows; predict_proba on mlflow.sklearn.load_model(...)."))


def _unchanged(client, run_id, register, version):
    """Nothing new since ``version`` was registered: say so, register nothing, leave the alias."""
    name, alias = register["name"], register["alias"]
    current = registry.champion(client, name, alias)
    where = (f"{alias} is version {current.version}" if current is not None else f"no {alias}")
    tracking.log_batch(client, run_id, tags=tracking.tags_of({names.CHAMPION_SOURCE: "unchanged",
                                                              names.REGISTERED_VERSION: version.version}))
    lines = [f"nothing changed since {name} version {version.version} (study {version.tags[names.STUDY]}, "
             f"trial {version.tags['trial']}, same data): no refit, no new version; {where}"]
    return Champion(None, None, f"models:/{name}/{version.version}", "unchanged", lines)


def raw_example(rows):
    """Raw rows as a user has them: integers when every value is whole (pixels, digits), else float64."""
    rows = np.asarray(rows)
    return rows.astype(np.int64) if np.all(rows == np.round(rows)) else rows.astype(np.float64)


def signature_of(pipeline, example):
    """Any numeric dtype in ``example``'s number of columns in, labels out.

    The columns are typed 'any': MLflow's 'double' refuses int64 (a csv of
    pixel values read by pandas) and 'long' refuses float64 (``load_digits``);
    the pipeline's first step checks and converts what comes.
    """
    inputs = Schema([ColSpec(AnyType()) for _ in range(example.shape[1])])
    return ModelSignature(inputs=inputs, outputs=infer_signature(example, pipeline.predict(example)).outputs)


def log_model(run_id, model, example):
    """Log the pipeline on run ``run_id`` with a signature and a raw input example; returns its URI."""
    import cloudpickle
    import scipy
    import sklearn

    requirements = [f"scikit-learn=={sklearn.__version__}", f"numpy=={np.__version__}",
                    f"scipy=={scipy.__version__}", f"cloudpickle=={cloudpickle.__version__}",
                    f"pandas=={pd.__version__}"]
    # The pipeline's classes live in estimators/ and search/data/preprocessing.py: both travel with it.
    root = Path(__file__).resolve().parents[2]
    with mlflow.start_run(run_id=run_id):
        info = mlflow.sklearn.log_model(
            model, name=MODEL_NAME, signature=signature_of(model, example),
            input_example=example, pip_requirements=requirements,
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
            code_paths=[str(root / "estimators"), str(root / "search")],
        )
    return info.model_uri
