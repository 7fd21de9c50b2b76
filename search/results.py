"""What a study leaves on its parent run: a summary, figures, and the refit best model."""

import json
import tempfile
import warnings
from pathlib import Path

import mlflow
import numpy as np
import optuna
from mlflow.models import infer_signature
from optuna.trial import FixedTrial, TrialState
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss

from estimators import MLPClassifier

from . import budget, plots, tracking
from .space import Range, estimator_params, label

MODEL_NAME = "model"


def stage_table(study, spec):
    """Per stage: its trials, the ranges they searched, and how spread their values were."""
    rows = []
    for index, stage in enumerate(spec.stages):
        trials = [t for t in budget.used(study.get_trials(deepcopy=False)) if t.user_attrs.get("stage") == index]
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        spread = {}
        for name, dim in spec.space:
            values = [t.params[name] for t in trials if name in t.params]
            if values and isinstance(dim, Range):
                spread[name] = float(np.ptp(np.log10(values) if dim.log else values))
        best = max(complete, key=lambda t: t.value) if spec.direction == "maximize" and complete else (
            min(complete, key=lambda t: t.value) if complete else None)
        rows.append({
            "stage": index + 1,
            "budget": stage.n_trials,
            "trials": len(trials),
            "complete": len(complete),
            "ranges": trials[-1].user_attrs.get("ranges", {}) if trials else {},
            "spread": spread,  # log ranges in decades
            "best_value": None if best is None else best.value,
        })
    return rows


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


def log_summary(client, run_id, study, spec):
    """trials.csv, best parameters, the stage table and Optuna's figures, on the parent run."""
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
            plots.study_figures(study, folder, [name for name, _ in spec.space])
            plots.stage_values(study, spec, folder / "stages.png")
        client.log_artifacts(run_id, str(folder), "study")
    return stages


def params_of_trial(trial, spec, n_train):
    """The estimator arguments a finished trial trained with."""
    values = spec.space.suggest(FixedTrial(trial.params))
    params = estimator_params(values, spec.estimator, n_train)
    params.setdefault("max_iter", spec.epochs)
    return params


def refit_and_register(client, run_id, study, spec, data):
    """Refit the best configuration on train + validation, score it on test, log and register it.

    Returns
    -------
    model : MLPClassifier
    scores : dict
        test_accuracy and test_loss.
    model_uri : str
        ``models:/<name>@<alias>`` when registered, else the logged model's URI.
    """
    X = np.vstack([data.X_train, data.X_val]) if len(data.X_val) else data.X_train
    y = np.concatenate([data.y_train, data.y_val]) if len(data.X_val) else data.y_train
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the study fixes the epochs
        model = MLPClassifier(**params_of_trial(study.best_trial, spec, len(X)),
                              random_state=spec.seeds[0]).fit(X, y)
    proba = model.predict_proba(data.X_test)
    predicted = model.classes_[proba.argmax(axis=1)]
    scores = {"test_accuracy": float(np.mean(predicted == data.y_test)),
              "test_loss": float(log_loss(data.y_test, proba, labels=model.classes_))}
    tracking.log_batch(client, run_id, metrics=[tracking.Metric(k, v, 0, 0) for k, v in scores.items()])
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        plots.curves(model.history_, folder / "refit_curves.png", "refit on train + validation")
        plots.confusion(data.y_test, predicted, folder / "test_confusion_matrix.png",
                        "test, normalised over predicted label")
        if data.image_shape:
            plots.top_scored_images(data.X_test[plots.top_scored(proba)], model.classes_,
                                    data.image_shape, folder / "test_top3_images.png")
        client.log_artifacts(run_id, str(folder), "best")
    return model, scores, log_model(run_id, model, data.X_test[:5], spec.register)


def log_model(run_id, model, example, register):
    """Log with a signature and an input example; register and alias it when asked."""
    import cloudpickle
    import scipy
    import sklearn

    requirements = [f"scikit-learn=={sklearn.__version__}", f"numpy=={np.__version__}",
                    f"scipy=={scipy.__version__}", f"cloudpickle=={cloudpickle.__version__}"]
    estimators_folder = str(Path(__file__).resolve().parents[1] / "estimators")
    with mlflow.start_run(run_id=run_id):
        info = mlflow.sklearn.log_model(
            model, name=MODEL_NAME, signature=infer_signature(example, model.predict(example)),
            input_example=example, pip_requirements=requirements,
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
            code_paths=[estimators_folder],
            registered_model_name=register["name"] if register else None,
        )
    if not register:
        return info.model_uri
    client = mlflow.tracking.MlflowClient()
    client.set_registered_model_alias(register["name"], register["alias"], info.registered_model_version)
    return f"models:/{register['name']}@{register['alias']}"
