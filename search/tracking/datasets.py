"""The study's data as MLflow dataset inputs: the runs table's Datasets column, and each run's inputs.

Three inputs, by context: ``training`` and ``validation``, the rows the trials
train and are scored on as the estimator sees them (prepared by the study's
fitted preprocessing, float32), and ``test``, the raw rows the champion is
scored on as a user has them (a table's DataFrame, its target column beside
them). Each is named ``<data>-<context>`` (``<data>`` a user's file's stem,
else the dataset's name) with a digest of its rows, so that two studies on
the same rows show the same dataset. MLflow keeps their schema, shapes and
source (the file, for a user's one), never the rows.

The parent run and every trial run get them: built once per process (the
digests hash the rows), then one ``log_inputs`` call per run.
"""

import functools
import warnings
from pathlib import Path

import pandas as pd

CONTEXTS = ("training", "validation", "test")


def log_datasets(run, run_id):
    """Log the study's training, validation and test rows on ``run_id`` as dataset inputs.

    Parameters
    ----------
    run : search.context.StudyRun
    run_id : str

    Raises
    ------
    search.tracking.TrackingError
        MLflow refused them, after retries: a lost write fails the trial, as every tracked write does.
    """
    from . import _with_retries

    inputs = dataset_inputs(run.data, run.spec.dataset.get("path"), run.spec.dataset.get("target"))
    _with_retries(f"log the datasets of MLflow run {run_id}",
                  lambda: run.client.log_inputs(run_id, datasets=list(inputs)))


@functools.lru_cache(maxsize=2)  # per Dataset object (compared by identity): one study's in a process
def dataset_inputs(data, path=None, target=None):
    """The ``DatasetInput`` entities of ``data``'s splits (one without rows is left out), each with its
    context tag; ``path`` and ``target``: the user's file and its target column, if any."""
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    return tuple(DatasetInput(dataset._to_mlflow_entity(), tags=[InputTag(MLFLOW_DATASET_CONTEXT, context)])
                 for context, dataset in mlflow_datasets(data, path, target).items())


def mlflow_datasets(data, path=None, target=None):
    """``{context: mlflow.data.Dataset}`` of ``data``'s splits that have rows (see :func:`dataset_inputs`)."""
    import mlflow.data

    base = Path(path).stem if path else data.name
    source = str(Path(path).resolve()) if path else None
    splits = {"training": (data.X_train, data.y_train), "validation": (data.X_val, data.y_val),
              "test": (data.X_test if data.X_test_raw is None else data.X_test_raw, data.y_test)}
    datasets = {}
    with warnings.catch_warnings():
        # MLflow registers two equal sources for a local path, and says so at every dataset
        warnings.filterwarnings("ignore", "The specified dataset source can be interpreted in multiple ways")
        for context, (X, y) in splits.items():
            if not len(y):
                continue
            name = f"{base}-{context}"
            if isinstance(X, pd.DataFrame):
                column = _target_column(X, target)
                datasets[context] = mlflow.data.from_pandas(X.assign(**{column: y}), source=source,
                                                            targets=column, name=name)
            else:
                datasets[context] = mlflow.data.from_numpy(X, source=source, targets=y, name=name)
    return datasets


def _target_column(frame, target=None):
    """A column name for the target beside ``frame``'s own columns: the file's, else ``target``."""
    name = str(target or "target")
    while name in frame.columns:
        name = f"_{name}"
    return name
